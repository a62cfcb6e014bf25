import * as pulumi from "@pulumi/pulumi";
import { offlinePolicyRunner, type PlanViolation } from "../policies/offline";
import { parseRolloutConfig } from "../rollout/config";
import { deprecationWarnings, type DeprecationWarning, type RuntimeUse } from "../rollout/deprecations";
import { triggerLatencies, type TriggerLatency } from "../rollout/latency";
import { loadStackFile } from "../rollout/loaders";
import type { Playbook } from "../rollout/playbook";
import { rolloutKeys, type StackFile } from "../rollout/stackFile";
import { parseAwsRegion } from "../rollout/awsLimits";
import { registerSecrets } from "../rollout/redaction";
import { planTraffic, type ServiceTraffic } from "../rollout/traffic";
import {
  ResourceRecorder,
  type MockOptions,
  type RecordedOptions,
  type RecordedResource,
} from "./mockEngine";
import program from "../index";

/**
 * The offline plan: the real program (index.ts) under Pulumi's mock engine with a stack's
 * config, then every policy of the pack over what it registered. No Pulumi CLI, no cloud.
 */

export type { PlanViolation };

export interface PlanResult {
  stack: string;
  playbook: string;
  phase: string;
  rollback: boolean;
  /** Offline, the rollback latch in SSM cannot be read. */
  latch: "unknown";
  traffic: ServiceTraffic[];
  resources: { type: string; name: string; inputs: Record<string, unknown>; options: RecordedOptions }[];
  violations: PlanViolation[];
  triggers: TriggerLatency[];
  /** AWS dates past or near for the Lambda runtimes and MySQL versions the resources use. */
  deprecations: DeprecationWarning[];
}

/** How the engine serialises a secret value: `{<sig key>: <secret sig>, value}`. */
const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

function isSecretEnvelope(value: unknown): value is { value: unknown } {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as Record<string, unknown>)[SECRET_SIG_KEY] === SECRET_SIG
  );
}

/** Replace secret values: `reveal` gives the plaintext (as policies see it), otherwise `[secret]`. */
export function mapSecrets(value: unknown, reveal: boolean): unknown {
  if (isSecretEnvelope(value)) return reveal ? mapSecrets(value.value, reveal) : "[secret]";
  if (Array.isArray(value)) return value.map((v) => mapSecrets(v, reveal));
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mapSecrets(v, reveal)]));
  }
  return value;
}

/**
 * The values the program marked secret one by one (a secret envelope around a string or a
 * number), for redaction: what policies see unwrapped must not come back in a violation's
 * message. An envelope around a whole object (a Kubernetes Secret's data) gives only the
 * envelopes inside it: its database name or port is no secret to redact from every line, and
 * the secret config values it holds are registered from the stack file.
 */
export function secretEnvelopeValues(value: unknown, depth = 0): string[] {
  if (depth > 64) return [];
  if (isSecretEnvelope(value)) {
    const inner = value.value;
    if (typeof inner === "string") return inner === "[secret]" ? [] : [inner];
    if (typeof inner === "number") return [String(inner)];
    return secretEnvelopeValues(inner, depth + 1);
  }
  if (Array.isArray(value)) return value.flatMap((v) => secretEnvelopeValues(v, depth + 1));
  if (typeof value === "object" && value !== null)
    return Object.values(value).flatMap((v) => secretEnvelopeValues(v, depth + 1));
  return [];
}

/** The Lambda runtimes and MySQL engine versions the resources use, for the deprecation calendar. */
function runtimeUses(resources: RecordedResource[]): RuntimeUse[] {
  return resources.flatMap((r): RuntimeUse[] => {
    const resource = `${r.type}::${r.name}`;
    const { runtime, engine, engineVersion } = r.inputs;
    if (r.type === "aws:lambda/function:Function" && typeof runtime === "string")
      return [{ resource, kind: "lambda-runtime", version: runtime }];
    if (r.type === "aws:rds/instance:Instance" && engine === "mysql" && typeof engineVersion === "string")
      return [{ resource, kind: "rds-mysql", version: engineVersion }];
    return [];
  });
}

/**
 * Pulumi records `new Error().stack` on every promise it makes (for its leak report), and
 * under tsx each stack is mapped through source maps: measured, that was half the plan's
 * time and most of its per-resource cost. A plan needs neither, so both are off while the
 * program runs. Errors keep their messages; set ROLLOUT_PLAN_STACK_TRACES=1 to keep stacks
 * when debugging the program itself.
 */
