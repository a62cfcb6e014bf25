import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { describe, it } from "node:test";
import { allPolicies } from "../../policies/rules/all";

/*
 * How `pulumi preview --policy-pack policies` loads the pack, without the Pulumi CLI. The
 * nodejs language host starts a policy pack with its working directory set to the pack
 * (policies/), resolves `@pulumi/pulumi/cmd/run-policy-pack` from there (`locateModule`), and
 * that runner's `run()` registers ts-node (type checking on; the `typescript` and `ts-node`
 * it can require, else copies vendored in @pulumi/pulumi) before requiring the pack. This test
 * does the same in a fresh `node` process with cwd policies/, through the runner's own `run()`,
 * but points it at ./rules/all instead of ./index.ts: constructing the PolicyPack would start
 * its gRPC server and wait for an engine.
 */

const POLICIES_DIR = path.join(__dirname, "..", "..", "policies");

const probe = `
const path = require("node:path");
const runner = require.resolve("@pulumi/pulumi/cmd/run-policy-pack");
const pulumiRoot = path.dirname(require.resolve("@pulumi/pulumi/package.json"));
const { typeScriptRequireStrings } = require(path.join(pulumiRoot, "tsutils"));
const { tsnodeRequire, typescriptRequire } = typeScriptRequireStrings();
require(path.join(path.dirname(runner), "run"))
  .run({
    argv: { _: ["./rules/all"] },
    programStarted: () => {},
    reportLoggedError: () => {},
    typeScript: true,
  })
  .then((pack) => {
    process.stdout.write(JSON.stringify({
      runner: path.relative(process.cwd(), runner),
      tsnode: path.relative(process.cwd(), require.resolve(tsnodeRequire)),
      tsnodeVersion: require(tsnodeRequire).VERSION,
      typescript: path.relative(process.cwd(), require.resolve(typescriptRequire)),
      typescriptVersion: require(typescriptRequire).version,
      names: pack.allPolicies.map((p) => p.name),
    }));
    process.exit(0);
  }, (error) => {
    process.stderr.write(String(error && error.stack || error));
    process.exit(1);
  });
`;

describe("the pack under Pulumi's policy runner", () => {
  it("resolves the runner from policies/, registers the root ts-node and TypeScript, and loads every policy", () => {
    const child = spawnSync(process.execPath, ["-e", probe], {
      cwd: POLICIES_DIR,
      encoding: "utf8",
      // Not a Pulumi engine run: no engine address, no inherited test-runner loaders.
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "" },
      timeout: 240_000,
    });
    assert.equal(child.status, 0, `exit ${String(child.status)}\n${child.stderr}`);
    const loaded = JSON.parse(child.stdout) as {
      runner: string;
      tsnode: string;
      tsnodeVersion: string;
      typescript: string;
      typescriptVersion: string;
      names: string[];
    };
    // Hoisted by the root `npm ci` (policies/ is a workspace): nothing is installed in policies/.
    assert.equal(
      loaded.runner,
      path.join("..", "node_modules", "@pulumi", "pulumi", "cmd", "run-policy-pack", "index.js"),
    );
    // The root devDependencies, not the ts-node@7 / typescript@3.8 vendored in @pulumi/pulumi.
    assert.equal(loaded.tsnode, path.join("..", "node_modules", "ts-node", "dist", "index.js"));
    assert.match(loaded.tsnodeVersion, /^10\./);
    assert.equal(loaded.typescript, path.join("..", "node_modules", "typescript", "lib", "typescript.js"));
    assert.match(loaded.typescriptVersion, /^5\.9\./);
    // Exactly the pack's list, in its order (policies.test.ts counts the catalogue itself).
    assert.deepEqual(
      loaded.names,
      allPolicies.map((p) => p.name),
    );
  });
});
