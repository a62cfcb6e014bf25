import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { planStack } from "../../cli/offlinePlan";
import { runPoliciesOffline, type OfflineResource, type PlanViolation } from "../../policies/offline";
import { allPolicies, PACK_NAME } from "../../policies/rules/all";
import { loadPlaybook, loadStackFile } from "../../rollout/loaders";
import { STATE_RESOURCE_NAME } from "../../rollout/state";
import {
  bundlePolicyPack,
  isBuiltin,
  packageOf,
  PACKED_ENTRIES,
  type PolicyPackBundle,
} from "../../scripts/bundle-policy-pack";

/*
 * What `pulumi policy publish` ships, run the way whoever enforces it runs it, without the Pulumi
 * CLI. Publish uploads `npm pack` of the pack directory; installing a published pack extracts the
 * tarball's package/ directory and installs its dependencies there (pulumi/pulumi
 * pkg/backend/httpstate/policypack.go, Publish and installRequiredPolicy); the engine then starts
 * @pulumi/pulumi's run-policy-pack with that directory as working directory and arguments
 * `<engine address> .`, reads the gRPC port it prints and calls the Analyzer service
 * (pkg/resource/plugin/analyzer_plugin.go NewPolicyAnalyzer). Publish itself first asks that
 * server for GetAnalyzerInfo ("Obtaining policy metadata from policy plugin").
 *
 * So: bundle into a temporary directory, `npm pack` it, unpack the tarball, link only the declared
 * dependencies from the repository's node_modules (what `npm install` would fetch), start the
 * runner there and talk to it over gRPC with @pulumi/pulumi's own Analyzer stubs. A hook
 * preloaded into that process records every module the pack's own files require.
 */

const ROOT = path.join(__dirname, "..", "..");
const POLICIES_DIR = path.join(ROOT, "policies");
const STACK = "production";
const POLICIES_MANIFEST = JSON.parse(fs.readFileSync(path.join(POLICIES_DIR, "package.json"), "utf8")) as {
  version: string;
  dependencies: Record<string, string>;
};
/** The pack's declared dependencies: all that may stay outside the bundle besides Node's own modules. */
const DECLARED = Object.keys(POLICIES_MANIFEST.dependencies).sort();
const PRODUCTION_PACK_CONFIG = JSON.parse(
  fs.readFileSync(path.join(POLICIES_DIR, "config", `${STACK}.json`), "utf8"),
) as Record<string, unknown>;

/**
 * Records `request -> resolved file` for every require made by a module of the pack (not its
 * node_modules). Module._load sees them all; `node:` built-ins never reach _resolveFilename.
 */
const RESOLUTION_HOOK = `
const fs = require("node:fs");
const path = require("node:path");
const Module = require("node:module");
const packDir = fs.realpathSync(process.cwd()) + path.sep;
const log = process.env.RESOLUTION_LOG;
const load = Module._load;
Module._load = function (request, parent, ...rest) {
  const from = parent && parent.filename;
  if (from && from.startsWith(packDir) && !from.startsWith(packDir + "node_modules" + path.sep)) {
    const resolved = Module.isBuiltin(request) ? request : Module._resolveFilename(request, parent);
    fs.appendFileSync(log, JSON.stringify({ from: path.relative(packDir, from), request, resolved }) + "\\n");
  }
  return load.call(this, request, parent, ...rest);
};
`;

interface Resolution {
  from: string;
  request: string;
  resolved: string;
}

/** A violation as both sides can report it: policy, level, `type::name` or "stack", message. */
type Finding = Pick<PlanViolation, "policy" | "enforcementLevel" | "resource" | "message">;

const byFinding = (a: Finding, b: Finding) => JSON.stringify(a).localeCompare(JSON.stringify(b));

const urnOf = (r: OfflineResource) => `urn:pulumi:${STACK}::staged-rollout::${r.type}::${r.name}`;

/** The engine's side of the Analyzer protocol, with the stubs of the @pulumi/pulumi the pack runs on. */
class AnalyzerEngine {
  private readonly pb: any;
  private readonly Empty: any;
  private readonly Struct: any;
  private readonly client: any;

  constructor(packDir: string, port: string) {
    const load = createRequire(require.resolve("@pulumi/pulumi/package.json", { paths: [packDir] }));
    this.pb = load("./proto/analyzer_pb.js");
    this.Empty = load("google-protobuf/google/protobuf/empty_pb.js").Empty;
    this.Struct = load("google-protobuf/google/protobuf/struct_pb.js").Struct;
    const { AnalyzerClient } = load("./proto/analyzer_grpc_pb.js");
    const grpc = load("@grpc/grpc-js");
    this.client = new AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  }

