import { z } from "zod";
import { getPhase, phaseIndex, transitionsBefore } from "./phases";
import { Comparator, type Criterion, type Playbook, type Transition } from "./playbook";
import { isoTime, RolloutInputError } from "./validation";

/**
 * GO/NO-GO decisions and sign-offs: their records (as config holds them and the state record
 * carries them), the evidence they are decided on, the rules that decide them (ALL or N of M
 * criteria; no GO while a rollback trigger of the phase is breached) and the roles a phase
 * needs. The program, the policy pack and the CLI all decide through these functions.
 */

// ---------------------------------------------------------------------------------------
// Records

/**
 * Longest approver (sign-off) or decider (decision) name. Both are stored in the state
 * parameter, whose whole value SSM bounds; 64 characters hold a handle or an email address.
 */
export const RECORDED_NAME_MAX = 64;
const RECORDED_NAME = `expected a name of 1-${RECORDED_NAME_MAX} ASCII letters, digits and . _ @ + - such as dana.devops (it is stored in the rollout state parameter, and one person must not pass for two)`;
/**
 * ASCII only: a Cyrillic "а", a fullwidth letter or a zero-width space would let one person sign
 * two roles under names that look the same (distinct approvers are compared without case). The
 * set also keeps out SSM's refused `{{ }}` (PutParameterRequest.Value: "Parameter values can't
 * include ... {{}}"), since the state record carries these names.
 */
const RECORDED_NAME_CHARS = /^[A-Za-z0-9._@+-]+$/;
const recordedName = z
  .string({ message: RECORDED_NAME })
  .min(1, { message: RECORDED_NAME })
  .max(RECORDED_NAME_MAX, { message: RECORDED_NAME })
  .regex(RECORDED_NAME_CHARS, { message: RECORDED_NAME });

/** A GO/NO-GO record (`rollout:decisions[]`), as config holds it and the state record carries it. */
export const Decision = z
  .object({
    from: z.string().min(1),
    to: z.string().min(1),
    decision: z.enum(["GO", "NO-GO"]),
    at: isoTime,
    by: recordedName,
    /** One line per criterion, written by `rollout gates --record`. */
    evidence: z.array(z.string()).default([]),
  })
  .strict();
export type Decision = z.infer<typeof Decision>;

/** One role's approval of a phase (`rollout:signoffs.<phase>.<role>`). */
export const Signoff = z.object({ approver: recordedName, at: isoTime }).strict();
export type Signoff = z.infer<typeof Signoff>;

/** `{<phase>: {<roleId>: Signoff}}`, as `rollout:signoffs` and the state record hold them. */
export type Signoffs = Record<string, Record<string, Signoff>>;

/** Evidence for a GO/NO-GO decision: `metrics: {<criterionId>: number}`, in YAML or JSON. */
export const EvidenceFile = z
  .object(
    {
      metrics: z.record(z.string(), z.number({ message: "expected a number" }), {
        message: "expected an object of criterion id -> number",
      }),
      /** Free text kept with a recorded decision. */
      notes: z.string({ message: "expected text" }).optional(),
    },
    { message: "expected an object with metrics: {<criterionId>: number}" },
  )
  .strict();
export type EvidenceFile = z.infer<typeof EvidenceFile>;

// ---------------------------------------------------------------------------------------
// Recorded decisions

/** The latest of `decisions` by time; of equal times, the one recorded last. */
function latest(decisions: readonly Decision[]): Decision | undefined {
  return decisions.reduce<Decision | undefined>(
    (found, d) => (!found || Date.parse(d.at) >= Date.parse(found.at) ? d : found),
    undefined,
  );
}

/** The latest decision recorded for a transition, if any. */
export function latestDecision(
  decisions: readonly Decision[],
  from: string,
  to: string,
): Decision | undefined {
  return latest(decisions.filter((d) => d.from === from && d.to === to));
}

/** The latest decision of each transition, in the order transitions were first decided. */
export function latestDecisionPerTransition(decisions: readonly Decision[]): Decision[] {
  const transitions = new Map(decisions.map((d) => [`${d.from}->${d.to}`, d]));
  return [...transitions.values()].map((first) => latestDecision(decisions, first.from, first.to)!);
}

