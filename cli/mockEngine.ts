import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { TARGET_GROUP_NAME_MAX } from "../rollout/names";

/**
 * The one mocks helper for Pulumi's mock engine, used by `npm run plan` and by the tests. It
 * records every registered resource with its inputs, returns realistic state (ids, ARNs, DNS
 * names) and throws on any data-source call it does not know, so neither a plan nor a test
 * passes on a silently empty lookup.
 */

/** Resource options as the engine receives them (mocks are not shown them; the recorder is). */
export interface RecordedOptions {
  protect: boolean;
  retainOnDelete: boolean;
  ignoreChanges: string[];
  /** Names (URN name part) of the resources this one was registered to wait for. */
  dependsOn: string[];
}

export interface RecordedResource {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
  /** Provider reference the engine was given. */
  provider?: string;
  /** Filled in by `captureOptions` when the recorder is attached to the engine. */
  options?: RecordedOptions;
}

export interface MockOptions {
  region?: string;
  /** Answer for `aws:eks/getCluster`: endpoint and CA of the cluster named in `rollout:cluster.name`. */
  eksCluster?: { endpoint: string; certificateAuthorityData: string };
  accountId?: string;
  /** Answer for `aws:ssm/getParametersByPath` on the latch path: the rollback latch's parameters. */
  latchParameters?: { name: string; value: string }[];
  /**
   * The state record SSM holds for the stack (the parameter's value), which `aws:ssm/getParametersByPath`
   * on the stack's hierarchy answers as its `state` parameter. Default: none (a first deploy).
   */
  deployedState?: string;
  /** The revision the rollout CLI claimed in SSM (`<stack path>/revision`), answered beside the state record. Default: none. */
  revisionClaim?: string;
}

const ARN_SERVICE: Record<string, string> = {
  "aws:lb/loadBalancer:LoadBalancer": "elasticloadbalancing",
  "aws:lb/targetGroup:TargetGroup": "elasticloadbalancing",
  "aws:lb/listener:Listener": "elasticloadbalancing",
  "aws:lb/listenerRule:ListenerRule": "elasticloadbalancing",
};

/**
 * The input the provider fills with an auto-generated physical name (`<name>-<7 hex>`) when
 * the program gives none. The mock does the same, deterministically, so links such as the
 * database's subnet group name appear in plans and tests.
 */
const AUTO_NAMED: Record<string, string> = {
  "aws:backup/plan:Plan": "name",
  "aws:backup/selection:Selection": "name",
  "aws:backup/vault:Vault": "name",
  "aws:cloudwatch/logGroup:LogGroup": "name",
  "aws:cloudwatch/metricAlarm:MetricAlarm": "name",
  "aws:ec2/securityGroup:SecurityGroup": "name",
  "aws:iam/role:Role": "name",
  "aws:iam/rolePolicy:RolePolicy": "name",
  "aws:kms/alias:Alias": "name",
  "aws:lambda/function:Function": "name",
  "aws:lb/loadBalancer:LoadBalancer": "name",
  "aws:lb/targetGroup:TargetGroup": "name",
  "aws:rds/instance:Instance": "identifier",
  "aws:rds/subnetGroup:SubnetGroup": "name",
  "aws:sns/topic:Topic": "name",
  "aws:sqs/queue:Queue": "name",
};

/** AWS length limits of physical names, checked as the provider would. */
const NAME_LIMITS: Record<string, number> = {
  "aws:lb/loadBalancer:LoadBalancer": TARGET_GROUP_NAME_MAX,
  "aws:lb/targetGroup:TargetGroup": TARGET_GROUP_NAME_MAX,
  "aws:rds/instance:Instance": 63,
  "aws:backup/vault:Vault": 50,
  "aws:backup/plan:Plan": 50,
  "aws:backup/selection:Selection": 50,
  "aws:iam/role:Role": 64,
  "aws:lambda/function:Function": 64,
  "aws:sqs/queue:Queue": 80,
  "aws:sns/topic:Topic": 256,
  "aws:ec2/securityGroup:SecurityGroup": 255,
  "aws:rds/subnetGroup:SubnetGroup": 255,
};

/** `<name>-<7 hex>` (or `<namePrefix><7 hex>`), stable for a given resource. */
export function autoName(type: string, name: string, namePrefix?: string): string {
  const suffix = createHash("sha256").update(`${type}::${name}`).digest("hex").slice(0, 7);
  return namePrefix === undefined ? `${name}-${suffix}` : `${namePrefix}${suffix}`;
}

