import { parseCookieValue } from "../../rollout/traffic";
import * as path from "node:path";
import { DEPRECATION_WARNING_DAYS } from "../../rollout/deprecations";
import { RolloutInputError } from "../../rollout/validation";
import { formatSeconds, table, type Output, EXIT } from "../output";
import { hasMandatoryViolation, planStackWithPlaybook, type PlanResult } from "../offlinePlan";
import { svgPath, writeSvgFile } from "../../rollout/svg/file";
import { triggerPicture } from "../../rollout/svg/triggerPicture";

/** "5 rules: X-Pilot-User header (6 users), pilot_user cookie (6 users)". */
export function describeCohortRoutes(routes: PlanResult["traffic"][number]["cohortRoutes"]): string {
  if (routes.length === 0) return "-";
  // Header rules carry one value per user; cookie rules four exact patterns per user (parseCookieValue).
  const headerUsers = new Set(routes.filter((r) => r.match === "header").flatMap((r) => r.values)).size;
  const cookies = routes
    .filter((r) => r.match === "cookie")
    .flatMap((r) => r.values.map(parseCookieValue))
    .filter((c) => c !== undefined);
  const users = (match: "header" | "cookie") =>
    match === "header" ? headerUsers : new Set(cookies.map((c) => c.user)).size;
  const header = routes.find((r) => r.match === "header")?.headerName;
  const cookie = cookies[0]?.cookie;
  const parts = [
    header && `${header} header (${users("header")} users)`,
    cookie && `${cookie} cookie (${users("cookie")} users)`,
  ];
  return `${routes.length} rules: ${parts.filter(Boolean).join(", ")}`;
}

/**
 * Human rendering of a plan: phase, traffic and cohort routes, resources by type, triggers,
 * violations, and AWS deprecation dates past or near (nothing when there are none).
 */
export function printPlan(result: PlanResult, out: Output): void {
  out.log(
    `stack ${result.stack} - playbook ${result.playbook} - phase ${result.phase}${result.rollback ? " - ROLLBACK" : ""}`,
  );
  out.log(
    `rollback latch: ${result.latch} (offline plan cannot read SSM; pulumi up keeps 100 % blue while a latch is set)`,
  );
  out.log("");
  out.log("traffic");
  const trafficRows = result.traffic.map((t) => [
    t.service,
    `${t.blue} %`,
    `${t.green} %`,
    describeCohortRoutes(t.cohortRoutes),
  ]);
  for (const line of table(["service", "blue", "green", "cohort routes -> green"], trafficRows))
    out.log(`  ${line}`);
  out.log("");
  const byType = new Map<string, number>();
  for (const r of result.resources) byType.set(r.type, (byType.get(r.type) ?? 0) + 1);
  out.log(`resources (${result.resources.length})`);
  const typeRows = [...byType.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([type, n]) => [type, n]);
  for (const line of table(["type", "count"], typeRows)) out.log(`  ${line}`);
  out.log("");
  out.log("automatic rollback triggers: worst case from breach to 100 % blue");
  const triggerRows = result.triggers.map((t) => [
    t.id,
    formatSeconds(t.worstCaseSeconds),
    formatSeconds(t.limitSeconds),
    t.meets ? "meets" : "MISSES",
    t.explanation,
  ]);
  for (const line of table(["trigger", "worst case", "limit", "result", "why"], triggerRows))
    out.log(`  ${line}`);
  // Every path of a trigger with more than one: the limit is judged on its own paths, and a
  // backup net's figure is said, not hidden.
  for (const t of result.triggers.filter((x) => x.paths.length > 1)) {
    out.log(`  ${t.id} paths:`);
    for (const p of t.paths)
      out.log(
        `    ${p.gate}${p.role === "backup" ? " (second net, not judged)" : ""}: ${formatSeconds(p.seconds)} - ${p.why}`,
      );
  }
  out.log("");
  if (result.violations.length === 0) {
    out.log("policy violations: none");
  } else {
    out.log(`policy violations (${result.violations.length})`);
    for (const v of result.violations)
      out.log(`  [${v.enforcementLevel}] ${v.policy} (${v.resource}): ${v.message}`);
  }
  if (result.deprecations.length > 0) {
    out.log("");
    out.log(
      `deprecations (${result.deprecations.length}): AWS dates past or within ${DEPRECATION_WARNING_DAYS} days`,
    );
    for (const d of result.deprecations) out.log(`  ${d.resource}: ${d.message}`);
  }
}

/**
 * The stack a plan is for: `--stack`, else the name in a `Pulumi.<stack>.yaml` config file,
 * else `staging`. A config file with any other name needs `--stack`: the stack decides
 * production protections, so it is never guessed.
 */
function planStackName(stackFlag: unknown, configFile: string | undefined): string {
  if (typeof stackFlag === "string") return stackFlag;
  if (configFile === undefined) return "staging";
  const fromName = /^Pulumi\.([^.]+)\.yaml$/.exec(path.basename(configFile));
  if (fromName) return fromName[1]!;
  throw new RolloutInputError(
    `--stack: required with --config-file ${configFile}, whose name is not Pulumi.<stack>.yaml; expected e.g. --stack production`,
  );
}

/**
 * `rollout plan [--stack NAME] [--config-file PATH] [--svg FILE] [--json]`, as of `now`.
 * `--svg FILE` also draws the trigger table as a breach -> alarm -> Lambda -> blue timeline per
 * trigger (rollout/svg/triggerPicture.ts) and says where (`svg` in JSON); a path that cannot be
 * written is bad input (exit 2), refused before the plan runs.
 */
export async function planCommand(
  values: Record<string, unknown>,
  out: Output,
  now = new Date(),
): Promise<number> {
  const configFile = typeof values["config-file"] === "string" ? values["config-file"] : undefined;
  const stack = planStackName(values.stack, configFile);
  const svg = svgPath(values.svg);
  const { result, playbook } = await planStackWithPlaybook(stack, configFile, now);
  if (svg !== undefined)
    writeSvgFile(svg, triggerPicture({ stack: result.stack, phase: result.phase, playbook }));
  if (values.json) out.log(JSON.stringify(svg === undefined ? result : { ...result, svg }, null, 2));
  else {
    printPlan(result, out);
    if (svg !== undefined) {
      out.log("");
      out.log(`picture written to ${svg}`);
    }
  }
  return hasMandatoryViolation(result) ? EXIT.refused : EXIT.ok;
}