/** The latest GO decision into `phaseId` (from whichever phase), if any: when the phase was entered. */
export function latestGoInto(decisions: readonly Decision[], phaseId: string): Decision | undefined {
  return latest(decisions.filter((d) => d.to === phaseId && d.decision === "GO"));
}

/** Transitions before `phaseId` whose latest recorded decision is not GO. */
export function missingGoDecisions(
  playbook: Playbook,
  phaseId: string,
  decisions: readonly Decision[],
): Transition[] {
  return transitionsBefore(playbook, phaseId).filter(
    (t) => latestDecision(decisions, t.from, t.to)?.decision !== "GO",
  );
}

// ---------------------------------------------------------------------------------------
// GO / NO-GO over evidence

export interface CriterionResult {
  id: string;
  description: string;
  op: Comparator;
  threshold: number;
  unit?: string;
  value: number | undefined;
  pass: boolean;
  /** Why it failed, or "ok". */
  reason: string;
}

export interface DecisionResult {
  from: string;
  to: string;
  decision: "GO" | "NO-GO";
  rule: string;
  passed: number;
  required: number;
  total: number;
  results: CriterionResult[];
}

export function compare(value: number, op: Comparator, threshold: number): boolean {
  switch (op) {
    case ">=":
      return value >= threshold;
    case ">":
      return value > threshold;
    case "<=":
      return value <= threshold;
    case "<":
      return value < threshold;
    case "=":
      return value === threshold;
  }
}

export function evaluateCriterion(criterion: Criterion, value: number | undefined): CriterionResult {
  const base = {
    id: criterion.id,
    description: criterion.description,
    op: criterion.op,
    threshold: criterion.value,
    unit: criterion.unit,
    value,
  };
  if (value === undefined) return { ...base, pass: false, reason: `no evidence for ${criterion.id}` };
  const pass = compare(value, criterion.op, criterion.value);
  return {
    ...base,
    pass,
    reason: pass ? "ok" : `${value} is not ${criterion.op} ${criterion.value}`,
  };
}

export function describeRule(transition: Transition): string {
  return transition.rule.type === "all"
    ? `ALL ${transition.criteria.length}`
    : `${transition.rule.count} of ${transition.criteria.length}`;
}

/**
 * Evidence -> per-criterion pass/fail -> GO/NO-GO under the transition's rule. Throws a
 * RolloutInputError (exit 2) for a value its criterion's unit cannot take (`errorRate: -100`),
 * before anything is decided.
 */
export function decide(transition: Transition, evidence: Readonly<Record<string, number>>): DecisionResult {
  assertEvidenceInRange(evidence, transition.criteria);
  return decideInRange(transition, evidence);
}

/** `decide` over evidence already known to be in range. */
function decideInRange(transition: Transition, evidence: Readonly<Record<string, number>>): DecisionResult {
  const results = transition.criteria.map((c) => evaluateCriterion(c, evidence[c.id]));
  const passed = results.filter((r) => r.pass).length;
  const required = transition.rule.type === "all" ? transition.criteria.length : transition.rule.count;
  return {
    from: transition.from,
    to: transition.to,
    decision: passed >= required ? "GO" : "NO-GO",
    rule: describeRule(transition),
    passed,
    required,
    total: transition.criteria.length,
    results,
  };
}

// ---------------------------------------------------------------------------------------
// What a value can be, by its unit

/** The values a measurement in some unit can take. */
export interface UnitRange {
  min: number;
  /** Absent: no upper bound. */
  max?: number;
  /** What the unit measures, for messages: `a percentage (%)`. */
  kind: string;
}

const TIME_UNIT = /^(ms|s|sec|seconds?|min|minutes?|h|hours?|days?)$/i;

/**
 * The range of a unit as the playbooks write units. A percentage (`%`, `% positive`, `% of pilot
 * users`) is a share of a whole, 0-100; `% of baseline` may exceed 100. Times, counts, rates and
 * ratios (`ms`, `min`, `count`, `rows/s`, `ratio`, no unit) are never negative. Every evidence
 * value of both playbooks is one of these: none can be negative.
 */
