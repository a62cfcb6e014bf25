import type { Playbook } from "../../rollout/playbook";

/**
 * The facts tables of docs/runbooks/*.md, derived from the playbook: what each phase allows and
 * needs, what decides the GO out of it, and which rollback triggers watch it. The runbooks are
 * written by hand; test/docs/runbooksDoc.test.ts checks that they hold exactly these rows.
 */

const list = (items: readonly string[]) =>
  items.length === 0 ? "—" : items.map((i) => `\`${i}\``).join(", ");

const minutes = (seconds: number) => (seconds % 60 === 0 ? `${seconds / 60} min` : `${seconds} s`);

/** `| phase | cap | cohort | users | minimum days | shift default | sign-offs to enter |` */
export function phaseRows(playbook: Playbook): string[] {
  return playbook.phases
    .map((p) =>
      [
        `\`${p.id}\``,
        `${p.trafficCapPercent} %`,
        p.cohortRouting ? "yes" : "no",
        p.users ? `${p.users.min}-${p.users.max}` : "—",
        String(p.minimumDays),
        `${p.shift.stepPercent} points every ${minutes(p.shift.intervalSeconds)}`,
        list(playbook.signoff.requiredByPhase[p.id] ?? []),
      ].join(" | "),
    )
    .map((row) => `| ${row} |`);
}

/** Criteria `gates --stack` reads from CloudWatch: those that are a gate with a metric CloudWatch holds. */
export function measuredByCloudWatch(playbook: Playbook, id: string): boolean {
  const gate = playbook.gates.find((g) => g.id === id);
  return gate !== undefined && ["alb", "container-insights", "custom"].includes(gate.metric.source);
}

/** `| evidence file | transition | rule | criteria (* from CloudWatch) |` */
export function transitionRows(playbook: Playbook, dir: string): string[] {
  return playbook.transitions.map((t) => {
    const rule =
      t.rule.type === "all" ? `all ${t.criteria.length}` : `${t.rule.count} of ${t.criteria.length}`;
    const criteria = t.criteria
      .map(
        (c) =>
          `\`${c.id}\`${measuredByCloudWatch(playbook, c.id) ? "*" : ""} ${c.op} ${c.value}${c.unit ? ` ${c.unit}` : ""}`,
      )
      .join(", ");
    return `| [\`${t.from}.yaml\`](../examples/evidence/${dir}/${t.from}.yaml) | ${t.from} -> ${t.to} | ${rule} | ${criteria} |`;
  });
}

/** `| phase | rollback trigger | breaches when |` for every phase's own triggers. */
export function phaseTriggerRows(playbook: Playbook): string[] {
  return playbook.phases.flatMap((p) =>
    (p.rollbackTriggers ?? []).map((t) => {
      const gate = playbook.gates.find((g) => g.id === t.gate);
      const when =
        t.gate && t.op && t.value !== undefined
          ? `\`${t.gate}\` ${t.op} ${t.value}${gate?.unit ? ` ${gate.unit}` : ""}`
          : "a person judges it";
      return `| \`${p.id}\` | ${t.description} | ${when} |`;
    }),
  );
}

/** `| trigger | kind | gates | limit |` for the playbook-wide rollback triggers. */
export function triggerRows(playbook: Playbook): string[] {
  return playbook.rollback.triggers.map(
    (t) =>
      `| \`${t.id}\` | ${t.kind} | ${list(t.gates)} | ${minutes(t.limitSeconds ?? playbook.rollback.limitSeconds)} |`,
  );
}

/** `| role | name | signs off |`: each role and the phases that need it. */
export function roleRows(playbook: Playbook): string[] {
  return playbook.signoff.roles.map((r) => {
    const phases = playbook.phases.filter((p) =>
      (playbook.signoff.requiredByPhase[p.id] ?? []).includes(r.id),
    );
    return `| \`${r.id}\` | ${r.name} | ${list(phases.map((p) => p.id))} |`;
  });
}
