import { closest } from "../rollout/validation";

/** Per-command help (`rollout <command> --help`, `rollout help <command>`) and "did you mean". */

export interface FlagHelp {
  /** The flag's name, without `--`. */
  flag: string;
  /** The value's placeholder; none for a boolean flag. */
  arg?: string;
  meaning: string;
  /** What applies when the flag is not given. */
  default: string;
}

export interface CommandHelp {
  usage: string[];
  summary: string;
  flags: FlagHelp[];
}

const STACK: FlagHelp = {
  flag: "stack",
  arg: "S",
  meaning: "the Pulumi stack, e.g. staging or production",
  default: "none: required",
};

const JSON_FLAG: FlagHelp = {
  flag: "json",
  meaning: "one JSON document on stdout (errors too: {error, exitCode})",
  default: "off: human-readable lines",
};

const HELP_FLAG: FlagHelp = { flag: "help", meaning: "this help", default: "off" };

export const COMMAND_HELP: Record<string, CommandHelp> = {
  plan: {
    usage: ["plan [--stack S] [--config-file PATH] [--svg FILE]"],
    summary: "offline plan of a stack under Pulumi's mock engine, with the policy pack",
    flags: [
      { ...STACK, default: "the stack the --config-file name gives (Pulumi.<stack>.yaml), else staging" },
      {
        flag: "config-file",
        arg: "PATH",
        meaning: "the stack config file to plan",
        default: "Pulumi.<stack>.yaml in the project",
      },
      {
        flag: "svg",
        arg: "FILE",
        meaning:
          "also draw the trigger table as a breach -> alarm -> Lambda -> blue timeline per trigger, against its limit (SVG written to FILE, replaced if it exists; a directory or unwritable path exits 2)",
        default: "off: text only",
      },
    ],
  },
  status: {
    usage: ["status --stack S [--watch [--interval T]]"],
    summary:
      "phase, weights read from the ALB, alarms, latch, decisions, sign-offs; flags live routing that differs from the config",
    flags: [
      STACK,
      {
        flag: "watch",
        meaning: "print the status again every --interval until Ctrl-C",
        default: "off: once",
      },
      {
        flag: "interval",
        arg: "T",
        meaning: "with --watch, the time between reads: a duration with its unit (30s, 5m, 1h)",
        default: "30s",
      },
    ],
  },
  gates: {
    usage: [
      "gates --playbook ID --from PHASE --evidence FILE          (offline)",
      "gates --playbook ID --success --evidence FILE             (success criteria)",
      "gates --stack S [--evidence FILE] [--record] [--approver A] (live)",
    ],
    summary:
      "GO/NO-GO decision for the current transition, then the phase's rollback triggers: a breached one exits 1 (even on GO) and --record refuses to record a GO",
    flags: [
      {
        flag: "playbook",
        arg: "ID",
        meaning: "the playbook id (offline forms)",
        default: "none: required offline",
      },
      {
        flag: "from",
        arg: "PHASE",
        meaning: "the phase the transition leaves (offline form)",
        default: "none: required offline",
      },
      {
        flag: "evidence",
        arg: "FILE",
        meaning: "evidence YAML; live, merged over CloudWatch's values (the file wins)",
        default: "offline: none, required; live: CloudWatch only",
      },
      {
        flag: "success",
        meaning: "check the playbook's success criteria by category instead",
        default: "off",
      },
      { ...STACK, meaning: "the stack, for the live form", default: "none: offline form" },
      {
        flag: "record",
        meaning:
          "append the decision to rollout:decisions (live; a GO is refused while a trigger is breached)",
        default: "off: decide only",
      },
      {
        flag: "approver",
        arg: "A",
        meaning: "who records the decision (live, with --record)",
        default: "$USER, else operator",
      },
    ],
  },
  advance: {
    usage: ["advance --stack S"],
    summary:
      "move to the next phase (needs a recorded GO and, in production, sign-offs); refused while any alarm is in ALARM",
    flags: [STACK],
  },
  shift: {
    usage: ["shift --stack S --to N [--step K] [--interval T]"],
    summary:
      "move greenWeight within the phase's cap, in steps from the weight the ALB serves; a rollback alarm mid-shift rolls back; Ctrl-C stops after the step in flight, says where traffic stands and exits 130",
    flags: [
      STACK,
      { flag: "to", arg: "N", meaning: "the green weight to reach, 0-100 %", default: "none: required" },
      {
        flag: "step",
        arg: "K",
        meaning: "percentage points per step, 1-100 (--step equal to the distance moves in one step)",
        default:
          "the phase's shift.stepPercent in the playbook (TBS: 5 in the pilot phases, 10 in full; Telegram: 10)",
      },
      {
        flag: "interval",
        arg: "T",
        meaning:
          "alarm watching between steps, a heartbeat line at each minute's read: a duration with its unit, 60s to 24h (90s, 5m, 1h)",
        default: "the phase's shift.intervalSeconds in the playbook (TBS: 16m; Telegram: 11m)",
      },
    ],
  },
  rollback: {
    usage: ["rollback --stack S --reason R", "rollback --stack S --clear"],
    summary:
      "100 % blue now (listener rules first, verified through the ALB, then rollout:rollback and up); --clear ends a rollback once green is fixed",
    flags: [
      STACK,
      {
        flag: "reason",
        arg: "R",
        meaning: "why (stored as rollout:rollbackReason, sent to the critical topic)",
        default: "none: required unless --clear",
      },
      {
        flag: "clear",
        meaning: "end a rollback: rollout:rollback false, verified",
        default: "off: roll back",
      },
    ],
  },
  resume: {
    usage: ["resume --stack S"],
    summary:
      "acknowledge an automatic rollback and clear its latch (traffic stays on blue until shift or rollback --clear)",
    flags: [STACK],
  },
  drill: {
    usage: ["drill --scenario FILE [--svg FILE]", "drill --live --stack S"],
    summary:
      "replay a metric timeline through the gates (exit 1 when a rollback trigger misses its limit); live: force a rollback on a staging-tier stack, time it to blue, restore",
    flags: [
      {
        flag: "scenario",
        arg: "FILE",
        meaning: "the scenario YAML (offline drill)",
        default: "none: required offline",
      },
      {
        flag: "svg",
        arg: "FILE",
        meaning:
          "also draw each alarmed metric against its thresholds over time, with alarm-state bands (OK / ALARM / INSUFFICIENT_DATA), the rollback's firing and the moment blue is back (SVG written to FILE, replaced if it exists; a directory or unwritable path exits 2; offline drill)",
        default: "off: tables only",
      },
      { flag: "live", meaning: "drill the stack itself (staging tier only)", default: "off: offline" },
      { ...STACK, meaning: "the stack, with --live", default: "none: required with --live" },
    ],
  },
  signoff: {
    usage: ["signoff approve --role R --approver A | revoke --role R | status   --stack S [--phase P]"],
    summary: "record, revoke or list the sign-offs of a phase in rollout:signoffs",
    flags: [
      STACK,
      {
        flag: "role",
        arg: "R",
        meaning: "a sign-off role of the playbook (approve, revoke)",
        default: "none: required for approve and revoke",
      },
      {
        flag: "approver",
        arg: "A",
        meaning: "who approves (approve)",
        default: "none: required for approve",
      },
      { flag: "phase", arg: "P", meaning: "the phase signed off", default: "the next phase" },
    ],
  },
  restore: {
    usage: ["restore --stack S"],
    summary:
      "after an acknowledged automatic rollback (resume): return to the configured routing, weights and cohort rules, with up --refresh, verified on the ALB; refused while a rollback alarm fires or the latch is unacknowledged",
    flags: [STACK],
  },
  finish: {
    usage: ["finish --stack S --evidence FILE [--approver A] [--dry-run]"],
    summary:
      "end the release from the last phase with its success criteria met: blue takes green's version while carrying no traffic, is verified healthy, traffic returns to blue, green idles, the phase returns to the first; the release is archived in releases/<stack>.json; run it again to resume a finish that stopped (failed up, unhealthy blue, Ctrl-C)",
    flags: [
      STACK,
      {
        flag: "evidence",
        arg: "FILE",
        meaning:
          "the success criteria's evidence (metrics: {<criterion>: value}), every criterion met; not needed to resume a finish that stopped",
        default: "none: required to begin a finish",
      },
      { flag: "approver", arg: "A", meaning: "who finishes the release", default: "$USER, else operator" },
      {
        flag: "dry-run",
        meaning: "print the config change, from Pulumi.<stack>.yaml, and change nothing",
        default: "off",
      },
    ],
  },
  start: {
    usage: ["start --stack S --image SERVICE=IMAGE [--image SERVICE=IMAGE ...] [--dry-run]"],
    summary:
      "open the next release after finish (or a stack's first, in its first phase with green carrying nothing): green gets the new images (a service not named: green runs blue's version), rollout:release records it, rollout:finish goes, green's targets verified healthy; again while the release is in its first phase with nothing decided, it replaces the images; production images pinned by digest",
    flags: [
      STACK,
      {
        flag: "image",
        arg: "SERVICE=IMAGE",
        meaning: "green's new image for a service; repeat per service",
        default: "none: at least one required",
      },
      {
        flag: "dry-run",
        meaning: "print the config change, from Pulumi.<stack>.yaml, and change nothing",
        default: "off",
      },
    ],
  },
  history: {
    usage: ["history --stack S"],
    summary:
      "the stack's release history (releases/<stack>.json): the current release's events and every finished release (read from the file alone: no Pulumi, no AWS)",
    flags: [STACK],
  },
};

