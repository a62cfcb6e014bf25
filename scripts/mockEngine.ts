import * as pulumi from "@pulumi/pulumi";

/**
 * The one mocks helper for Pulumi's mock engine, used by `npm run plan` and by the tests. It
 * records every registered resource with its inputs, returns realistic state (ids, ARNs, DNS
 * names) and throws on any data-source call it does not know, so neither a plan nor a test
 * passes on a silently empty lookup.
 */

export interface RecordedResource {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
  /** Pulumi resource options seen by the engine (protect, retainOnDelete are not exposed to mocks). */
  provider?: string;
}

export interface MockOptions {
  region?: string;
  accountId?: string;
  /** Answer for `aws:ssm/getParametersByPath`: the rollback latch path's parameters. */
  latchParameters?: { name: string; value: string }[];
}

const ARN_SERVICE: Record<string, string> = {
  "aws:lb/loadBalancer:LoadBalancer": "elasticloadbalancing",
  "aws:lb/targetGroup:TargetGroup": "elasticloadbalancing",
  "aws:lb/listener:Listener": "elasticloadbalancing",
  "aws:lb/listenerRule:ListenerRule": "elasticloadbalancing",
};

function arnFor(type: string, name: string, region: string, account: string): string {
  const [pkg, mod] = type.split(":");
  const service = ARN_SERVICE[type] ?? (mod ? mod.split("/")[0]! : "unknown");
  if (type === "aws:lb/targetGroup:TargetGroup")
    return `arn:aws:elasticloadbalancing:${region}:${account}:targetgroup/${name.slice(0, 32)}/0123456789abcdef`;
  if (type === "aws:lb/loadBalancer:LoadBalancer")
    return `arn:aws:elasticloadbalancing:${region}:${account}:loadbalancer/app/${name.slice(0, 32)}/0123456789abcdef`;
  if (type === "aws:lb/listener:Listener")
    return `arn:aws:elasticloadbalancing:${region}:${account}:listener/app/alb/0123456789abcdef/${name}`;
  if (type === "aws:lb/listenerRule:ListenerRule")
    return `arn:aws:elasticloadbalancing:${region}:${account}:listener-rule/app/alb/0123456789abcdef/listener/${name}`;
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

  constructor(private readonly options: MockOptions = {}) {}

  mocks(): pulumi.runtime.Mocks {
    const region = this.options.region ?? "eu-west-1";
    const account = this.options.accountId ?? "123456789012";
    return {
      newResource: (args: pulumi.runtime.MockResourceArgs) => {
        this.resources.push({
          type: args.type,
          name: args.name,
          inputs: args.inputs,
          provider: args.provider,
        });
        const physicalName = (args.inputs.name as string | undefined) ?? args.name;
        const state: Record<string, unknown> = {
          ...args.inputs,
          arn: arnFor(args.type, physicalName, region, account),
        };
        switch (args.type) {
          case "aws:lb/loadBalancer:LoadBalancer":
            state.dnsName = `${physicalName}-1234567890.${region}.elb.amazonaws.com`;
            state.arnSuffix = `app/${physicalName}/0123456789abcdef`;
            state.zoneId = "Z32O12XQLNTSW2";
            break;
          case "aws:lb/targetGroup:TargetGroup":
            state.arnSuffix = `targetgroup/${physicalName.slice(0, 32)}/0123456789abcdef`;
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
            const params = this.options.latchParameters ?? [];
            return {
              path: args.inputs.path,
              names: params.map((p) => p.name),
              values: params.map((p) => p.value),
              types: params.map(() => "String"),
              arns: params.map((p) => `arn:aws:ssm:${region}:${account}:parameter${p.name}`),
              id: args.inputs.path,
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
              `mocks: unexpected data-source call ${args.token} (add it to scripts/mockEngine.ts on purpose)`,
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
