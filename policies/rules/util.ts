import * as policySdk from "@pulumi/policy";
import type {
  PolicyConfigSchema,
  PolicyResource,
  ReportViolation,
  ResourceValidation,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidation,
  StackValidationArgs,
  StackValidationPolicy,
} from "@pulumi/policy";
import { errorMessage } from "../../rollout/errors";
import { loadPlaybook } from "../../rollout/loaders";
import { TARGET_GROUP_NAME_MAX } from "../../rollout/names";
import { getPhase } from "../../rollout/phases";
import type { Playbook } from "../../rollout/playbook";
import { RolloutState, STATE_PARAMETER_TYPE, STATE_RESOURCE_NAME } from "../../rollout/state";

/**
 * Helpers shared by the rule files: resource type tokens, type-filtered validations, the
 * rollout state record, policy config with defaults, IAM documents and unknown-at-preview
 * values. Rules stay declarative; everything fiddly lives here once.
 */

export type { ResourceValidationPolicy, StackValidationPolicy };
export type Policy = ResourceValidationPolicy | StackValidationPolicy;

/** Pulumi type tokens of the resources the pack inspects. */
export const TYPES = {
  listener: "aws:lb/listener:Listener",
  listenerRule: "aws:lb/listenerRule:ListenerRule",
  loadBalancer: "aws:lb/loadBalancer:LoadBalancer",
  targetGroup: "aws:lb/targetGroup:TargetGroup",
  rdsInstance: "aws:rds/instance:Instance",
  rdsSnapshot: "aws:rds/snapshot:Snapshot",
  backupVault: "aws:backup/vault:Vault",
  backupSelection: "aws:backup/selection:Selection",
  metricAlarm: "aws:cloudwatch/metricAlarm:MetricAlarm",
  compositeAlarm: "aws:cloudwatch/compositeAlarm:CompositeAlarm",
  snsTopic: "aws:sns/topic:Topic",
  iamRole: "aws:iam/role:Role",
  iamRolePolicy: "aws:iam/rolePolicy:RolePolicy",
  iamRolePolicyAttachment: "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
  iamPolicy: "aws:iam/policy:Policy",
  ssmParameter: STATE_PARAMETER_TYPE,
  k8sSecret: "kubernetes:core/v1:Secret",
  k8sDeployment: "kubernetes:apps/v1:Deployment",
} as const;

// ---------------------------------------------------------------------------------------
// Unknown values at preview

/*
 * The engine wraps props in `unknownCheckingProxy`: reading a value that is unknown during
 * `pulumi preview` throws `UnknownValueError`, which the engine turns into an advisory "can't
 * run this policy during preview" note instead of a violation. Rules therefore read props
 * normally and let that error escape. Only where a rule has a sound answer without the value
 * (an ARN that is only compared when known, a key whose presence is what matters) does it use
 * `known()`, which catches exactly that error and nothing else.
 */
// The SDK re-exports these from an internal module whose typings are empty: type them here.
export const unknownCheckingProxy = policySdk.unknownCheckingProxy as <T extends object>(value: T) => T;
export const UnknownValueError = policySdk.UnknownValueError as new (...args: never[]) => Error;

export function isUnknownValueError(error: unknown): boolean {
  return error instanceof UnknownValueError;
}

/** The value `read` returns, or `undefined` when it is unknown at preview. Other errors propagate. */
export function known<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch (error) {
    if (isUnknownValueError(error)) return undefined;
    throw error;
  }
}

/**
 * Run `check` on every item, even after one meets a value unknown at preview: the first such
 * error is rethrown at the end, so the engine still notes that the policy could not fully run,
 * but one unknown item no longer hides violations in the others. Other errors propagate.
 */
export function forEachKnown<T>(items: readonly T[], check: (item: T) => void): void {
  let unknown: unknown;
  for (const item of items) {
    try {
      check(item);
    } catch (error) {
      if (!isUnknownValueError(error)) throw error;
      unknown ??= error;
    }
  }
  if (unknown !== undefined) throw unknown;
}