/** The URN's last part is the resource name. */
const urnName = (urn: string) => urn.slice(urn.lastIndexOf("::") + 2);

function arnFor(type: string, name: string, region: string, account: string): string {
  const [pkg, mod] = type.split(":");
  const service = ARN_SERVICE[type] ?? (mod ? mod.split("/")[0]! : "unknown");
  if (type === "aws:lb/targetGroup:TargetGroup")
    return `arn:aws:elasticloadbalancing:${region}:${account}:targetgroup/${name}/0123456789abcdef`;
  if (type === "aws:lb/loadBalancer:LoadBalancer")
    return `arn:aws:elasticloadbalancing:${region}:${account}:loadbalancer/app/${name}/0123456789abcdef`;
  if (type === "aws:lb/listener:Listener")
    return `arn:aws:elasticloadbalancing:${region}:${account}:listener/app/alb/0123456789abcdef/${name}`;
  if (type === "aws:lb/listenerRule:ListenerRule")
    return `arn:aws:elasticloadbalancing:${region}:${account}:listener-rule/app/alb/0123456789abcdef/listener/${name}`;
  if (type === "aws:rds/instance:Instance") return `arn:aws:rds:${region}:${account}:db:${name}`;
  if (type === "aws:sns/topic:Topic") return `arn:aws:sns:${region}:${account}:${name}`;
  if (type === "aws:lambda/function:Function") return `arn:aws:lambda:${region}:${account}:function:${name}`;
  if (type === "aws:ssm/parameter:Parameter")
    return `arn:aws:ssm:${region}:${account}:parameter${name.startsWith("/") ? "" : "/"}${name}`;
  if (type === "aws:iam/role:Role") return `arn:aws:iam::${account}:role/${name}`;
  return `arn:aws:${service}:${region}:${account}:${pkg === "aws" ? "" : `${pkg}/`}${name}`;
}

export class ResourceRecorder {
  readonly resources: RecordedResource[] = [];
  readonly calls: { token: string; inputs: Record<string, unknown> }[] = [];
  private readonly pendingOptions = new Map<string, RecordedOptions>();

  constructor(private readonly options: MockOptions = {}) {}