/** The help text of one command: usage, what it does, and every flag with its meaning and default. */
export function commandHelp(command: string): string {
  const help = COMMAND_HELP[command]!;
  const flags = [...help.flags, JSON_FLAG, HELP_FLAG];
  const names = flags.map((f) => {
    const short = f.flag === "stack" ? "-s, " : f.flag === "help" ? "-h, " : "";
    return `${short}--${f.flag}${f.arg ? ` ${f.arg}` : ""}`;
  });
  const width = Math.max(...names.map((n) => n.length));
  return [
    ...help.usage.map((u, i) => `${i === 0 ? "usage:" : "      "} npm run rollout -- ${u}`),
    "",
    help.summary,
    "",
    "flags:",
    ...flags.map((f, i) => `  ${names[i]!.padEnd(width)}  ${f.meaning} (default: ${f.default})`),
    "",
    command === "shift"
      ? "exit codes: 0 ok, 1 refused / NO-GO / failed, 2 bad input, 130 stopped by Ctrl-C (config and ALB agree)"
      : "exit codes: 0 ok, 1 refused / NO-GO / failed, 2 bad input",
  ].join("\n");
}

/**
 * The known word a typo most likely meant: the nearest within edit distance 2 (rollout/validation's
 * `closest`, as for config keys), else the only candidate the word is a prefix of.
 */
export function suggest(word: string, candidates: readonly string[]): string | undefined {
  const near = closest(word, candidates);
  if (near !== undefined) return near;
  if (word.length === 0) return undefined;
  const prefixed = candidates.filter((c) => c.toLowerCase().startsWith(word.toLowerCase()));
  return prefixed.length === 1 ? prefixed[0] : undefined;
}

/** `; did you mean X?` or nothing. */
export function didYouMean(word: string, candidates: readonly string[], prefix = ""): string {
  const s = suggest(word, candidates);
  return s === undefined ? "" : `; did you mean ${prefix}${s}?`;
}