/**
 * Whether `obj` has `key` set to something (known or unknown). Reads the property descriptor,
 * which the proxy forwards untouched, so an unknown value counts as set instead of throwing.
 */
export function isSet(obj: unknown, key: string): boolean {
  if (obj === null || typeof obj !== "object") return false;
  const value: unknown = Object.getOwnPropertyDescriptor(obj, key)?.value;
  return value !== undefined && value !== null && value !== "";
}

// ---------------------------------------------------------------------------------------
// Type-filtered validations

type Props = Record<string, unknown>;

/**
 * A resource validation for one type token. The token is attached the way the SDK's
 * `validateResourceOfType` attaches it, so the engine skips other types without a call; the
 * pack does not import @pulumi/aws or @pulumi/kubernetes just to name a type.
 */
export function forType(
  type: string,
  validate: (props: Props, args: ResourceValidationArgs, report: ReportViolation) => void,
): ResourceValidation {
  const fn: ResourceValidation = (args, report) => {
    if (args.type !== type) return;
    validate(args.props, args, report);
  };
  return Object.assign(fn, { __pulumiType: type });
}

export function ofType(resources: readonly PolicyResource[], ...types: string[]): PolicyResource[] {
  return resources.filter((r) => types.includes(r.type));
}

/** `enabled !== false`-style reads of optional nested objects, tolerant of absent parents. */
export function field(obj: unknown, ...path: string[]): unknown {
  let cursor = obj;
  for (const key of path) {
    if (cursor === null || typeof cursor !== "object") return undefined;
    cursor = (cursor as Record<string, unknown>)[key];
  }
  return cursor;
}

export function asArray(value: unknown): unknown[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

// ---------------------------------------------------------------------------------------
// Policy config

/**
 * The policy's config: the schema's defaults overlaid with what the engine hands over. The
 * Pulumi CLI already fills defaults in, but older CLIs and the offline twin may not; a rule
 * must never see `undefined` for a threshold that has a default.
 */
export function configOf<T extends object>(
  args: { getConfig<C extends object>(): C },
  schema: PolicyConfigSchema,
): T {
  const defaults: Record<string, unknown> = {};
  for (const [key, definition] of Object.entries(schema.properties)) {
    if (typeof definition === "object" && definition !== null && "default" in definition) {
      defaults[key] = definition.default;
    }
  }
  return { ...defaults, ...args.getConfig<Record<string, unknown>>() } as T;
}

// ---------------------------------------------------------------------------------------
// The rollout state record

export type StateLookup =
  | { status: "missing" }
  | { status: "unknown"; resource: PolicyResource }
  | { status: "invalid"; resource: PolicyResource; reason: string }
  | { status: "ok"; resource: PolicyResource; state: RolloutState; playbook: Playbook };

/**
 * Find the `rollout-state` SSM parameter among the stack's resources and parse its value.
 * `unknown` when the value cannot be known at preview; `invalid` when it is not a
 * RolloutState, names a playbook that does not load or a phase the playbook lacks.
 */
export function lookupState(resources: readonly PolicyResource[]): StateLookup {
  const resource = resources.find((r) => r.type === TYPES.ssmParameter && r.name === STATE_RESOURCE_NAME);
  if (!resource) return { status: "missing" };
  // The program writes the record as `insecureValue` (it holds nothing secret, and a secret
  // value would be redacted in diffs); `value` is accepted for hand-written state.
  const field = isSet(resource.props, "insecureValue") ? "insecureValue" : "value";
  if (!isSet(resource.props, field)) return { status: "invalid", resource, reason: "it has no value" };
  const value = known(() => resource.props[field] as unknown);
  if (value === undefined) return { status: "unknown", resource };
  if (typeof value !== "string")
    return { status: "invalid", resource, reason: "its value is not a JSON string" };
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch {
    return { status: "invalid", resource, reason: "its value is not valid JSON" };
  }
  const parsed = RolloutState.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return { status: "invalid", resource, reason: `${issue.path.join(".") || "value"}: ${issue.message}` };
  }
  const state = parsed.data;
  let playbook: Playbook;
  try {
    playbook = loadPlaybook(state.playbook);
  } catch (error) {
    return { status: "invalid", resource, reason: errorMessage(error) };
  }
  try {
    getPhase(playbook, state.phase);
  } catch (error) {
    return { status: "invalid", resource, reason: errorMessage(error) };
  }
  return { status: "ok", resource, state, playbook };
}

