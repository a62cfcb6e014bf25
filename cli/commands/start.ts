import type { RolloutConfig } from "../../rollout/config";
import { currentRelease, releaseNumber, type ReleaseHistory } from "../../rollout/release";
import { ServiceConfig } from "../../rollout/serviceConfig";
import { planTraffic } from "../../rollout/traffic";
import { RolloutInputError } from "../../rollout/validation";
import { loadLiveConfig, progress, stackAlarms, type CommandContext } from "../backend";
import { deployChange, deployFailed } from "../deployChange";
import { recordEvent, saveHistory } from "../events";
import { didYouMean } from "../help";
import { EXIT, formatSeconds } from "../output";
import {
  printDryRun,
  rawServices,
  stackFileConfig,
  waitForHealthyTargets,
  type ConfigEdit,
  type TargetsReport,
} from "./finish";
import {
  elapsedSeconds,
  emit,
  refuse,
  rollbackSetReason,
  unhealthyReasons,
  verifyTraffic,
  type Flags,
} from "./shared";

/**
 * `rollout start --stack S --image SERVICE=IMAGE ... [--dry-run]`: opens the next release. After a
 * finish (or on a stack whose releases the CLI has not run yet, in its first phase with green
 * carrying nothing), green gets the named images, every other service's green runs blue's
 * version, `rollout:release` records the release and `rollout:finish` goes; the history opens the
 * release with a start event; `up` brings green's pods back; the ALB still serves the first
 * phase's plan and green's targets must be healthy. While the release is still in its first phase
 * with no decision recorded, start may run again to replace its images.
 */

/**
 * `<repository>[:<tag>]@sha256:<64 hex>`: what production runs, as the policy pack requires
 * (scanner-ckv-k8s-43-image-digest, policies/rules/scanner.ts): a tag can be moved by a push.
 */
const PINNED_BY_DIGEST = /@sha256:[0-9a-f]{64}$/;

interface NamedImage {
  service: string;
  image: string;
  /** The flag as given, for messages. */
  flag: string;
}

/** Each `--image SERVICE=IMAGE`: the form and no service twice, before anything is read. */
export function parseImageFlags(flags: Flags): NamedImage[] {
  const values = Array.isArray(flags.image) ? (flags.image as unknown[]).map(String) : [];
  if (values.length === 0)
    throw new RolloutInputError(
      "--image: expected SERVICE=IMAGE (green's new image for a service; repeat per service), got nothing",
    );
  const images = values.map((flag) => {
    const m = /^([^=]+)=(.+)$/.exec(flag);
    if (!m)
      throw new RolloutInputError(
        `--image: expected SERVICE=IMAGE such as web=ghcr.io/acme/web:1.4.2, got ${JSON.stringify(flag)}`,
      );
    return { service: m[1]!, image: m[2]!, flag };
  });
  for (const [i, named] of images.entries()) {
    const first = images.findIndex((other) => other.service === named.service);
    if (first !== i)
      throw new RolloutInputError(
        `--image: service ${named.service} is named twice (${images[first]!.flag}, ${named.flag}); expected one image per service`,
      );
  }
  return images;
}

/** Each image against the stack: a configured service, an image as config takes it, pinned in production, new. */
function checkImages(config: RolloutConfig, images: NamedImage[]): void {
  const names = config.services.map((s) => s.name);
  for (const { service, image, flag } of images) {
    const configured = config.services.find((s) => s.name === service);
    if (!configured)
      throw new RolloutInputError(
        `--image ${flag}: unknown service ${JSON.stringify(service)}${didYouMean(service, names)}; expected one of ${names.join(", ")} (rollout:services)`,
      );
    const parsed = ServiceConfig.shape.green.shape.image.safeParse(image);
    if (!parsed.success) throw new RolloutInputError(`--image ${flag}: ${parsed.error.issues[0]!.message}`);
    if (config.isProduction && !PINNED_BY_DIGEST.test(image))
      throw new RolloutInputError(
        `--image ${flag}: expected an image pinned by digest in production (<repository>[:<tag>]@sha256:<64 hex>, e.g. from \`aws ecr describe-images\`), as the policy pack requires (scanner-ckv-k8s-43-image-digest): a push can move a tag`,
      );
    if (image === configured.blue.image)
      throw new RolloutInputError(
        `--image ${flag}: blue already runs ${image}: nothing to release for ${service}; name only the services whose green gets a new image`,
      );
  }
}

export type StartCase =
  { kind: "after-finish" | "restart" | "first"; number: number } | { kind: "refused"; reasons: string[] };

/**
 * Whether a release may start, and its number: after a finish (the next number), again while the
 * release started last is in its first phase with nothing decided (its number), or as the first
 * release of a stack with no release history.
 */
