import * as fs from "node:fs";
import * as path from "node:path";
import type {
  EnforcementLevel,
  PolicyResource,
  PolicyResourceOptions,
  ResourceValidation,
  ResourceValidationArgs,
  StackValidationArgs,
} from "@pulumi/policy";
import { allPolicies, PACK_NAME } from "./rules/all";
import { errorMessage } from "../rollout/errors";
import { redactSecrets } from "../rollout/redaction";
import { readInputDocument } from "../rollout/safeInput";
import { describeReceived, RolloutInputError } from "../rollout/validation";
import { configOf, isUnknownValueError, unknownCheckingProxy, type Policy } from "./rules/util";

/**
 * The offline twin of `pulumi preview --policy-pack policies`: every policy of the pack over
 * the resources the program registered under the mock engine, with the arguments the engine
 * would build (props behind `unknownCheckingProxy`, secrets unwrapped, URNs, config with the
 * schema defaults and the stack's `policies/config/<stack>.json`). `npm run plan` uses it, so
 * a refused deploy is visible with no cloud account and no Pulumi CLI.
 */

/** One policy violation, as the plan reports it. */
export interface PlanViolation {
  policy: string;
  enforcementLevel: "mandatory" | "advisory";
  message: string;
  /** `type::name` of the resource, or `stack` for stack-level policies. */
  resource: string;
}

export interface OfflineResource {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
}

export interface OfflineOptions {
  stack: string;
  /** Pack config in the `--policy-pack-config` format. Default: policies/config/<stack>.json if it exists. */
  policyConfig?: Record<string, unknown>;
}

export const POLICY_CONFIG_DIR = path.join(__dirname, "config");

/**
 * The committed pack config file of a stack: policies/config/<stack>.json, by the stack's own
 * name (the last part of a qualified `org/project/stack`, as the engine's URNs name it). Pulumi
 * stack names are letters, digits, `-`, `_` and `.`; a name that could be a path has no file.
 */
export function policyConfigFile(stack: string, dir: string = POLICY_CONFIG_DIR): string | undefined {
  const name = stack.split("/").at(-1) ?? "";
  if (!/^[A-Za-z0-9_.-]+$/.test(name) || /^\.+$/.test(name)) return undefined;
  return path.join(dir, `${name}.json`);
}

/**
 * The committed pack config of a stack, or undefined when the stack has none. None means the
 * policies' own defaults, which relax nothing: a stack named `prod` or `production-eu` without a
 * file of its own is checked as production whatever its `rollout:tier` says (STAGING_TIER_KEY
 * in rules/util.ts).
 */
export function loadPolicyConfig(
  stack: string,
  dir: string = POLICY_CONFIG_DIR,
): Record<string, unknown> | undefined {
  const file = policyConfigFile(stack, dir);
  if (file === undefined || !fs.existsSync(file)) return undefined;
  const context = `policy pack config ${file}`;
  const config = readInputDocument(file, "policy pack config", {
    invalid: `${context} is not valid JSON`,
    context,
    json: true,
  });
  if (config === null || typeof config !== "object" || Array.isArray(config))
    throw new RolloutInputError(
      `${context}: expected an object of policy name -> level or config, got ${describeReceived(config)}`,
    );
  return config as Record<string, unknown>;
}

type ConfigEntry =
  EnforcementLevel | ({ enforcementLevel?: EnforcementLevel } & Record<string, unknown>) | undefined;

function levelOf(entry: ConfigEntry): EnforcementLevel | undefined {
  return typeof entry === "string" ? entry : entry?.enforcementLevel;
}

/**
 * The engine's resolution: a policy's own config entry, then the pack-wide `all`, then the
 * policy's declared level (the pack declares none, so the SDK's "advisory" last).
 */
export function enforcementLevelOf(policy: Policy, config: Record<string, unknown>): EnforcementLevel {
  return (
    levelOf(config[policy.name] as ConfigEntry) ??
    levelOf(config.all as ConfigEntry) ??
    policy.enforcementLevel ??
    "advisory"
  );
}

function configPropertiesOf(policy: Policy, config: Record<string, unknown>): Record<string, unknown> {
  const entry = config[policy.name] as ConfigEntry;
  const given: Record<string, unknown> = typeof entry === "object" ? { ...entry } : {};
  delete given.enforcementLevel;
  return configOf(
    { getConfig: <T extends object>() => given as T },
    policy.configSchema ?? { properties: {} },
  );
}

const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** Props as the engine hands them to policies: plain JSON, secrets unwrapped, undefined keys dropped. */
function enginePlain(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(enginePlain);
  if (value === null || typeof value !== "object") return value;
  const record = value as Record<string, unknown>;
  if (record[SECRET_SIG_KEY] === SECRET_SIG) return enginePlain(record.value);
  if (Object.getPrototypeOf(value) !== Object.prototype) return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(record)) if (v !== undefined) out[key] = enginePlain(v);
  return out;
}

class NotApplicable extends Error {}

const OPTIONS: PolicyResourceOptions = {
  protect: false,
  ignoreChanges: [],
  aliases: [],
  customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
  additionalSecretOutputs: [],
};

function urnOf(stack: string, r: OfflineResource): string {
  return `urn:pulumi:${stack}::staged-rollout::${r.type}::${r.name}`;
}

function isTypeOf(type: string, resourceClass: unknown): boolean {
  const cls = resourceClass as { __pulumiType?: unknown; isInstance?: (o: unknown) => boolean };
  if (typeof cls.__pulumiType === "string") return cls.__pulumiType === type;
  return typeof cls.isInstance === "function" && cls.isInstance({ __pulumiType: type }) === true;
}