export function unitRange(unit: string | undefined): UnitRange {
  if (unit !== undefined && /^%(\s|$)/.test(unit) && !/baseline/i.test(unit))
    return { min: 0, max: 100, kind: `a percentage (${unit})` };
  if (unit !== undefined && TIME_UNIT.test(unit)) return { min: 0, kind: `a time (${unit})` };
  if (unit !== undefined && /ratio|per unit/i.test(unit)) return { min: 0, kind: `a ratio (${unit})` };
  return {
    min: 0,
    kind: unit === undefined ? "a count, flag or ratio (no unit)" : `a count or rate (${unit})`,
  };
}

function describeRange(range: UnitRange): string {
  return range.max === undefined ? `>= ${range.min}` : `${range.min}-${range.max}`;
}

/** `errorRate = -100 is impossible for a percentage (%): expected 0-100`, or undefined when `value` fits `unit`. */
export function unitProblem(id: string, value: number, unit: string | undefined): string | undefined {
  const range = unitRange(unit);
  if (value >= range.min && (range.max === undefined || value <= range.max)) return undefined;
  return `${id} = ${value} is impossible for ${range.kind}: expected ${describeRange(range)}`;
}

/** What measures an evidence id: a criterion, a gate or a success criterion, each with its unit. */
type Measured = { id: string; unit?: string | undefined };

/** The range problems of `evidence` against the units of `measures` (ids without evidence are skipped). */
function evidenceRangeProblems(
  evidence: Readonly<Record<string, number>>,
  measures: readonly Measured[],
): string[] {
  const problems = measures.flatMap((m) => {
    const value = evidence[m.id];
    const problem = value === undefined ? undefined : unitProblem(m.id, value, m.unit);
    return problem ? [problem] : [];
  });
  return [...new Set(problems)];
}

/**
 * Throws a RolloutInputError (exit 2) naming each value its unit cannot take: impossible
 * evidence (`userAdoption: 1000`) must never decide anything.
 */
export function assertEvidenceInRange(
  evidence: Readonly<Record<string, number>>,
  measures: readonly Measured[],
): void {
  const problems = evidenceRangeProblems(evidence, measures).map((p) => `evidence ${p}`);
  if (problems.length > 0) throw new RolloutInputError(problems.join("\n"), problems);
}

/** Evidence keys outside `known`: a typo must not pass silently. */
export function evidenceOutside(
  evidence: Readonly<Record<string, number>>,
  known: readonly string[],
): string[] {
  const ids = new Set(known);
  return Object.keys(evidence).filter((k) => !ids.has(k));
}

/**
 * Evidence keys no criterion of the transition knows. `alsoKnown` adds ids read by something
 * else from the same evidence (the phase's rollback triggers' gates).
 */
export function unknownEvidence(
  transition: Transition,
  evidence: Readonly<Record<string, number>>,
  alsoKnown: readonly string[] = [],
): string[] {
  return evidenceOutside(evidence, [...transition.criteria.map((c) => c.id), ...alsoKnown]);
}

// ---------------------------------------------------------------------------------------
// A phase's rollback triggers over the same evidence

/*
 * The document's "Rollback Triggers" of each phase. A trigger's condition is written the way
 * the document writes it ("rowsPerSecond < 33573"), so it is a criterion whose passing means
 * the trigger fires: the comparison is `evaluateCriterion`'s, the one `decide` uses.
 */

export type TriggerStatus = "breached" | "clear" | "not-measured" | "manual";

export interface TriggerResult {
  description: string;
  /** The gate whose evidence the condition reads; absent for a trigger a person judges. */
  gate?: string;
  op?: Comparator;
  value?: number;
  /** The gate's unit. */
  unit?: string;
  /** The evidence for the gate; absent when none was given. */
  observed?: number;
  /**
   * `breached`: the condition holds on the evidence. `clear`: it does not. `not-measured`: the
   * trigger has a condition but the evidence has no value for its gate. `manual`: the document
   * gives no number (gate, op and value are not all set), so a person judges it.
   */
  status: TriggerStatus;
}