export function startCase(config: RolloutConfig, history: ReleaseHistory): StartCase {
  const playbook = config.playbookSpec;
  const first = playbook.phases[0]!.id;
  const stack = config.stack;
  const atStart = config.phase === first && config.greenWeight === 0;
  const next = releaseNumber(history);
  if (config.rollback) return { kind: "refused", reasons: [rollbackSetReason(config)] };
  if (config.finish) {
    if (atStart) return { kind: "after-finish", number: next };
    return {
      kind: "refused",
      reasons: [
        `the finish recorded at ${config.finish.at} is not complete (phase ${config.phase}, greenWeight ${config.greenWeight} %): complete it with \`npm run rollout -- finish --stack ${stack}\``,
      ],
    };
  }
  if (config.release) {
    const { number, startedAt } = config.release;
    if (atStart && config.decisions.length === 0) return { kind: "restart", number };
    return {
      kind: "refused",
      reasons: [
        `release ${number} (started ${startedAt}) is under way in phase ${config.phase}: a release starts after the last one finished (\`npm run rollout -- finish --stack ${stack} --evidence FILE\` from ${playbook.phases.at(-1)!.id})`,
      ],
    };
  }
  const started = history.finished.length > 0 || history.current?.startedAt !== undefined;
  if (started)
    return {
      kind: "refused",
      reasons: [
        `${history.stack}'s release history (releases/${history.stack}.json) records releases, but rollout:finish is not set: a release starts after the last one finished (\`npm run rollout -- finish --stack ${stack} --evidence FILE\`)`,
      ],
    };
  const greenServes = planTraffic(config).some((t) => t.green > 0 || t.cohortRoutes.length > 0);
  if (!atStart || greenServes)
    return {
      kind: "refused",
      reasons: [
        `${stack} has no release history, and is in phase ${config.phase} at greenWeight ${config.greenWeight} %: a first release starts in the first phase, ${first}, with green carrying no traffic (new images on a green that serves would skip every gate)`,
      ],
    };
  return { kind: "first", number: next };
}

/** The services as they will be: named ones get their image on green, every other green runs blue's version. */
function startedServices(
  services: Record<string, unknown>[],
  images: NamedImage[],
): Record<string, unknown>[] {
  return services.map((s) => {
    const named = images.find((i) => i.service === s.name);
    return {
      ...s,
      green: named ? { ...(s.green as object), image: named.image } : structuredClone(s.blue),
    };
  });
}

export async function startCommand(flags: Flags, ctx: CommandContext): Promise<number> {
  // The flags first: a typo never reaches Pulumi or AWS.
  const images = parseImageFlags(flags);
  if (flags["dry-run"]) return startDryRun(flags, ctx);

  const start = ctx.now();
  const json = Boolean(flags.json);
  const say = progress(ctx, start, json);
  const config = await loadLiveConfig(ctx.backend);
  checkImages(config, images);
  const history = await ctx.history.read();
  const which = startCase(config, history);
  if (which.kind === "refused") return refuse(ctx, flags, "start", which.reasons);
  const reasons = await unhealthyReasons(ctx, config, stackAlarms(config));
  if (reasons.length > 0) return refuse(ctx, flags, "start", reasons);

  const { number } = which;
  const startedAt = ctx.now().toISOString();
  const raw = await ctx.backend.getRolloutConfig();
  const services = startedServices(rawServices(raw), images);
  const release = { number, startedAt, services: images.map((i) => i.service) };
  say(
    `starting release ${number} of ${config.stack}${which.kind === "restart" ? " again (its images replaced)" : ""}: ` +
      images.map((i) => `${i.service} -> ${i.image}`).join(", "),
  );
  // The config first: the history says a release started only once the config does.
  // Sign-offs given before a restart approved the images it replaces: they go with them.
  const dropped = [
    ...(raw.finish !== undefined ? ["finish"] : []),
    ...(which.kind === "restart" && raw.signoffs !== undefined ? ["signoffs"] : []),
  ];
  if (dropped.includes("signoffs"))
    say(
      `the sign-offs recorded for release ${number}'s previous images are removed: its new images need their own`,
    );
  await deployChange(ctx, {
    set: { services: JSON.stringify(services), release: JSON.stringify(release) },
    ...(dropped.length > 0 && { remove: dropped }),
  });
  await openRelease(ctx, config, history, number, startedAt, images);
  await recordEvent(ctx, {
    kind: "start",
    summary: `release ${number} of ${config.stack} started: ${images.map((i) => `${i.service} ${i.image}`).join(", ")}`,
    details: {
      release: number,
      images: images.map((i) => `${i.service}=${i.image}`).join(" "),
      ...(which.kind === "restart" && { restarted: true }),
    },
  });
  const deployed = await deployChange(ctx, {
    up: `start: release ${number} on green`,
    start,
    json,
    restore: {
      kept: `green's images and rollout:release (release ${number}) are set; fix what failed, then run \`npm run rollout -- start\` again (it replaces release ${number}'s images while the release is in its first phase)`,
    },
    verify: async (outputs): Promise<{ traffic: string[]; green: TargetsReport }> => ({
      traffic: await verifyTraffic(ctx, config, {}, outputs),
      green: await waitForHealthyTargets(ctx, outputs, "green", say),
    }),
  });
  if (!deployed.ok) return deployFailed(ctx, flags, "start", start, deployed);
  const { traffic, green } = deployed.verified;
  const seconds = elapsedSeconds(ctx, start);
  const ok = traffic.length === 0 && green.healthy;
  const first = config.playbookSpec.phases[0]!.id;
  const transition = config.playbookSpec.transitions.find((t) => t.from === first);
  emit(
    ctx,
    flags,
    {
      command: "start",
      stack: config.stack,
      release: number,
      startedAt,
      images: Object.fromEntries(images.map((i) => [i.service, i.image])),
      verified: ok,
      trafficProblems: traffic,
      greenHealthy: green.healthy,
      green: green.lines,
      seconds,
    },
    () => {
      for (const p of traffic) say(`traffic check FAILED: ${p}`);
      if (!green.healthy)
        say(
          `green's targets are not all healthy${green.interrupted ? " (interrupted)" : ` after ${formatSeconds(green.seconds)}`}: it carries no traffic; fix the image and run \`npm run rollout -- start\` again`,
        );
      if (ok) {
        say(
          `release ${number} of ${config.stack} started (${formatSeconds(seconds)}): green is healthy, traffic as phase ${config.phase} plans (verified on the ALB)`,
        );
        if (transition)
          say(
            `next: \`npm run rollout -- gates --stack ${config.stack} --evidence FILE --record\` (${transition.from} -> ${transition.to}), then \`advance\``,
          );
      }
    },
  );
  return ok ? EXIT.ok : EXIT.refused;
}