  /**
   * Record each resource's options (protect, retainOnDelete, ignoreChanges, dependsOn) from
   * the register request the engine receives. Call right after `setMocks`.
   */
  captureOptions(): void {
    type Request = {
      getType(): string;
      getName(): string;
      getProtect(): boolean | undefined;
      getRetainondelete(): boolean | undefined;
      getIgnorechangesList(): string[];
      getDependenciesList(): string[];
    };
    const monitor = pulumi.runtime.getMonitor() as unknown as {
      registerResource(req: Request, callback: unknown): unknown;
    };
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req, callback) => {
      this.pendingOptions.set(`${req.getType()}::${req.getName()}`, {
        protect: req.getProtect() ?? false,
        retainOnDelete: req.getRetainondelete() ?? false,
        ignoreChanges: req.getIgnorechangesList(),
        dependsOn: req.getDependenciesList().map(urnName).sort(),
      });
      return register(req, callback);
    };
  }

  mocks(): pulumi.runtime.Mocks {
    const region = this.options.region ?? "eu-west-1";
    const account = this.options.accountId ?? "123456789012";
    return {
      newResource: (args: pulumi.runtime.MockResourceArgs) => {
        const options = this.pendingOptions.get(`${args.type}::${args.name}`);
        this.resources.push({
          type: args.type,
          name: args.name,
          inputs: args.inputs,
          provider: args.provider,
          ...(options ? { options } : {}),
        });
        const state: Record<string, unknown> = { ...args.inputs };
        const nameField = AUTO_NAMED[args.type];
        if (nameField && state[nameField] === undefined) {
          state[nameField] = autoName(args.type, args.name, args.inputs.namePrefix as string | undefined);
        }
        const physicalName = String((nameField && state[nameField]) ?? args.inputs.name ?? args.name);
        if (NAME_LIMITS[args.type] !== undefined && physicalName.length > NAME_LIMITS[args.type]!) {
          // What the provider answers: a name AWS would refuse fails the plan, not the deploy.
          throw new Error(
            `${args.type} ${args.name}: name ${JSON.stringify(physicalName)} is ${physicalName.length} characters; AWS allows ${NAME_LIMITS[args.type]}`,
          );
        }
        state.arn = arnFor(args.type, physicalName, region, account);
        switch (args.type) {
          case "aws:lb/loadBalancer:LoadBalancer":
            state.dnsName = `${physicalName}-1234567890.${region}.elb.amazonaws.com`;
            state.arnSuffix = `app/${physicalName}/0123456789abcdef`;
            state.zoneId = "Z32O12XQLNTSW2";
            break;
          case "aws:lb/targetGroup:TargetGroup":
            state.arnSuffix = `targetgroup/${physicalName}/0123456789abcdef`;
            break;
          case "aws:rds/instance:Instance":
            state.endpoint = `${physicalName}.abcdefghijkl.${region}.rds.amazonaws.com:3306`;
            state.address = `${physicalName}.abcdefghijkl.${region}.rds.amazonaws.com`;
            state.resourceId = "db-ABCDEFGHIJKLMNOP";
            break;
          case "aws:kms/key:Key":
            state.keyId = "1234abcd-12ab-34cd-56ef-1234567890ab";
            break;
          case "aws:sns/topic:Topic":
            break;
        }
        return { id: `${args.name}-id`, state };
      },
      call: (args: pulumi.runtime.MockCallArgs) => {
        this.calls.push({ token: args.token, inputs: args.inputs });
        switch (args.token) {
          case "aws:ssm/getParametersByPath:getParametersByPath": {
            // As SSM answers: the latch hierarchy holds the latch; the stack's own hierarchy
            // (not recursive) holds the state record directly under it.
            const path = String(args.inputs.path);
            const params = path.endsWith("/latch")
              ? (this.options.latchParameters ?? [])
              : [
                  ...(this.options.deployedState !== undefined
                    ? [{ name: `${path}/state`, value: this.options.deployedState }]
                    : []),
                  ...(this.options.revisionClaim !== undefined
                    ? [{ name: `${path}/revision`, value: this.options.revisionClaim }]
                    : []),
                ];
            return {
              path: args.inputs.path,
              names: params.map((p) => p.name),
              values: params.map((p) => p.value),
              types: params.map(() => "String"),
              arns: params.map((p) => `arn:aws:ssm:${region}:${account}:parameter${p.name}`),
              id: args.inputs.path,
            };
          }
          case "aws:eks/getCluster:getCluster": {
            const name = String(args.inputs.name);
            const cluster = this.options.eksCluster ?? {
              endpoint: `https://${createHash("sha256").update(name).digest("hex").slice(0, 32).toUpperCase()}.gr7.${region}.eks.amazonaws.com`,
              certificateAuthorityData: Buffer.from(
                `-----BEGIN CERTIFICATE-----\nmock CA of ${name}\n-----END CERTIFICATE-----\n`,
              ).toString("base64"),
            };
            return {
              id: name,
              name,
              arn: `arn:aws:eks:${region}:${account}:cluster/${name}`,
              endpoint: cluster.endpoint,
              certificateAuthorities: [{ data: cluster.certificateAuthorityData }],
              status: "ACTIVE",
              version: "1.31",
              platformVersion: "eks.12",
              roleArn: `arn:aws:iam::${account}:role/${name}-cluster`,
              identities: [{ oidcs: [{ issuer: `https://oidc.eks.${region}.amazonaws.com/id/MOCK` }] }],
              vpcConfig: {
                clusterSecurityGroupId: "sg-0cluster0000000000",
                subnetIds: [],
                securityGroupIds: [],
              },
              tags: {},
            };
          }
          case "aws:index/getCallerIdentity:getCallerIdentity":
            return {
              accountId: account,
              arn: `arn:aws:iam::${account}:user/plan`,
              userId: "AIDPLAN",
              id: account,
            };
          case "aws:index/getRegion:getRegion":
            return {
              name: region,
              region,
              id: region,
              description: region,
              endpoint: `ec2.${region}.amazonaws.com`,
            };
          case "aws:index/getPartition:getPartition":
            return {
              partition: "aws",
              dnsSuffix: "amazonaws.com",
              id: "aws",
              reverseDnsPrefix: "com.amazonaws",
            };
          default:
            throw new Error(
              `mocks: unexpected data-source call ${args.token} (add it to cli/mockEngine.ts on purpose)`,
            );
        }
      },
    };
  }

  ofType(type: string): RecordedResource[] {
    return this.resources.filter((r) => r.type === type);
  }

  named(name: string): RecordedResource {
    const found = this.resources.find((r) => r.name === name);
    if (!found)
      throw new Error(`no resource named ${name}; have ${this.resources.map((r) => r.name).join(", ")}`);
    return found;
  }
}

/** Resolve an Output in a test. */
export function valueOf<T>(output: pulumi.Output<T> | pulumi.Input<T>): Promise<T> {
  return new Promise((resolve) => pulumi.output(output).apply((v) => resolve(v as T)));
}
