/*
 * Builds the publishable policy pack: `npm run policy:bundle` writes dist/policy-pack/, and
 * `npm run policy:publish -- <org>` bundles and publishes it (`pulumi policy publish <org>` run in
 * that directory).
 *
 * Why a build. policies/ is the pack as the repository runs it (`pulumi up --refresh
 * --policy-pack policies`): Pulumi starts it with the pack directory as working directory and
 * requires "." through @pulumi/pulumi's run-policy-pack, which registers ts-node, so
 * policies/index.ts and the ../rollout modules it imports compile from source
 * (pulumi/pulumi pkg/resource/plugin/analyzer_plugin.go NewPolicyAnalyzer: `pwd :=
 * policyPackPath`, arguments `[engine address, "."]`). `pulumi policy publish` instead uploads
 * what `npm pack` packs of the pack directory, and whoever runs the published pack gets that
 * tarball unpacked plus an `npm install` (pulumi/pulumi pkg/backend/httpstate/policypack.go:
 * Publish calls npm.Pack(op.PlugCtx.Pwd), which runs `npm pack` there (sdk/nodejs/npm/npm.go);
 * installRequiredPolicy extracts the tarball's package/ directory and installs its
 * dependencies). Packed from policies/, the pack would lack ../rollout and ../playbooks.
 *
 * So this bundles policies/index.ts with everything it imports of the repository (rules,
 * rollout/, and zod and js-yaml that rollout/ uses) into one CommonJS file, and leaves out only
 * the pack's declared dependencies (policies/package.json `dependencies`): @pulumi/policy must
 * be the copy @pulumi/pulumi's runner loads beside it (its gRPC server and
 * `unknownCheckingProxy` are shared state), and @pulumi/pulumi is what the analyzer plugin
 * resolves `@pulumi/pulumi/cmd/run-policy-pack` from. Anything else the bundle still requires
 * fails the build. The directory is a pack of its own (PulumiPolicy.yaml, package.json whose
 * `main` is the bundle: the runner's require(".") reads it, and PolicyPack reads the pack's
 * version from it) and is not an npm workspace, so `npm pack` packs it alone.
 *
 * The playbooks. The pack reads the playbook a state record names at run time
 * (rollout/loaders.ts loadPlaybook), from PROJECT_ROOT/playbooks where PROJECT_ROOT is
 * `path.resolve(__dirname, "..")`. In a bundle every module's __dirname is the bundle's own
 * directory, so the bundle goes one level below the pack root (lib/index.js) and the playbooks
 * beside it (playbooks/), as rollout/ and playbooks/ sit in the repository.
 * test/policies/policyPackPublish.test.ts packs a build, unpacks it as an install would, runs it
 * under Pulumi's runner and checks that it judges the production stack as the source pack does.
 */
import { builtinModules } from "node:module";
import * as fs from "node:fs";
import * as path from "node:path";
import * as esbuild from "esbuild";

const ROOT = path.resolve(__dirname, "..");
const POLICIES_DIR = path.join(ROOT, "policies");
const PLAYBOOK_DIR = path.join(ROOT, "playbooks");

/** Where `npm run policy:bundle` writes the pack (dist/ is git-ignored). */
export const PUBLISH_DIR = path.join(ROOT, "dist", "policy-pack");

/** The bundle, relative to the pack root: one level below it, so rollout/loaders.ts finds ../playbooks. */
export const BUNDLE_FILE = "lib/index.js";

/** What goes into the published tarball besides package.json (npm always packs that). */
export const PACKED_ENTRIES = ["PulumiPolicy.yaml", "lib/", "playbooks/"];

interface Manifest {
  name: string;
  version: string;
  description?: string;
  dependencies?: Record<string, string>;
  engines?: { node?: string };
}

function readManifest(file: string): Manifest {
  return JSON.parse(fs.readFileSync(file, "utf8")) as Manifest;
}

/** The package a bare specifier names: `@scope/name` or `name` (without a subpath). */
export function packageOf(specifier: string): string {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!;
}

/** Whether `specifier` is one of Node's own modules (`node:fs`, `fs`). */
export function isBuiltin(specifier: string): boolean {
  return specifier.startsWith("node:") || builtinModules.includes(specifier);
}

/**
 * The version of `dependency` that `npm ci` installed for policies/ (the root package-lock.json).
 * The published pack pins it, so whoever installs the pack gets the SDKs this build was tested with.
 */