/**
 * Every rollback trigger of `phaseId`, in playbook order, against the evidence. Throws a
 * RolloutInputError for evidence of a gate its unit cannot take, as `decide` does.
 */
export function evaluatePhaseTriggers(
  playbook: Playbook,
  phaseId: string,
  evidence: Readonly<Record<string, number>>,
): TriggerResult[] {
  const units = new Map(playbook.gates.map((g) => [g.id, g.unit]));
  assertEvidenceInRange(evidence, playbook.gates);
  return getPhase(playbook, phaseId).rollbackTriggers.map((trigger): TriggerResult => {
    const { description, gate, op, value } = trigger;
    if (gate === undefined || op === undefined || value === undefined)
      return { description, ...(gate !== undefined && { gate }), status: "manual" };
    const unit = units.get(gate);
    const condition = evaluateCriterion({ id: gate, op, value, unit, description }, evidence[gate]);
    const common = { description, gate, op, value, ...(unit !== undefined && { unit }) };
    if (condition.value === undefined) return { ...common, status: "not-measured" };
    return { ...common, observed: condition.value, status: condition.pass ? "breached" : "clear" };
  });
}

/** Gate ids the phase's triggers read: evidence for them is expected, not a typo. */
export function triggerGates(playbook: Playbook, phaseId: string): string[] {
  const gates = getPhase(playbook, phaseId).rollbackTriggers.flatMap((t) => (t.gate ? [t.gate] : []));
  return [...new Set(gates)];
}

/** The condition as the operator reads it: `rowsPerSecond < 33573 rows/s`. */
export function describeCondition(trigger: Pick<TriggerResult, "gate" | "op" | "value" | "unit">): string {
  if (trigger.op === undefined || trigger.value === undefined) return "-";
  return `${trigger.gate} ${trigger.op} ${trigger.value}${trigger.unit ? ` ${trigger.unit}` : ""}`;
}

/**
 * The breached rollback triggers that forbid recording this decision: a GO must not be
 * recorded while a trigger of the phase is breached; a NO-GO may be, whatever they say.
 */
export function goRecordBlockers(
  result: Pick<DecisionResult, "decision">,
  triggers: readonly TriggerResult[],
): TriggerResult[] {
  return result.decision === "GO" ? triggers.filter((t) => t.status === "breached") : [];
}

/** Whether the decision lets the rollout move on: a GO with no rollback trigger of the phase breached. */
export function clearsTransition(
  result: Pick<DecisionResult, "decision">,
  triggers: readonly TriggerResult[],
): boolean {
  return result.decision === "GO" && !triggers.some((t) => t.status === "breached");
}

// ---------------------------------------------------------------------------------------
// Sign-offs a phase needs in production

/**
 * The roles `phaseId` needs. Throws for a phase the playbook does not list (the schema makes
 * every phase a key), so an unknown phase never passes as "no sign-off needed".
 */
export function requiredRoles(playbook: Playbook, phaseId: string): string[] {
  const roles = playbook.signoff.requiredByPhase[phaseId];
  if (roles === undefined) {
    phaseIndex(playbook, phaseId);
    throw new Error(`playbook ${playbook.id} has no signoff.requiredByPhase.${phaseId}`);
  }
  return roles;
}

export function missingSignoffs(playbook: Playbook, phaseId: string, signoffs: Signoffs): string[] {
  const approved = signoffs[phaseId] ?? {};
  return requiredRoles(playbook, phaseId).filter((role) => !approved[role]);
}

export function signoffsComplete(playbook: Playbook, phaseId: string, signoffs: Signoffs): boolean {
  return missingSignoffs(playbook, phaseId, signoffs).length === 0;
}

/** A role's display name and checklist, for `rollout signoff status`. */
export function roleChecklist(
  playbook: Playbook,
  roleId: string,
): { name: string; checklist: string[] } | undefined {
  const role = playbook.signoff.roles.find((r) => r.id === roleId);
  return role && { name: role.name, checklist: role.checklist };
}