function pulumiTypeOf(fn: unknown): string | undefined {
  const type = (fn as { __pulumiType?: unknown }).__pulumiType;
  return typeof type === "string" && type !== "" ? type : undefined;
}

interface Run {
  policy: Policy;
  level: "mandatory" | "advisory";
  getConfig: <T extends object>() => T;
  violations: PlanViolation[];
}

/** The pack's version, as the engine reads it from policies/package.json. */
const PACK_VERSION = (
  readInputDocument(path.join(__dirname, "package.json"), "policies/package.json", {
    invalid: "policies/package.json is not valid JSON",
    context: "policies/package.json",
  }) as { version: string }
).version;

/**
 * Call one validation on `what` (`type::name`, or "stack"). Like the engine: a value unknown at
 * preview is an advisory note that the policy could not run (never silently nothing, never a
 * failure); not-applicable is no violation; anything else fails the run.
 */
async function guarded(run: Run, what: string, call: () => Promise<void> | void): Promise<void> {
  try {
    await call();
  } catch (error) {
    if (error instanceof NotApplicable) return;
    if (isUnknownValueError(error)) {
      run.violations.push({
        policy: run.policy.name,
        enforcementLevel: "advisory",
        message: redactSecrets(
          `can't run policy '${run.policy.name}' from policy pack '${PACK_NAME}@v${PACK_VERSION}' during preview: ${errorMessage(error)}`,
        ),
        resource: what,
      });
      return;
    }
    throw new Error(
      redactSecrets(
        `policy ${run.policy.name} failed on ${what === "stack" ? "the stack" : what}: ${errorMessage(error)}`,
      ),
      { cause: error },
    );
  }
}

function resourceArgs(stack: string, r: OfflineResource, run: Run): ResourceValidationArgs {
  const props = unknownCheckingProxy(enginePlain(r.inputs) as Record<string, unknown>);
  return {
    type: r.type,
    props,
    urn: urnOf(stack, r),
    name: r.name,
    opts: OPTIONS,
    stackTags: new Map(),
    isType: (cls) => isTypeOf(r.type, cls),
    asType: ((cls: unknown) =>
      isTypeOf(r.type, cls) ? props : undefined) as ResourceValidationArgs["asType"],
    getConfig: run.getConfig,
    notApplicable: (reason?: string): never => {
      throw new NotApplicable(reason);
    },
  };
}

function policyResource(stack: string, r: OfflineResource): PolicyResource {
  const props = unknownCheckingProxy(enginePlain(r.inputs) as Record<string, unknown>);
  return {
    type: r.type,
    props,
    urn: urnOf(stack, r),
    name: r.name,
    opts: OPTIONS,
    dependencies: [],
    propertyDependencies: {},
    isType: (cls) => isTypeOf(r.type, cls),
    asType: ((cls: unknown) => (isTypeOf(r.type, cls) ? props : undefined)) as PolicyResource["asType"],
  };
}

/** Run every policy of the pack (or `policies`) over recorded resources, the way the engine would. */
export async function runPoliciesOffline(
  resources: readonly OfflineResource[],
  options: OfflineOptions,
  policies: readonly Policy[] = allPolicies,
): Promise<PlanViolation[]> {
  const config = options.policyConfig ?? loadPolicyConfig(options.stack) ?? {};
  const byUrn = new Map(resources.map((r) => [urnOf(options.stack, r), `${r.type}::${r.name}`]));
  const violations: PlanViolation[] = [];
  for (const policy of policies) {
    const declared = enforcementLevelOf(policy, config);
    if (declared === "disabled") continue;
    const properties = configPropertiesOf(policy, config);
    const run: Run = {
      policy,
      // Remediation is not run offline; like the engine, a violation it did not fix is mandatory.
      level: declared === "advisory" ? "advisory" : "mandatory",
      getConfig: <T extends object>() => ({ ...properties }) as T,
      violations,
    };
    const report = (resource: string) => (message: string, urn?: string) =>
      violations.push({
        policy: policy.name,
        enforcementLevel: run.level,
        // Whatever a policy echoes of what it checked: a secret value never leaves in a message.
        message: redactSecrets(message),
        resource: urn ? (byUrn.get(urn) ?? urn) : resource,
      });

    if ("validateStack" in policy) {
      const args: StackValidationArgs = {
        resources: resources.map((r) => policyResource(options.stack, r)),
        stackTags: new Map(),
        getConfig: run.getConfig,
        notApplicable: (reason?: string): never => {
          throw new NotApplicable(reason);
        },
      };
      await guarded(run, "stack", () => policy.validateStack(args, report("stack")));
      continue;
    }
    const validations: ResourceValidation[] = Array.isArray(policy.validateResource)
      ? policy.validateResource
      : policy.validateResource
        ? [policy.validateResource]
        : [];
    for (const r of resources) {
      for (const validate of validations) {
        // The engine's fast path: a validation tagged with a type token sees only that type.
        const only = pulumiTypeOf(validate);
        if (only !== undefined && only !== r.type) continue;
        await guarded(run, `${r.type}::${r.name}`, () =>
          validate(resourceArgs(options.stack, r, run), report(`${r.type}::${r.name}`)),
        );
      }
    }
  }
  return violations;
}

/** Runs policies over recorded resources for a stack (its name picks the pack config). */
export type PolicyRunner = (
  resources: readonly OfflineResource[],
  config: { stack: string },
) => Promise<PlanViolation[]>;

/** The runner `cli/offlinePlan.ts` calls: the stack's name picks its pack config. */
export const offlinePolicyRunner: PolicyRunner = (resources, config) =>
  runPoliciesOffline(resources, { stack: config.stack });