  private call<T>(method: string, request: unknown): Promise<T> {
    return new Promise((resolve, reject) =>
      this.client[method](request, (error: Error | null, response: T) =>
        error ? reject(error) : resolve(response),
      ),
    );
  }

  info(): Promise<{ name: string; version: string; policies: string[] }> {
    return this.call<any>("getAnalyzerInfo", new this.Empty()).then((info) => ({
      name: info.getName(),
      version: info.getVersion(),
      policies: info.getPoliciesList().map((p: any) => p.getName()),
    }));
  }

  /** `--policy-pack-config`: each policy's entry, its level apart from its properties. */
  async configure(config: Record<string, unknown>): Promise<void> {
    const request = new this.pb.ConfigureAnalyzerRequest();
    for (const [name, entry] of Object.entries(config)) {
      const { enforcementLevel, ...properties } = (
        typeof entry === "string" ? { enforcementLevel: entry } : entry
      ) as { enforcementLevel?: string } & Record<string, unknown>;
      const policyConfig = new this.pb.PolicyConfig();
      policyConfig.setEnforcementlevel(
        this.pb.EnforcementLevel[(enforcementLevel ?? "advisory").toUpperCase()],
      );
      policyConfig.setProperties(this.Struct.fromJavaScript(properties));
      request.getPolicyconfigMap().set(name, policyConfig);
    }
    await this.call("configure", request);
  }

  /** Analyze on every resource, then AnalyzeStack on all of them, as a preview does. */
  async judge(resources: readonly OfflineResource[]): Promise<Finding[]> {
    const names = new Map(resources.map((r) => [urnOf(r), `${r.type}::${r.name}`]));
    const levels = Object.fromEntries(
      Object.entries(this.pb.EnforcementLevel).map(([name, value]) => [value, name.toLowerCase()]),
    );
    const descriptions = new Map(allPolicies.map((p) => [p.name, p.description]));
    const findings = (response: any, where: string): Finding[] =>
      response.getDiagnosticsList().map((d: any) => {
        // The SDK reports "<description>\n<message>"; the offline twin keeps the message alone.
        const prefix = `${descriptions.get(d.getPolicyname())}\n`;
        const message: string = d.getMessage();
        return {
          policy: d.getPolicyname(),
          enforcementLevel: levels[d.getEnforcementlevel()],
          resource: d.getUrn() ? (names.get(d.getUrn()) ?? d.getUrn()) : where,
          message: message.startsWith(prefix) ? message.slice(prefix.length) : message,
        };
      });
    const proto = resources.map((r) => {
      const resource = new this.pb.AnalyzerResource();
      resource.setType(r.type);
      resource.setName(r.name);
      resource.setUrn(urnOf(r));
      // Plain JSON, as the engine marshals inputs (undefined keys dropped).
      resource.setProperties(this.Struct.fromJavaScript(JSON.parse(JSON.stringify(r.inputs))));
      resource.setOptions(new this.pb.AnalyzerResourceOptions());
      return resource;
    });
    // The engine calls Analyze as each resource is registered: concurrently, so order nothing.
    const perResource = proto.map(async (resource, index) => {
      const request = new this.pb.AnalyzeRequest();
      request.setType(resource.getType());
      request.setName(resource.getName());
      request.setUrn(resource.getUrn());
      request.setProperties(resource.getProperties());
      request.setOptions(resource.getOptions());
      const where = `${resources[index]!.type}::${resources[index]!.name}`;
      return findings(await this.call("analyze", request), where);
    });
    const stackRequest = new this.pb.AnalyzeStackRequest();
    stackRequest.setResourcesList(proto);
    const result = [
      ...(await Promise.all(perResource)).flat(),
      ...findings(await this.call("analyzeStack", stackRequest), "stack"),
    ];
    return result.sort(byFinding);
  }

  close(): void {
    this.client.close();
  }
}