/**
 * Approvers who signed more than one role of a phase (names compared trimmed and without case),
 * with the roles each signed, in the order they are recorded. In production each role is a distinct person: one
 * person signing every role is no review at all.
 */
export function sharedApprovers(
  approvals: Readonly<Record<string, Signoff>>,
): { approver: string; roles: string[] }[] {
  const byPerson = new Map<string, { approver: string; roles: string[] }>();
  for (const [role, signoff] of Object.entries(approvals)) {
    const key = signoff.approver.trim().toLowerCase();
    const entry = byPerson.get(key) ?? { approver: signoff.approver, roles: [] };
    entry.roles.push(role);
    byPerson.set(key, entry);
  }
  return [...byPerson.values()].filter((e) => e.roles.length > 1);
}

// ---------------------------------------------------------------------------------------
// Time: when a phase began, how long it soaked

const DAY_MS = 86_400_000;

/** `1 s`, `5 min`, `6 h`, `3 days`, `6.9 days`: an elapsed time as a message says it. */
export function describeDuration(ms: number): string {
  const abs = Math.abs(ms);
  const sign = ms < 0 ? "-" : "";
  const round = (n: number) => String(Math.round(n * 10) / 10);
  if (abs < 60_000) return `${sign}${round(abs / 1000)} s`;
  if (abs < 3_600_000) return `${sign}${round(abs / 60_000)} min`;
  if (abs < DAY_MS) return `${sign}${round(abs / 3_600_000)} h`;
  const days = abs / DAY_MS;
  return `${sign}${round(days)} day${days === 1 ? "" : "s"}`;
}

/** A transition the rollout has gone through: its latest GO, and the GO that entered its source phase. */
export interface PhaseExit {
  transition: Transition;
  /** The latest decision of the transition, a GO. */
  go: Decision;
  /**
   * The latest GO into the transition's source phase: when that phase began. Absent for the
   * first phase (nothing enters it) or when none is recorded: then its soak cannot be judged.
   */
  entered?: Decision;
  /** `go.at - entered.at` in milliseconds, when `entered` is known. */
  elapsedMs?: number;
  /** The source phase's minimum soak (playbook `minimumDays`). */
  minimumDays: number;
}

/**
 * Every transition before `phaseId` whose latest decision is GO, with when its source phase
 * began (the GO into it, as decisions record `at`) and how long it had run at the GO out.
 * A transition without a GO is `missingGoDecisions`' to report.
 */
export function phaseExits(playbook: Playbook, phaseId: string, decisions: readonly Decision[]): PhaseExit[] {
  return transitionsBefore(playbook, phaseId).flatMap((transition): PhaseExit[] => {
    const go = latestDecision(decisions, transition.from, transition.to);
    if (go?.decision !== "GO") return [];
    const entered = latestGoInto(decisions, transition.from);
    const minimumDays = getPhase(playbook, transition.from).minimumDays;
    if (!entered) return [{ transition, go, minimumDays }];
    return [{ transition, go, entered, elapsedMs: Date.parse(go.at) - Date.parse(entered.at), minimumDays }];
  });
}

/** The soak `exit` lacks, in milliseconds (0 when it soaked long enough or cannot be judged). */
export function soakShortfallMs(exit: PhaseExit): number {
  if (exit.elapsedMs === undefined) return 0;
  return Math.max(0, exit.minimumDays * DAY_MS - exit.elapsedMs);
}

// ---------------------------------------------------------------------------------------
// Recorded evidence lines

/** How `rollout gates --record` writes one criterion's evidence (gatesLive.ts), optionally followed by ` [<source>]`. */
const EVIDENCE_LINE_FORMAT = "<criterion> = <value> (required <op> <threshold>): pass|FAIL";

const EVIDENCE_LINE = new RegExp(
  `^([A-Za-z][A-Za-z0-9]*) = (\\S+) \\(required (${Comparator.options.map((op) => op.replace(/[<>=]/g, "\\$&")).join("|")}) (\\S+)\\): (pass|FAIL)(?: \\[(.*)\\])?$`,
);

