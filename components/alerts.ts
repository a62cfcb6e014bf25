import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { accountAdministersKey } from "../rollout/keyPolicy";
import type { Severity } from "../rollout/playbook";

export const SEVERITIES: readonly Severity[] = ["critical", "warning", "info"];

export interface AlertTopicsArgs {
  stack: string;
  /** Addresses subscribed to `critical` and `warning` (info would drown them). Default: none. */
  emails: string[];
  /**
   * HTTPS endpoints (Slack, PagerDuty), each on the severities it lists. `autoConfirms`: the
   * endpoint confirms SNS subscriptions by itself. Default: true only for PagerDuty's SNS
   * integration (events.pagerduty.com); anything else stays pending until someone confirms it.
   * Default: no endpoints.
   */
  https: { url: string; severities: Severity[]; autoConfirms?: boolean }[];
}

/** Hosts whose SNS integration confirms the subscription itself. */
const AUTO_CONFIRMING_HOSTS = new Set(["events.pagerduty.com"]);
/** Slack incoming webhooks only accept `{text}` posts: they can neither confirm a subscription nor read SNS's JSON. */
const SLACK_WEBHOOK_HOST = "hooks.slack.com";

/** Whether an endpoint confirms its SNS subscription by itself: explicit, else by host. */
export function endpointAutoConfirms(endpoint: { url: string; autoConfirms?: boolean }): boolean {
  return endpoint.autoConfirms ?? AUTO_CONFIRMING_HOSTS.has(new URL(endpoint.url).hostname);
}

/**
 * One KMS-encrypted SNS topic per severity. The key policy lets CloudWatch alarms of this
 * account use the key (without it they cannot publish to an encrypted topic) and the account
 * grant it through IAM (the rollback Lambda's role). Nothing reaches these topics through
 * EventBridge, so events.amazonaws.com gets no grant.
 *
 * Each topic's policy refuses sns:Publish over plain HTTP (AwsSolutions-SNS3) and, since a
 * topic policy replaces SNS's default one, allows the account's alarms to publish; the
 * account's own principals publish through IAM (the rollback Lambda's role).
 *
 * Slack: an incoming webhook cannot confirm an SNS subscription, so its subscription stays
 * pending and nothing arrives. Deliver to Slack through AWS Chatbot (subscribed to the
 * topics) or a relay endpoint that confirms and reformats; the program warns about it.
 */
export class AlertTopics extends pulumi.ComponentResource {
  readonly kmsKey: aws.kms.Key;
  readonly topics: Record<Severity, aws.sns.Topic>;
  readonly topicPolicies: Record<Severity, aws.sns.TopicPolicy>;

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
    const region = aws.getRegionOutput({}, { parent: this }).region;
    this.kmsKey = new aws.kms.Key(
      `${name}-kms`,
      {
        description: `staged-rollout ${args.stack} alert topics`,
        enableKeyRotation: true,
        deletionWindowInDays: 30,
        policy: pulumi.jsonStringify({
          Version: "2012-10-17",
          Statement: [
            accountAdministersKey(pulumi.interpolate`arn:aws:iam::${account}:root`),
            {
              Sid: "AlarmsOfThisAccountPublish",
              Effect: "Allow",
              Principal: { Service: "cloudwatch.amazonaws.com" },
              Action: ["kms:Decrypt", "kms:GenerateDataKey*"],
              Resource: "*",
              // Confused deputy: only alarms of this account may have CloudWatch use the key.
              Condition: { StringEquals: { "aws:SourceAccount": account } },
            },
          ],
        }),
      },
      { parent: this },
    );

    const topic = (severity: Severity) =>
      new aws.sns.Topic(`${name}-${severity}`, { kmsMasterKeyId: this.kmsKey.id }, { parent: this });
    this.topics = { critical: topic("critical"), warning: topic("warning"), info: topic("info") };
    const topicPolicy = (severity: Severity) =>
      new aws.sns.TopicPolicy(
        `${name}-${severity}-policy`,
        {
          arn: this.topics[severity].arn,
          policy: pulumi.jsonStringify({
            Version: "2012-10-17",
            Statement: [
              // What SNS's default policy granted the alarms (AWS:SourceOwner), narrowed to this
              // account's alarms: a policy without it leaves CloudWatch "not authorized to perform:
              // SNS:Publish" (AWS re:Post, cloudwatch-receive-sns-for-alarm-trigger).
              {
                Sid: "AlarmsOfThisAccountPublish",
                Effect: "Allow",
                Principal: { Service: "cloudwatch.amazonaws.com" },
                Action: "sns:Publish",
                Resource: this.topics[severity].arn,
                Condition: {
                  ArnLike: {
                    "aws:SourceArn": pulumi.interpolate`arn:aws:cloudwatch:${region}:${account}:alarm:*`,
                  },
                },
              },
              // SNS Developer Guide, "Enforce encryption of data in transit" (sns-security-best-practices.html).
              {
                Sid: "PublishOnlyOverTls",
                Effect: "Deny",
                Principal: "*",
                Action: "sns:Publish",
                Resource: this.topics[severity].arn,
                Condition: { Bool: { "aws:SecureTransport": "false" } },
              },
            ],
          }),
        },
        { parent: this },
      );
    this.topicPolicies = {
      critical: topicPolicy("critical"),
      warning: topicPolicy("warning"),
      info: topicPolicy("info"),
    };

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
      const autoConfirms = endpointAutoConfirms(endpoint);
      if (!autoConfirms) {
        const host = new URL(endpoint.url).hostname;
        void pulumi.log.warn(
          host === SLACK_WEBHOOK_HOST
            ? `alerts: ${host} webhooks cannot confirm SNS subscriptions, so nothing reaches Slack this way; ` +
                "subscribe AWS Chatbot to the topics or use a relay endpoint that confirms the subscription"
            : `alerts: the subscription of ${host} stays pending until the endpoint confirms it (SubscribeURL in the confirmation message)`,
          this,
        );
      }
      for (const severity of endpoint.severities) {
        new aws.sns.TopicSubscription(
          `${name}-${severity}-https-${i}`,
          {
            topic: this.topics[severity].arn,
            protocol: "https",
            endpoint: endpoint.url,
            endpointAutoConfirms: autoConfirms,
          },
          { parent: this },
        );
      }
    });

    this.registerOutputs({ topics: Object.fromEntries(SEVERITIES.map((s) => [s, this.topics[s].arn])) });
  }
}