/** The history's current release: opened (or, on a restart or over events recorded before it, updated). */
async function openRelease(
  ctx: CommandContext,
  config: RolloutConfig,
  history: ReleaseHistory,
  number: number,
  startedAt: string,
  images: NamedImage[],
): Promise<void> {
  const fresh = await ctx.history.read();
  const current = currentRelease(fresh);
  const versions = Object.fromEntries(
    config.services.map((s) => {
      const named = images.find((i) => i.service === s.name);
      return [s.name, { blue: s.blue, green: named ? { image: named.image, port: s.green.port } : s.blue }];
    }),
  );
  await saveHistory(ctx, {
    ...fresh,
    stack: history.stack,
    current: { ...current, number, startedAt, versions },
  });
}

/**
 * `--dry-run`: what start would change, from Pulumi.<stack>.yaml (`source`, which tests give
 * directly) and the history; neither Pulumi nor AWS is asked anything.
 */
export async function startDryRun(
  flags: Flags,
  ctx: CommandContext,
  source: { config: RolloutConfig } = stackFileConfig(ctx),
): Promise<number> {
  const images = parseImageFlags(flags);
  const { config } = source;
  checkImages(config, images);
  const history = await ctx.history.read();
  const which = startCase(config, history);
  if (which.kind === "refused") return refuse(ctx, flags, "start", which.reasons);
  const edits: ConfigEdit[] = config.services.flatMap((s, i) => {
    const named = images.find((n) => n.service === s.name);
    const after = named ? { image: named.image, port: s.green.port } : s.blue;
    return (["image", "port"] as const).flatMap((field) =>
      s.green[field] === after[field]
        ? []
        : [{ key: `rollout:services[${i}].green.${field}`, before: s.green[field], after: after[field] }],
    );
  });
  edits.push(
    {
      key: "rollout:release",
      before: config.release,
      after: {
        number: which.number,
        startedAt: ctx.now().toISOString(),
        services: images.map((i) => i.service),
      },
    },
    ...(config.finish ? [{ key: "rollout:finish", before: config.finish }] : []),
    {
      key: "rollout:revision",
      before: config.revision,
      after: config.revision + 1,
      note: "one per config write, more if the deployed record is newer",
    },
  );
  const effects = [
    ...(config.finish
      ? [`green's Deployments: ${config.idleGreenReplicas} -> rollout:services[].replicas pods per service`]
      : []),
    `${ctx.history.file}: release ${which.number} ${which.kind === "restart" ? "updated" : "opened"}, with a start event`,
    "green's targets must be healthy; traffic stays as the first phase plans",
  ];
  return printDryRun(ctx, flags, "start", edits, effects, { release: which.number, case: which.kind });
}