function installedVersion(dependency: string): string {
  const manifest = require.resolve(`${dependency}/package.json`, { paths: [POLICIES_DIR] });
  // @pulumi/policy's own package.json says "v1.21.0": npm wants the bare version.
  return readManifest(manifest).version.replace(/^v/, "");
}

/** The esbuild target from the root package.json `engines.node` (">=20" -> node20). */
function nodeTarget(): string {
  const range = readManifest(path.join(ROOT, "package.json")).engines?.node ?? "";
  const major = /^>=\s*(\d+)/.exec(range)?.[1];
  if (major === undefined)
    throw new Error(
      `package.json engines.node is "${range}"; expected ">=MAJOR" to pick the bundle's target`,
    );
  return `node${major}`;
}

export interface PolicyPackBundle {
  /** The pack directory, ready for `pulumi policy publish`. */
  dir: string;
  /** The package.json written into it. */
  manifest: Manifest & { main: string; files: string[]; dependencies: Record<string, string> };
  /** Every module the bundle still requires at run time, as written in the bundle. */
  externalImports: string[];
  /** The repository files compiled into the bundle (paths relative to the repository root). */
  bundledSources: string[];
}

/** Builds the publishable pack into `outDir` (emptied first). */
export async function bundlePolicyPack(outDir: string = PUBLISH_DIR): Promise<PolicyPackBundle> {
  const policies = readManifest(path.join(POLICIES_DIR, "package.json"));
  const declared = Object.keys(policies.dependencies ?? {}).sort();
  fs.rmSync(outDir, { recursive: true, force: true });
  fs.mkdirSync(outDir, { recursive: true });

  const result = await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: [path.join(POLICIES_DIR, "index.ts")],
    outfile: path.join(outDir, BUNDLE_FILE),
    bundle: true,
    platform: "node",
    format: "cjs",
    target: nodeTarget(),
    // A package name also covers its subpaths (`@pulumi/pulumi/...`).
    external: declared,
    // Readable, so what the pack enforces can be reviewed in the tarball; zod's and js-yaml's
    // licence comments kept at the end of the file.
    minify: false,
    legalComments: "eof",
    metafile: true,
    logLevel: "silent",
  });
  for (const warning of result.warnings)
    throw new Error(`esbuild warned while bundling the policy pack: ${warning.text}`);

  // Metafile paths are relative to absWorkingDir (the repository root), with forward slashes.
  const output =
    result.metafile.outputs[path.relative(ROOT, path.join(outDir, BUNDLE_FILE)).split(path.sep).join("/")];
  if (!output) throw new Error(`esbuild wrote no ${BUNDLE_FILE} into ${outDir}`);
  const externalImports = [...new Set(output.imports.filter((i) => i.external).map((i) => i.path))].sort();
  for (const specifier of externalImports) {
    if (isBuiltin(specifier) || declared.includes(packageOf(specifier))) continue;
    throw new Error(
      `the policy pack bundle requires "${specifier}", which is neither a Node built-in nor a dependency ` +
        `declared in policies/package.json (${declared.join(", ")}): declare it there or let esbuild bundle it`,
    );
  }

  fs.copyFileSync(path.join(POLICIES_DIR, "PulumiPolicy.yaml"), path.join(outDir, "PulumiPolicy.yaml"));
  fs.mkdirSync(path.join(outDir, "playbooks"));
  for (const file of fs.readdirSync(PLAYBOOK_DIR).filter((f) => f.endsWith(".yaml")))
    fs.copyFileSync(path.join(PLAYBOOK_DIR, file), path.join(outDir, "playbooks", file));

  const manifest = {
    name: policies.name,
    version: policies.version,
    ...(policies.description !== undefined && { description: policies.description }),
    private: true,
    main: BUNDLE_FILE,
    files: PACKED_ENTRIES,
    dependencies: Object.fromEntries(declared.map((d) => [d, installedVersion(d)])),
  };
  fs.writeFileSync(path.join(outDir, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);

  return {
    dir: outDir,
    manifest,
    externalImports,
    bundledSources: Object.keys(result.metafile.inputs)
      .filter((input) => !input.startsWith("node_modules/"))
      .sort(),
  };
}

if (require.main === module) {
  bundlePolicyPack().then(
    (bundle) => {
      const where = path.relative(process.cwd(), bundle.dir) || ".";
      process.stdout.write(
        `policy pack ${bundle.manifest.name}@${bundle.manifest.version} bundled into ${where} ` +
          `(${bundle.bundledSources.length} source files; requires ${bundle.externalImports.join(", ")})\n` +
          `publish it with: cd ${where} && pulumi policy publish <org>\n`,
      );
    },
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
