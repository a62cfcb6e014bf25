// Flat config: typescript-eslint's type-aware recommended rules (recommendedTypeChecked) over every
// TypeScript file, each file checked against the tsconfig.json that includes it (projectService).
import js from "@eslint/js";
import tseslint from "typescript-eslint";

/** Rules the malformed-input fixtures and fakes of test/ break on purpose (see the test/** block). */
const UNSAFE_ANY_RULES = [
  "no-unsafe-argument",
  "no-unsafe-assignment",
  "no-unsafe-call",
  "no-unsafe-member-access",
  "no-unsafe-return",
].map((rule) => `@typescript-eslint/${rule}`);

/** Turns the named typescript-eslint rules into warnings for those files. */
const pending = (files, rules) => ({
  files,
  rules: Object.fromEntries(rules.map((rule) => [`@typescript-eslint/${rule}`, "warn"])),
});

/**
 * Errors recommendedTypeChecked found in code that was mid-restructure when it was switched on
 * (issue 10): warnings here, so `npm run lint` passes while they are cleared, and errors for
 * `npm run lint:types` (--max-warnings 0). Drop a rule once `npm run lint:types` shows none of it;
 * drop these blocks when their lists are empty.
 */
const PENDING_TYPE_AWARE_FIXES = [
  pending(
    ["index.ts", "{rollout,components,lambda,policies,cli}/**/*.ts"],
    [
      "no-base-to-string",
      "no-floating-promises",
      "no-unnecessary-type-assertion",
      "no-unsafe-assignment",
      "no-unsafe-member-access",
      "only-throw-error",
      "require-await",
      "unbound-method",
    ],
  ),
  pending(["test/{cli,components,lambda,policies,rollout}/**/*.ts"], ["no-unnecessary-type-assertion"]),
];

export default tseslint.config(
  { ignores: ["node_modules/**", "**/node_modules/**", "dist/**", ".pulumi/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
  },
  {
    // Config files are plain JavaScript outside every tsconfig: no type information to use.
    files: ["**/*.{js,cjs,mjs}"],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    files: ["**/*.cjs"],
    languageOptions: { sourceType: "commonjs", globals: { module: "writable", require: "readonly" } },
  },
  {
    files: ["test/**/*.ts"],
    rules: {
      // Malformed-input fixtures are built by poking at untyped clones on purpose, and a registered
      // resource's inputs are `any` in Pulumi's mocks (MockResourceArgs): the assertions check the values.
      "@typescript-eslint/no-explicit-any": "off",
      ...Object.fromEntries(UNSAFE_ANY_RULES.map((rule) => [rule, "off"])),
      // Fakes implement async interfaces (Automation API stacks, sleep, pulumi.log) with `async`
      // bodies that need no await, so their signatures stay those of what they replace.
      "@typescript-eslint/require-await": "off",
      // node:test's describe/it return promises the runner itself awaits.
      "@typescript-eslint/no-floating-promises": [
        "error",
        {
          allowForKnownSafeCalls: [
            { from: "package", package: "node:test", name: ["describe", "it", "test"] },
          ],
        },
      ],
    },
  },
  ...PENDING_TYPE_AWARE_FIXES,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
);