export interface EvidenceLine {
  id: string;
  /** Undefined when the line says `missing`. */
  value: number | undefined;
  op: Comparator;
  threshold: number;
  pass: boolean;
}

/** A recorded evidence line, or undefined when it is not in EVIDENCE_LINE_FORMAT. */
export function parseEvidenceLine(line: string): EvidenceLine | undefined {
  const m = EVIDENCE_LINE.exec(line.trim());
  if (!m) return undefined;
  // A finite number, as `gates --record` writes one: 1e309 (Infinity) is refused, -0 reads 0.
  const number = (text: string) => {
    const n = /^-?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(text) ? Number(text) : NaN;
    return Number.isFinite(n) ? n + 0 : NaN;
  };
  const value = m[2] === "missing" ? undefined : number(m[2]!);
  const threshold = number(m[4]!);
  if (Number.isNaN(threshold) || (value !== undefined && Number.isNaN(value))) return undefined;
  return { id: m[1]!, value, op: m[3] as Comparator, threshold, pass: m[5] === "pass" };
}

// ---------------------------------------------------------------------------------------
// Recorded decisions checked against the playbook (stack config)

/**
 * After a NO-GO the phase goes on (TBS: "Repeat Phase 1 until all criteria met", "Extend Phase 2
 * by 1 week"; both documents review weekly), so a GO overriding it comes a week later at the
 * earliest, or after the phase's minimum soak when that is shorter.
 */
const NO_GO_RETRY_DAYS = 7;

/** Every unit an evidence id carries in the playbook: the transition's criterion, a gate, a success criterion. */
function measuresOf(playbook: Playbook, transition: Transition | undefined, id: string): Measured[] {
  return [
    ...(transition?.criteria ?? []).filter((c) => c.id === id),
    ...playbook.gates.filter((g) => g.id === id),
    ...playbook.successCriteria.filter((c) => c.id === id),
  ];
}

/**
 * What is wrong with recorded decisions (`rollout:decisions`), each problem naming its key:
 * - in every tier, an evidence value its unit cannot take (`rollout:decisions[1].evidence[2]`);
 * - in production, a GO that is not what `decide` gives over its own evidence (a line in another
 *   format, a criterion missing or unknown, a threshold or a pass/FAIL that is not the
 *   playbook's), and a GO that overrides a NO-GO of its transition sooner than NO_GO_RETRY_DAYS
 *   (or the phase's minimum soak).
 * Decisions naming no transition of the playbook are left to the phase-id checks.
 */
export function recordedDecisionProblems(
  playbook: Playbook,
  decisions: readonly Decision[],
  production: boolean,
): string[] {
  const problems: string[] = [];
  decisions.forEach((d, i) => {
    const key = `rollout:decisions[${i}]`;
    const transition = playbook.transitions.find((t) => t.from === d.from && t.to === d.to);
    const lines = d.evidence.map((line) => parseEvidenceLine(line));
    let inRange = true;
    lines.forEach((line, j) => {
      if (line?.value === undefined) return;
      const problem = evidenceRangeProblems(
        { [line.id]: line.value },
        measuresOf(playbook, transition, line.id),
      )[0];
      if (problem === undefined) return;
      inRange = false;
      problems.push(`${key}.evidence[${j}]: ${problem}`);
    });
    if (!production || d.decision !== "GO" || !transition) return;
    const goProblems = recordedGoProblems(transition, d, lines, key);
    problems.push(...goProblems);
    if (inRange && goProblems.length === 0) {
      const values = Object.fromEntries(
        lines.flatMap((l) => (l?.value === undefined ? [] : [[l.id, l.value]])),
      );
      const result = decideInRange(transition, values);
      result.results.forEach((r) => {
        const j = lines.findIndex((l) => l?.id === r.id);
        if (j >= 0 && lines[j]!.pass !== r.pass)
          problems.push(
            `${key}.evidence[${j}]: says ${lines[j]!.pass ? "pass" : "FAIL"}, but ${r.id} = ${r.value ?? "missing"} ${r.pass ? "passes" : "fails"} ${r.op} ${r.threshold}; a recorded line must be what \`rollout gates --record\` writes`,
          );
      });
      if (result.decision !== "GO") {
        const failed = result.results.filter((r) => !r.pass).map((r) => r.reason);
        problems.push(
          `${key}: a GO for ${d.from} -> ${d.to}, but its evidence gives NO-GO under rule ${result.rule} (${result.passed} of ${result.total} passed, ${result.required} required: ${failed.join("; ")}); ` +
            `record the decision with \`npm run rollout -- gates --stack <stack> --record\`, which writes what the evidence decides`,
        );
      }
    }
    const retry = noGoRetryProblem(playbook, decisions, d, i);
    if (retry) problems.push(retry);
  });
  return problems;
}

