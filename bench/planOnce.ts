import { planStackByName } from "../cli/offlinePlan";

/**
 * One plan in a fresh process, so time and peak memory are this plan's alone. Prints one
 * JSON line: {stack, ms, cpuMs, maxRssMb, resources, violations}. CPU time is reported beside wall
 * time because on a shared machine wall time mostly measures the neighbours. Used by plan.bench.ts.
 */
async function main(): Promise<void> {
  const [stack = "staging", configFile] = process.argv.slice(2);
  const started = process.hrtime.bigint();
  const cpuBefore = process.cpuUsage();
  const result = await planStackByName(stack, configFile);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const cpu = process.cpuUsage(cpuBefore);
  const maxRssMb = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(
    `${JSON.stringify({ stack, ms: Math.round(ms), cpuMs: Math.round((cpu.user + cpu.system) / 1000), maxRssMb: Math.round(maxRssMb), resources: result.resources.length, violations: result.violations.length })}\n`,
  );
}

void main();
