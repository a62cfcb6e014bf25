import { PublishCommand } from "@aws-sdk/client-sns";
import { errorMessage } from "../rollout/errors";
import {
  currentRelease,
  type ReleaseEvent,
  type ReleaseEventKind,
  type ReleaseHistory,
} from "../rollout/release";
import { snsSubject } from "../rollout/snsSubject";
import { readStackOutputs, type CommandContext } from "./backend";
import { oneLine } from "./output";
import { noteWritten } from "./revision";

/**
 * Rollout events (advance, each shift step, a manual rollback and its reason, a GO recorded,
 * restore, finish, start): appended to the current release of the stack's history and published
 * to the stack's info topic, so the people subscribed hear of them. An event is a record of what
 * already happened: failing to keep or tell it is said on stderr, never thrown, and never undoes
 * the change it reports.
 */

export interface RolloutEvent {
  kind: ReleaseEventKind;
  /** One line: `shift staging: green 10 % -> 15 % (step 1 of 3)`. */
  summary: string;
  details?: ReleaseEvent["details"];
}

/** What became of an event: where it was kept and told, or why not. */
export interface RecordedEvent {
  event: ReleaseEvent;
  history: string;
  published: { topicArn: string; messageId?: string } | { error: string };
}

/**
 * The stack's info topic, read from its outputs once per stack backend: a shift records an event
 * per step, and each outputs read is a `pulumi stack output` call. The topic does not change
 * while a command runs (an `up` keeps it).
 */
const infoTopics = new WeakMap<CommandContext["backend"], string>();
async function infoTopic(ctx: CommandContext): Promise<string> {
  const known = infoTopics.get(ctx.backend);
  if (known !== undefined) return known;
  const topicArn = (await readStackOutputs(ctx.backend)).alertTopics?.info;
  if (topicArn === undefined) throw new Error("the stack has no alertTopics.info output");
  infoTopics.set(ctx.backend, topicArn);
  return topicArn;
}

/** Write the stack's history and note every file written (the history, releases moved out of it) for the commit. */
export async function saveHistory(ctx: CommandContext, history: ReleaseHistory): Promise<void> {
  for (const file of await ctx.history.write(history)) noteWritten(ctx, file);
}

export async function recordEvent(ctx: CommandContext, event: RolloutEvent): Promise<RecordedEvent> {
  const stack = ctx.backend.stackName;
  const entry: ReleaseEvent = {
    at: ctx.now().toISOString(),
    kind: event.kind,
    summary: event.summary,
    ...(event.details && { details: event.details }),
  };
  let history: string;
  try {
    const current = await ctx.history.read();
    const release = currentRelease(current);
    await saveHistory(ctx, { ...current, current: { ...release, events: [...release.events, entry] } });
    history = ctx.history.file;
  } catch (error) {
    history = `NOT kept: ${oneLine(errorMessage(error))}`;
    ctx.out.error(
      `warning: the ${event.kind} event was not added to ${ctx.history.file}: ${oneLine(errorMessage(error))}`,
    );
  }
  let published: RecordedEvent["published"];
  try {
    const topicArn = await infoTopic(ctx);
    const sent = await ctx.aws.sns.send(
      new PublishCommand({
        TopicArn: topicArn,
        // The subject names the stack and the kind (mail filters sort on it); the summary leads the message.
        Subject: snsSubject(`[${stack}] rollout ${event.kind}`),
        Message: [
          event.summary,
          `stack: ${stack}`,
          `at: ${entry.at}`,
          ...Object.entries(event.details ?? {}).map(([k, v]) => `${k}: ${String(v)}`),
        ].join("\n"),
      }),
    );
    published = { topicArn, ...(sent.MessageId && { messageId: sent.MessageId }) };
  } catch (error) {
    published = { error: oneLine(errorMessage(error)) };
    ctx.out.error(`warning: the ${event.kind} event was not published to the info topic: ${published.error}`);
  }
  return { event: entry, history, published };
}
