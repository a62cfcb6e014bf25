import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as yaml from "js-yaml";

/**
 * `npm run bench`: plan evaluation time and peak memory for staging, production, a
 * one-service and a generated 15-service config (the most a TBS stack takes: its composite
 * rollback alarm would name more than CloudWatch's 100 children, see compositeAlarmProblems).
 * Targets: production under 3 s; 15 services under 2x one service. Each case runs in its own
 * process, best of RUNS.
 */

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const root = path.resolve(__dirname, "..");

interface Sample {
  stack: string;
  ms: number;
  cpuMs: number;
  maxRssMb: number;
  resources: number;
  violations: number;
}

function planOnce(stack: string, configFile?: string): Sample {
  const args = [
    "--import",
    "tsx",
    path.join(__dirname, "planOnce.ts"),
    stack,
    ...(configFile ? [configFile] : []),
  ];
  const out = execFileSync(process.execPath, args, { cwd: root, encoding: "utf8" });
  return JSON.parse(out.trim().split("\n").at(-1)!) as Sample;
}

function best(stack: string, configFile?: string): Sample {
  const samples = Array.from({ length: RUNS }, () => planOnce(stack, configFile));
  return samples.reduce((a, b) => (b.ms < a.ms ? b : a));
}

/** The staging stack with its services replaced by `count` generated ones. */
function generatedConfig(count: number): string {
  const doc = yaml.load(fs.readFileSync(path.join(root, "Pulumi.staging.yaml"), "utf8")) as {
    config: Record<string, unknown>;
  };
  // The template's pinned block is dropped: the catch-all takes the last block by default, and
  // the others are pinned to blocks of their own (hashed names could share one).
  const services = doc.config["rollout:services"] as Record<string, unknown>[];
  const { priorityBlock: _pinned, ...template } = services[0]!;
  doc.config["rollout:services"] = Array.from({ length: count }, (_, i) => ({
    ...template,
    name: `svc${String(i + 1).padStart(2, "0")}`,
    ...(i === 0
      ? { pathPattern: "/*" }
      : { pathPattern: `/svc${String(i + 1).padStart(2, "0")}/*`, priorityBlock: i }),
  }));
  // 15 services x cohort rules would exceed the ALB's 100 rules per listener: bench without cohorts.
  delete doc.config["rollout:cohorts"];
  const file = path.join(os.tmpdir(), `staged-rollout-bench-${count}.yaml`);
  fs.writeFileSync(file, yaml.dump(doc));
  return file;
}

function main(): void {
  const cases: [string, Sample][] = [
    ["staging", best("staging")],
    ["production", best("production")],
    ["1 service", best("staging", generatedConfig(1))],
    ["15 services", best("staging", generatedConfig(15))],
  ];
  console.log(`plan benchmark (best of ${RUNS}, each in a fresh process)`);
  console.log("case          ms      CPU ms  peak RSS MB  resources");
  for (const [name, s] of cases) {
    console.log(
      `${name.padEnd(12)}  ${String(s.ms).padStart(6)}  ${String(s.cpuMs).padStart(6)}  ${String(s.maxRssMb).padStart(11)}  ${String(s.resources).padStart(9)}`,
    );
  }
  const production = cases[1]![1];
  const one = cases[2]![1];
  const fifteen = cases[3]![1];
  const ratio = fifteen.ms / one.ms;
  console.log("");
  console.log(
    `production plan: ${production.ms} ms (target < 3000 ms): ${production.ms < 3000 ? "ok" : "MISSED"}`,
  );
  console.log(`15 services / 1 service: ${ratio.toFixed(2)}x (target < 2x): ${ratio < 2 ? "ok" : "MISSED"}`);
  console.log(`15 services / 1 service, CPU time: ${(fifteen.cpuMs / one.cpuMs).toFixed(2)}x`);
  if (process.argv.includes("--json"))
    console.log(JSON.stringify({ cases: Object.fromEntries(cases), ratio }));
}

main();
