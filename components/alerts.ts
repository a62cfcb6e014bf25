import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { Severity } from "../rollout/playbook";

export const SEVERITIES: readonly Severity[] = ["critical", "warning", "info"];

export interface AlertTopicsArgs {
  stack: string;
  /** Addresses subscribed to `critical` and `warning` (info would drown them). Default: none. */
  emails: string[];
  /** HTTPS endpoints (Slack, PagerDuty), each on the severities it lists. Default: none. */
  https: { url: string; severities: Severity[] }[];
}

/**
 * One KMS-encrypted SNS topic per severity. The key policy lets CloudWatch, EventBridge and
 * the account use the key: without it, alarms cannot publish to an encrypted topic.
 */
export class AlertTopics extends pulumi.ComponentResource {
  readonly kmsKey: aws.kms.Key;
  readonly topics: Record<Severity, aws.sns.Topic>;

  constructor(name: string, args: AlertTopicsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("staged-rollout:alerts:AlertTopics", name, {}, opts);
    for (const endpoint of args.https) {
      if (!endpoint.url.startsWith("https://")) {
        throw new Error(
          `AlertTopics: https endpoint ${endpoint.url} is not https://; alerts leave AWS only over TLS`,
        );
      }
    }

    const account = aws.getCallerIdentityOutput({}, { parent: this }).accountId;
    this.kmsKey = new aws.kms.Key(
      `${name}-kms`,
      {
        description: `staged-rollout ${args.stack} alert topics`,
        enableKeyRotation: true,
        deletionWindowInDays: 30,
        policy: pulumi.jsonStringify({
          Version: "2012-10-17",
          Statement: [
            {
              Sid: "AccountAdministers",
              Effect: "Allow",
              Principal: { AWS: pulumi.interpolate`arn:aws:iam::${account}:root` },
              Action: "kms:*",
              Resource: "*",
            },
            {
              Sid: "AlarmsAndEventsPublish",
              Effect: "Allow",
              Principal: { Service: ["cloudwatch.amazonaws.com", "events.amazonaws.com"] },
              Action: ["kms:Decrypt", "kms:GenerateDataKey*"],
              Resource: "*",
            },
          ],
        }),
      },
      { parent: this },
    );

    const topic = (severity: Severity) =>
      new aws.sns.Topic(`${name}-${severity}`, { kmsMasterKeyId: this.kmsKey.id }, { parent: this });
    this.topics = { critical: topic("critical"), warning: topic("warning"), info: topic("info") };

    args.emails.forEach((email, i) => {
      for (const severity of ["critical", "warning"] as const) {
        new aws.sns.TopicSubscription(
          `${name}-${severity}-email-${i}`,
          { topic: this.topics[severity].arn, protocol: "email", endpoint: email },
          { parent: this },
        );
      }
    });
    args.https.forEach((endpoint, i) => {
      for (const severity of endpoint.severities) {
        new aws.sns.TopicSubscription(
          `${name}-${severity}-https-${i}`,
          {
            topic: this.topics[severity].arn,
            protocol: "https",
            endpoint: endpoint.url,
            endpointAutoConfirms: true,
          },
          { parent: this },
        );
      }
    });

    this.registerOutputs({ topics: Object.fromEntries(SEVERITIES.map((s) => [s, this.topics[s].arn])) });
  }
}