export interface RolloutContext {
  state: RolloutState;
  playbook: Playbook;
  /** The state parameter itself, to attach stack-wide violations to. */
  stateResource: PolicyResource;
}

/*
 * The tier is the pack's decision, not the stack's. A stack config that says `rollout:tier:
 * staging` is only a claim: production relabelled staging (or a stack named `prod` or
 * `production-eu`, which has no pack config of its own) would switch off GO decisions,
 * deletion protection, Multi-AZ, the backup plan and alarm actions. So a relaxation holds only
 * where the policy's own pack config lists the stack in STAGING_TIER_KEY
 * (`"stagingTierStacks": ["staging"]` in policies/config/staging.json); everywhere else, with no
 * pack config at all included, every check runs as in production, and rollout-state-recorded
 * reports the unbacked claim. The list names stacks, so the staging file passed by mistake with
 * `--policy-pack-config` to another stack relaxes nothing. Each policy reads only its own entry
 * (the engine hands a policy nothing else), so each relaxed policy carries the list.
 */

/** The pack config key, per policy, listing the stacks it lets run with the staging tier's relaxations. */
export const STAGING_TIER_KEY = "stagingTierStacks";

/** The stack a resource belongs to, from its URN (`urn:pulumi:<stack>::<project>::...`), as the engine names it. */
export function stackOfUrn(urn: string): string | undefined {
  return /^urn:pulumi:([^:]+)::/.exec(urn)?.[1];
}

/** The stacks a policy's pack config lets run with the staging tier (STAGING_TIER_KEY). */
export function stagingTierStacks(args: { getConfig<C extends object>(): C }): string[] {
  const listed = args.getConfig<Record<string, unknown>>()[STAGING_TIER_KEY];
  return Array.isArray(listed) ? listed.filter((s): s is string => typeof s === "string") : [];
}

/**
 * The tier the pack enforces on the stack of `stateResource`: staging only where the state
 * claims it and the policy's pack config lists the stack; production otherwise.
 */
export function enforcedTier(
  state: RolloutState,
  stateResource: PolicyResource,
  args: { getConfig<C extends object>(): C },
): RolloutState["tier"] {
  if (state.tier !== "staging") return "production";
  const stack = stackOfUrn(stateResource.urn) ?? state.stack;
  return stagingTierStacks(args).includes(stack) ? "staging" : "production";
}

/**
 * A stack validation that needs the rollout state. Without a readable state it reports
 * nothing: a missing or malformed state is `rollout-state-recorded`'s to report (once, with
 * its own fix), and a value unknown at preview would only produce guesses. `productionOnly`
 * rules return early only when the enforced tier (`enforcedTier`) is staging: those checks (GO
 * decisions, deletion protection, Multi-AZ, the backup plan, alarm actions) have no meaning for
 * a rehearsal stack, but a stack is a rehearsal only where the pack config says so.
 */
export function withRolloutState(
  validate: (context: RolloutContext, args: StackValidationArgs, report: ReportViolation) => void,
  options: { productionOnly?: boolean } = {},
): StackValidation {
  return (args, report) => {
    const found = lookupState(args.resources);
    if (found.status !== "ok") return;
    if (options.productionOnly && enforcedTier(found.state, found.resource, args) !== "production") return;
    validate({ state: found.state, playbook: found.playbook, stateResource: found.resource }, args, report);
  };
}

// ---------------------------------------------------------------------------------------
// ALB actions

export interface ForwardTarget {
  /** The target group's ARN, or undefined when it is unknown at preview. */
  arn: unknown;
  weight: number;
}

/**
 * Every forward of a rule's `actions` or a listener's `defaultActions`: `forward` blocks
 * (weighted, one or more target groups) and plain single-target forwards (`targetGroupArn`),
 * the latter as one target group of weight 1.
 */