async function withoutPromiseStackTraces<T>(run: () => Promise<T>): Promise<T> {
  if (process.env.ROLLOUT_PLAN_STACK_TRACES === "1") return run();
  const { stackTraceLimit } = Error;
  const sourceMaps = process.sourceMapsEnabled;
  Error.stackTraceLimit = 0;
  process.setSourceMapsEnabled(false);
  try {
    return await run();
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
    process.setSourceMapsEnabled(sourceMaps);
  }
}

/**
 * Run the program for one stack file. Throws RolloutInputError (exit 2) before any
 * resource is registered when the config is invalid. `now` is the deploy's time for the
 * program and the day the deprecation calendar judges by. Default: the clock.
 */
export async function planStack(
  stackFile: StackFile,
  mocks: MockOptions = {},
  options: { revealSecrets?: boolean; now?: Date } = {},
): Promise<PlanResult> {
  return (await planWithPlaybook(stackFile, mocks, options)).result;
}

/** planStack, and the playbook the stack's config loaded (the trigger picture draws from it). */
async function planWithPlaybook(
  stackFile: StackFile,
  mocks: MockOptions,
  options: { revealSecrets?: boolean; now?: Date },
): Promise<{ result: PlanResult; playbook: Playbook }> {
  const now = options.now ?? new Date();
  // Decrypted secrets, when the stack file carries them, are redacted from every message from here on.
  registerSecrets(stackFile.secretValues ?? []);
  // Validate first: nothing may be registered for an invalid config.
  // The stack file shows each `secure:` path, so secrecy is checked per path, not per key.
  const config = parseRolloutConfig(rolloutKeys(stackFile.config), stackFile.stack, (path) =>
    stackFile.secretPaths.includes(`rollout:${path}`),
  );

  parseAwsRegion(stackFile.config["aws:region"]);

  const recorder = new ResourceRecorder(mocks);
  await pulumi.runtime.setMocks(recorder.mocks(), "staged-rollout", stackFile.stack, false);
  recorder.captureOptions();
  pulumi.runtime.setAllConfig(stackFile.config, stackFile.secretKeys);
  await withoutPromiseStackTraces(async () => {
    try {
      await pulumi.runtime.runInPulumiStack(() =>
        Promise.resolve(program({ now, readLatch: mocks.latchParameters !== undefined })),
      );
    } finally {
      // Also when the program throws: a connected mock engine would outlive the plan.
      await pulumi.runtime.disconnect();
    }
  });

  const resources = recorder.resources.filter((r) => r.type !== "pulumi:pulumi:Stack");
  registerSecrets(resources.flatMap((r) => secretEnvelopeValues(r.inputs)));
  const revealed = resources.map((r) => ({
    ...r,
    inputs: mapSecrets(r.inputs, true) as Record<string, unknown>,
  }));
  const violations = await offlinePolicyRunner(revealed, config);
  const result: PlanResult = {
    stack: stackFile.stack,
    playbook: config.playbookSpec.id,
    phase: config.phase,
    rollback: config.rollback,
    latch: "unknown",
    traffic: planTraffic(config),
    resources: resources.map((r) => ({
      type: r.type,
      name: r.name,
      inputs: mapSecrets(r.inputs, options.revealSecrets ?? false) as Record<string, unknown>,
      options: r.options!,
    })),
    violations,
    triggers: triggerLatencies(config.playbookSpec),
    deprecations: deprecationWarnings(runtimeUses(resources), now),
  };
  return { result, playbook: config.playbookSpec };
}

export async function planStackByName(
  stack: string,
  configFile?: string,
  now = new Date(),
): Promise<PlanResult> {
  return planStack(loadStackFile(stack, configFile), {}, { now });
}

/** planStackByName with the playbook the stack runs (for `plan --svg`). */
export function planStackWithPlaybook(
  stack: string,
  configFile?: string,
  now = new Date(),
): Promise<{ result: PlanResult; playbook: Playbook }> {
  return planWithPlaybook(loadStackFile(stack, configFile), {}, { now });
}

export function hasMandatoryViolation(result: PlanResult): boolean {
  return result.violations.some((v) => v.enforcementLevel === "mandatory");
}