/** Lines of a recorded GO that are not one per criterion of `transition` in its own terms. */
function recordedGoProblems(
  transition: Transition,
  decision: Decision,
  lines: readonly (EvidenceLine | undefined)[],
  key: string,
): string[] {
  const problems: string[] = [];
  const criteria = new Map(transition.criteria.map((c) => [c.id, c]));
  const seen = new Set<string>();
  lines.forEach((line, j) => {
    const at = `${key}.evidence[${j}]`;
    if (!line) {
      problems.push(
        `${at}: expected "${EVIDENCE_LINE_FORMAT}" as \`rollout gates --record\` writes it, got ${JSON.stringify(decision.evidence[j])}`,
      );
      return;
    }
    const criterion = criteria.get(line.id);
    if (!criterion) {
      problems.push(
        `${at}: ${line.id} is no criterion of ${transition.from} -> ${transition.to}; expected one of ${[...criteria.keys()].join(", ")}`,
      );
      return;
    }
    if (seen.has(line.id))
      problems.push(`${at}: ${line.id} is recorded twice; expected one line per criterion`);
    seen.add(line.id);
    if (line.op !== criterion.op || line.threshold !== criterion.value)
      problems.push(
        `${at}: says ${line.id} is required ${line.op} ${line.threshold}, but playbook ${transition.from} -> ${transition.to} requires ${criterion.op} ${criterion.value}`,
      );
  });
  const unrecorded = transition.criteria.filter((c) => !seen.has(c.id)).map((c) => c.id);
  if (unrecorded.length > 0 && problems.length === 0)
    problems.push(
      `${key}.evidence: a GO for ${transition.from} -> ${transition.to} records no line for ${unrecorded.join(", ")}; ` +
        `a GO carries the evidence of every criterion (\`npm run rollout -- gates --stack <stack> --record\` writes it)`,
    );
  return problems;
}

/** A GO recorded too soon after a NO-GO of its own transition, or undefined. */
function noGoRetryProblem(
  playbook: Playbook,
  decisions: readonly Decision[],
  go: Decision,
  index: number,
): string | undefined {
  const at = Date.parse(go.at);
  const earlier = decisions
    .map((d, i) => ({ d, i }))
    .filter(
      ({ d, i }) =>
        i !== index &&
        d.from === go.from &&
        d.to === go.to &&
        d.decision === "NO-GO" &&
        Date.parse(d.at) <= at,
    );
  const noGo = earlier.reduce<(typeof earlier)[number] | undefined>(
    (found, e) => (!found || Date.parse(e.d.at) >= Date.parse(found.d.at) ? e : found),
    undefined,
  );
  if (!noGo) return undefined;
  const days = Math.min(NO_GO_RETRY_DAYS, getPhase(playbook, go.from).minimumDays);
  const elapsed = at - Date.parse(noGo.d.at);
  if (elapsed >= days * DAY_MS) return undefined;
  return (
    `rollout:decisions[${index}].at: a GO for ${go.from} -> ${go.to} ${describeDuration(elapsed)} after the NO-GO of rollout:decisions[${noGo.i}] (${noGo.d.at}); ` +
    `a NO-GO means phase ${go.from} goes on: a GO may follow it ${describeDuration(days * DAY_MS)} later at the earliest (${new Date(Date.parse(noGo.d.at) + days * DAY_MS).toISOString()})`
  );
}