export function forwards(actions: unknown): { targetGroups: ForwardTarget[]; stickiness: unknown }[] {
  return asArray(actions).flatMap((action) => {
    if (field(action, "type") !== "forward") return [];
    const forward = field(action, "forward");
    if (forward === undefined) {
      if (!isSet(action, "targetGroupArn")) return [];
      return [
        {
          targetGroups: [{ arn: known(() => field(action, "targetGroupArn")), weight: 1 }],
          stickiness: undefined,
        },
      ];
    }
    const targetGroups = asArray(field(forward, "targetGroups")).map((tg) => ({
      arn: known(() => field(tg, "arn")),
      weight: Number(field(tg, "weight") ?? 1),
    }));
    return [{ targetGroups, stickiness: field(forward, "stickiness") }];
  });
}

/** The colour a target group belongs to: its `colour` tag, else its Pulumi name (`<router>-<service>-<colour>-tg`). */
export function colourOf(targetGroup: PolicyResource): string | undefined {
  const tag = known(() => field(targetGroup.props, "tags", "colour"));
  if (typeof tag === "string" && tag !== "") return tag;
  return /-(blue|green)-tg$/.exec(targetGroup.name)?.[1];
}

/**
 * Whether an ARN (from a listener action) is the ARN of `targetGroup`: its `arn` when known
 * (an existing resource), else by the name in the ARN (`...:targetgroup/<name>/<id>`), which
 * is the target group's `name` (explicit, or auto-named by the provider from the resource
 * name plus a random suffix; the mock engine uses the resource name itself).
 */
export function isArnOf(arn: string, targetGroup: PolicyResource): boolean {
  const own = isSet(targetGroup.props, "arn") ? known(() => targetGroup.props.arn as unknown) : undefined;
  if (typeof own === "string") return own === arn;
  const inArn = /:targetgroup\/([^/]+)\//.exec(arn)?.[1];
  if (inArn === undefined) return false;
  const name = isSet(targetGroup.props, "name") ? known(() => targetGroup.props.name as unknown) : undefined;
  if (typeof name === "string") return inArn === name.slice(0, TARGET_GROUP_NAME_MAX);
  const base = targetGroup.name.slice(0, TARGET_GROUP_NAME_MAX);
  return inArn === base || inArn.startsWith(`${targetGroup.name}-`.slice(0, TARGET_GROUP_NAME_MAX));
}

/** Whether an action list forwards anywhere (single target group or weighted forward). */
export function forwardsAnywhere(actions: unknown): boolean {
  return asArray(actions).some((action) => field(action, "type") === "forward");
}

// ---------------------------------------------------------------------------------------
// IAM policy documents

export interface Statement {
  /** `Sid`, or `#<index>` when the statement has none. */
  label: string;
  effect: string;
  actions: string[];
  notActions: string[];
  resources: string[];
  conditionKeys: string[];
}

/** The statements of an IAM policy document given as JSON text or as an object. */
export function statementsOf(document: unknown): Statement[] {
  const doc = typeof document === "string" ? (JSON.parse(document) as unknown) : document;
  return asArray(field(doc, "Statement")).map((statement, index) => {
    const sid = field(statement, "Sid");
    return {
      label: typeof sid === "string" && sid !== "" ? sid : `#${index}`,
      effect: String(field(statement, "Effect") ?? "Allow"),
      actions: asArray(field(statement, "Action")).map(String),
      notActions: asArray(field(statement, "NotAction")).map(String),
      resources: asArray(field(statement, "Resource")).map(String),
      /** Condition keys the statement tests, whatever the operator (`cloudwatch:namespace`, ...). */
      conditionKeys: Object.values((field(statement, "Condition") ?? {}) as Record<string, unknown>).flatMap(
        (byKey) => (byKey !== null && typeof byKey === "object" ? Object.keys(byKey) : []),
      ),
    };
  });
}

/** IAM-style wildcard match (`*` and `?`), case-insensitive like IAM action names. */
export function wildcardMatch(pattern: string, value: string): boolean {
  const regex = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${regex}$`, "i").test(value);
}