/** Starts the runner in `packDir` as the engine does and resolves with the port it prints. */
function startPack(
  packDir: string,
  resolutionLog: string,
  hook: string,
): Promise<{ child: ChildProcess; port: string }> {
  const runner = require.resolve("@pulumi/pulumi/cmd/run-policy-pack", { paths: [packDir] });
  const child = spawn(process.execPath, ["--require", hook, runner, "127.0.0.1:0", "."], {
    cwd: packDir,
    // Not a Pulumi engine run: no inherited test-runner loaders, nothing of the repository's environment.
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", RESOLUTION_LOG: resolutionLog },
    stdio: ["ignore", "pipe", "pipe"],
  });
  return new Promise((resolve, reject) => {
    let stdout = "";
    let stderr = "";
    const timer = setTimeout(() => reject(new Error(`no port within 60 s\n${stderr}`)), 60_000);
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      const port = /^(\d+)\n/.exec(stdout)?.[1];
      if (port === undefined) return;
      clearTimeout(timer);
      resolve({ child, port });
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the pack exited (${String(code)}) before printing its port\n${stderr}`));
    });
  });
}

describe("the published policy pack (npm run policy:bundle)", () => {
  let work: string;
  let bundle: PolicyPackBundle;
  let packed: string[];
  let packDir: string;
  let resolutionLog: string;
  let child: ChildProcess | undefined;
  let engine: AnalyzerEngine;

  before(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), "policy-pack-"));
    bundle = await bundlePolicyPack(path.join(work, "build"));

    // What Publish uploads: `npm pack` in the pack directory (npm.Pack).
    const pack = spawnSync("npm", ["pack", "--json", "--loglevel=error", "--pack-destination", work], {
      cwd: bundle.dir,
      encoding: "utf8",
    });
    assert.equal(pack.status, 0, `npm pack: ${pack.stderr}`);
    const [tarball] = JSON.parse(pack.stdout) as { filename: string; files: { path: string }[] }[];
    packed = tarball!.files.map((f) => f.path).sort();

    // What installRequiredPolicy keeps: the tarball's package/ directory.
    const installed = path.join(work, "installed");
    fs.mkdirSync(installed);
    const untar = spawnSync("tar", ["-xzf", path.join(work, tarball!.filename), "-C", installed], {
      encoding: "utf8",
    });
    assert.equal(untar.status, 0, `tar: ${untar.stderr}`);
    packDir = fs.realpathSync(path.join(installed, "package"));
    // Its `npm install`, offline: the declared dependencies and nothing else, as the repository installed them.
    for (const dependency of Object.keys(bundle.manifest.dependencies)) {
      const link = path.join(packDir, "node_modules", dependency);
      fs.mkdirSync(path.dirname(link), { recursive: true });
      fs.symlinkSync(
        path.dirname(require.resolve(`${dependency}/package.json`, { paths: [POLICIES_DIR] })),
        link,
      );
    }

    resolutionLog = path.join(work, "resolutions.jsonl");
    fs.writeFileSync(resolutionLog, "");
    const hook = path.join(work, "resolution-hook.js");
    fs.writeFileSync(hook, RESOLUTION_HOOK);
    const started = await startPack(packDir, resolutionLog, hook);
    child = started.child;
    engine = new AnalyzerEngine(packDir, started.port);
  });

  after(() => {
    engine?.close();
    child?.kill();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it("packs the bundle, PulumiPolicy.yaml, its package.json and the playbooks, and nothing else", () => {
    const playbooks = fs
      .readdirSync(path.join(ROOT, "playbooks"))
      .filter((f) => f.endsWith(".yaml"))
      .map((f) => `playbooks/${f}`);
    assert.ok(playbooks.length >= 2, "the repository's playbooks");
    assert.deepEqual(packed, ["PulumiPolicy.yaml", "lib/index.js", "package.json", ...playbooks].sort());
    assert.deepEqual(bundle.manifest.files, PACKED_ENTRIES);
    assert.equal(bundle.manifest.main, "lib/index.js");
    assert.equal(
      fs.readFileSync(path.join(packDir, "PulumiPolicy.yaml"), "utf8"),
      fs.readFileSync(path.join(POLICIES_DIR, "PulumiPolicy.yaml"), "utf8"),
    );
  });

  it("compiles policies/ and the rollout/ modules it imports into the bundle, and requires only Node built-ins and the declared dependencies", () => {
    assert.deepEqual(DECLARED, ["@pulumi/policy", "@pulumi/pulumi"]);
    for (const source of [
      "policies/index.ts",
      "policies/rules/all.ts",
      "rollout/loaders.ts",
      "rollout/state.ts",
    ])
      assert.ok(bundle.bundledSources.includes(source), `${source} is in the bundle`);
    assert.deepEqual(
      bundle.bundledSources.filter((s) => !/^(policies|rollout)\//.test(s)),
      [],
      "nothing of the repository beyond policies/ and rollout/",
    );
    assert.ok(!bundle.bundledSources.includes("policies/offline.ts"), "the offline twin stays out");
    for (const specifier of bundle.externalImports)
      assert.ok(
        isBuiltin(specifier) || DECLARED.includes(packageOf(specifier)),
        `the bundle requires ${specifier}`,
      );
    assert.ok(bundle.externalImports.includes("@pulumi/policy"));
  });

  it("pins each declared dependency at the version npm ci installed for policies/", () => {
    const installed = (dependency: string) =>
      (
        JSON.parse(
          fs.readFileSync(require.resolve(`${dependency}/package.json`, { paths: [POLICIES_DIR] }), "utf8"),
        ) as { version: string }
      ).version.replace(/^v/, "");
    assert.deepEqual(bundle.manifest.dependencies, {
      "@pulumi/policy": installed("@pulumi/policy"),
      "@pulumi/pulumi": installed("@pulumi/pulumi"),
    });
    for (const version of Object.values(bundle.manifest.dependencies))
      assert.match(version, /^\d+\.\d+\.\d+$/);
  });

  it("serves, under Pulumi's runner, the source pack's name, version and every policy (what publish reads first)", async () => {
    assert.deepEqual(await engine.info(), {
      name: PACK_NAME,
      version: POLICIES_MANIFEST.version,
      policies: allPolicies.map((p) => p.name),
    });
  });

  it("judges the production stack as the source pack does, reading the playbooks it ships", async () => {
    const plan = await planStack(loadStackFile(STACK), {}, { revealSecrets: true });
    const resources: OfflineResource[] = plan.resources.map(({ type, name, inputs }) => ({
      type,
      name,
      inputs,
    }));
    await engine.configure(PRODUCTION_PACK_CONFIG);
    const expected = async (given: OfflineResource[]) =>
      (await runPoliciesOffline(given, { stack: STACK, policyConfig: PRODUCTION_PACK_CONFIG })).map(
        ({ policy, enforcementLevel, resource, message }) => ({
          policy,
          enforcementLevel,
          resource,
          message,
        }),
      );

    // The committed stack, as the program registers it: a bundle that could not read its
    // playbooks would find the state record invalid where the source pack does not.
    assert.deepEqual(await engine.judge(resources), (await expected(resources)).sort(byFinding));

    // A state record naming a phase its playbook lacks: the refusal lists the playbook's phases.
    const state = resources.find((r) => r.name === STATE_RESOURCE_NAME)!;
    const record = JSON.parse(state.inputs.insecureValue as string) as { playbook: string };
    const broken = resources.map((r) =>
      r === state
        ? {
            ...r,
            inputs: { ...r.inputs, insecureValue: JSON.stringify({ ...record, phase: "no-such-phase" }) },
          }
        : r,
    );
    const findings = (await expected(broken)).sort(byFinding);
    const phases = loadPlaybook(record.playbook).phases.map((p) => p.id);
    assert.ok(
      findings.some(
        (f) =>
          f.policy === "rollout-state-recorded" &&
          f.message.includes(
            `unknown phase "no-such-phase" in playbook ${record.playbook}: expected one of ${phases.join(", ")}`,
          ),
      ),
      JSON.stringify(findings),
    );
    assert.deepEqual(await engine.judge(broken), findings);
  });

  it("required, while it loaded and judged, only Node built-ins and its declared dependencies from its node_modules", () => {
    // Every require of the pack's own files, as it happened under the runner (the tests above drove it).
    const resolutions = fs
      .readFileSync(resolutionLog, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Resolution);
    assert.deepEqual([...new Set(resolutions.map((r) => r.from))], ["lib/index.js"]);
    assert.deepEqual([...new Set(resolutions.map((r) => r.request))].sort(), bundle.externalImports);
    for (const { request, resolved } of resolutions) {
      if (isBuiltin(request)) continue;
      assert.ok(DECLARED.includes(packageOf(request)), `${request} is a declared dependency`);
      // A declared dependency, found in the pack's node_modules (linked, so Node reports its real path).
      const installedAt = fs.realpathSync(path.join(packDir, "node_modules", packageOf(request)));
      assert.ok(resolved.startsWith(installedAt + path.sep), `${request} -> ${resolved}`);
    }
  });

  it("refuses `npm pack` in policies/ (what publish would upload from there) and names the bundle instead", () => {
    const pack = spawnSync("npm", ["pack", "--dry-run", "--loglevel=error"], {
      cwd: POLICIES_DIR,
      encoding: "utf8",
    });
    assert.equal(pack.status, 1, pack.stdout);
    assert.match(pack.stderr, /policies\/ imports \.\.\/rollout .*npm run policy:publish -- ORG/);
  });
});
