// Import layering, checked by `npm run lint:deps` (part of `npm test`). ARCHITECTURE.md "The pieces"
// gives the layers: rollout/ is the pure base; components/ and lambda/ build on it; index.ts
// composes components; policies/ judge resources; cli/ and bench/ drive everything.
// Type-only imports count (tsPreCompilationDeps): a layer that needs another's types depends on it.

/** A path pattern for the named parts of the project (top-level folders, or index.ts). */
const project = (...parts) =>
  `^(${parts.map((part) => (part === "index.ts" ? "index\\.ts$" : `${part}/`)).join("|")})`;

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment:
        "An import cycle means two modules cannot be understood, tested or moved apart, and under CommonJS one of " +
        "them sees the other half-initialised. Break it by moving the shared piece down a layer (usually into rollout/).",
      from: { pathNot: "(^|/)node_modules/" },
      to: { circular: true },
    },
    {
      name: "rollout-imports-only-rollout",
      severity: "error",
      comment:
        "rollout/ is the domain model that the program, the policy pack and the CLI share, so a cap or threshold is " +
        "written once. It must not import what is built on it: move the needed piece into rollout/ instead.",
      from: { path: project("rollout") },
      to: {
        path: project("index.ts", "components", "lambda", "policies", "cli", "bench", "test", "scripts"),
      },
    },
    {
      name: "rollout-imports-no-pulumi",
      severity: "error",
      comment:
        "rollout/ is pure (no Pulumi resources, no engine) so it gets plain table and property tests and loads in " +
        "the rollback Lambda and the CLI without the Pulumi runtime. Pulumi code belongs in components/ or index.ts.",
      from: { path: project("rollout") },
      to: { path: "(^|/)node_modules/@pulumi/" },
    },
    {
      name: "components-import-only-rollout",
      severity: "error",
      comment:
        "A component gets typed args from index.ts and its pure maths from rollout/; it never reaches into the CLI, " +
        "the policy pack, the Lambda or the composition root. One component per file (STYLE.md) and none imports " +
        "another today: a shared helper that is pure belongs in rollout/; a deliberate composite component widens this rule.",
      from: { path: project("components") },
      to: {
        path: project("index.ts", "components", "lambda", "policies", "cli", "bench", "test", "scripts"),
      },
    },
    {
      name: "lambda-imports-only-rollout",
      severity: "error",
      comment:
        "The rollback handler is bundled on its own by esbuild and runs in AWS Lambda: anything it imports ships in " +
        "the bundle. It shares the latch format with the program through rollout/ and nothing else of the project.",
      from: { path: project("lambda") },
      to: { path: project("index.ts", "components", "policies", "cli", "bench", "test", "scripts") },
    },
    {
      name: "policies-never-import-cli",
      severity: "error",
      comment:
        "The CrossGuard pack runs inside `pulumi preview --policy-pack policies` with its own package.json; the CLI " +
        "runs the pack offline, never the other way round. Shared types go in rollout/ (or in policies/ for the CLI to import).",
      from: { path: project("policies") },
      to: { path: project("cli") },
    },
    {
      name: "only-tests-import-tests",
      severity: "error",
      comment:
        "test/ holds fixtures and mocks (test/support) that must never ship in the program, the pack, the Lambda " +
        "bundle or the CLI. Only tests may import them.",
      from: { pathNot: project("test") },
      to: { path: project("test") },
    },
    {
      name: "not-to-unresolvable",
      severity: "error",
      comment:
        "An import the cruiser cannot resolve is an edge no rule above can see: fail loudly rather than pass " +
        "vacuously (a broken tsconfig or a missing package would otherwise hide every violation).",
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    // Cruise into the project only; packages are recorded as edges (so the @pulumi rule sees them) but not followed.
    doNotFollow: { path: "(^|/)node_modules/" },
    // policies/ is an npm workspace and may get its own node_modules: never cruise it as project source
    // (doNotFollow already keeps the cruiser out; this says so where a reader looks).
    exclude: { path: "^policies/node_modules/" },
    moduleSystems: ["es6", "cjs"],
    // `import type` and `typeof import(...)` are dependencies too: they are what the layering is about.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      // Extensionless TypeScript imports ("../rollout/state") resolve to .ts first.
      extensions: [".ts", ".d.ts", ".js", ".cjs", ".mjs", ".json"],
      exportsFields: ["exports"],
      conditionNames: ["require", "import", "node", "default", "types"],
      mainFields: ["main", "types", "typings"],
    },
    skipAnalysisNotInRules: true,
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
