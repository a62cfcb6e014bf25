import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runPoliciesOffline } from "../../policies/offline";
import { requiredRoles, type Decision } from "../../rollout/decisions";
import { loadPlaybook, loadStackFile } from "../../rollout/loaders";
import type { StackFile } from "../../rollout/stackFile";
import { phaseIds } from "../../rollout/phases";
import { approvedDecisions } from "../support/evidenceFixtures";
import { hasMandatoryViolation, planStack, type PlanResult, type PlanViolation } from "../../cli/offlinePlan";

/*
 * The offline twin of `pulumi preview --policy-pack policies` over the real program: the
 * committed stacks and every phase of both playbooks pass; configs derived from them that a
 * reviewer must never let through are refused by the expected policy, with a message that
 * says what to fix.
 */

/** The committed stack file with some `rollout:` keys replaced (values as YAML would give them). */
function variant(stack: string, changes: Record<string, unknown>): StackFile {
  const base = loadStackFile(stack);
  const config = { ...base.config };
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined) delete config[`rollout:${key}`];
    else config[`rollout:${key}`] = typeof value === "string" ? value : JSON.stringify(value);
  }
  return { ...base, config };
}

/** The committed value of a `rollout:` key, decoded. */
function committed<T>(stack: string, key: string): T {
  return JSON.parse(loadStackFile(stack).config[`rollout:${key}`]!) as T;
}

/** GO decisions for every transition before `phase`, and the sign-offs it needs: a production stack allowed to be there. */
function approvedFor(
  playbookId: string,
  phase: string,
): { decisions: Decision[]; signoffs: Record<string, unknown> } {
  const playbook = loadPlaybook(playbookId);
  // Each GO after its phase's minimum soak, with the evidence that gives it.
  const decisions = approvedDecisions(playbook, phase);
  const roles = requiredRoles(playbook, phase);
  const signoffs =
    roles.length === 0
      ? {}
      : {
          [phase]: Object.fromEntries(
            roles.map((r) => [r, { approver: `${r}.person`, at: "2026-10-01T12:00:00Z" }]),
          ),
        };
  return { decisions, signoffs };
}

/** The committed cohort, resized to the phase's planned pilot (its minimum user count) where the phase routes one. */
function cohortFor(stack: string, playbookId: string, phase: string): Record<string, unknown> {
  const cohort = committed<{ users: string[] }>(stack, "cohorts");
  const planned = loadPlaybook(playbookId).phases.find((p) => p.id === phase)!;
  if (!planned.cohortRouting || !planned.users) return cohort;
  return {
    ...cohort,
    users: Array.from({ length: planned.users.min }, (_, i) => `pilot.user${String(i + 1).padStart(2, "0")}`),
  };
}

const committedPlans = new Map<string, Promise<PlanResult>>();

/**
 * The committed stack's plan, run once per stack and shared by the tests that only read it or
 * edit its resources (each program run costs ~2 s). Secrets revealed, as policies see them.
 */
function committedPlan(stack: string): Promise<PlanResult> {
  let plan = committedPlans.get(stack);
  if (!plan) {
    plan = planStack(loadStackFile(stack), {}, { revealSecrets: true });
    committedPlans.set(stack, plan);
  }
  return plan;
}

/**
 * The committed stack's resources with one resource's inputs changed, checked by the pack.
 * Stands for a program edited by hand (or a component regression) that the stack config
 * cannot express: encryption, TLS, listener actions and pod security are not config keys.
 */
async function edited(
  stack: string,
  name: string,
  change: (inputs: Record<string, any>) => void,
): Promise<PlanResult> {
  const plan = await committedPlan(stack);
  const resources = structuredClone(plan.resources);
  const resource = resources.find((r) => r.name === name);
  assert.ok(resource, `the ${stack} plan has no resource ${name}`);
  change(resource.inputs);
  return { ...plan, resources, violations: await runPoliciesOffline(resources, { stack }) };
}

/** A pattern matching exactly `message`. */
function exactly(message: string): RegExp {
  return new RegExp(`^${message.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`);
}

function mandatory(result: PlanResult): PlanViolation[] {
  return result.violations.filter((v) => v.enforcementLevel === "mandatory");
}

function describeViolations(violations: PlanViolation[]): string {
  return violations
    .map((v) => `[${v.enforcementLevel}] ${v.policy} (${v.resource}): ${v.message}`)
    .join("\n");
}

describe("the pack over the committed stacks and every phase", () => {
  for (const stack of ["staging", "production"]) {
    it(`Pulumi.${stack}.yaml passes with no violation at all`, async () => {
      const result = await committedPlan(stack);
      assert.deepEqual(result.violations, [], describeViolations(result.violations));
    });
  }

  it("staging without its rehearsal sign-offs: advisory only, so the plan still passes", async () => {
    const result = await planStack(variant("staging", { signoffs: {} }));
    assert.deepEqual(
      result.violations.map((v) => [v.policy, v.enforcementLevel, v.resource, v.message]),
      [
        [
          SIGNOFF,
          "advisory",
          "aws:ssm/parameter:Parameter::rollout-state",
          "phase broader-pilot needs sign-off from devopsEngineer, qaEngineer, productManager, supportEngineer before it takes effect in staging; " +
            "each approves with `npm run rollout -- signoff approve --stack staging --phase broader-pilot --role <role> --approver <name>`",
        ],
      ],
    );
    assert.equal(hasMandatoryViolation(result), false);
  });

  for (const playbookId of ["tbs-strategy-framework", "telegram-money-bot"]) {
    const playbook = loadPlaybook(playbookId);
    for (const phase of phaseIds(playbook)) {
      const cap = String(playbook.phases.find((p) => p.id === phase)!.trafficCapPercent);
      it(`${playbookId} / ${phase} at its cap passes in staging and, approved, in production`, async () => {
        const staging = await planStack(
          variant("staging", {
            playbook: playbookId,
            phase,
            greenWeight: cap,
            cohorts: cohortFor("staging", playbookId, phase),
            decisions: [],
            signoffs: {},
          }),
        );
        assert.deepEqual(mandatory(staging), [], describeViolations(staging.violations));
        const production = await planStack(
          variant("production", {
            playbook: playbookId,
            phase,
            greenWeight: cap,
            cohorts: cohortFor("production", playbookId, phase),
            ...approvedFor(playbookId, phase),
          }),
        );
        assert.deepEqual(production.violations, [], describeViolations(production.violations));
      });
    }
  }

  it("a production rollback is never blocked, even with a weight above the cap", async () => {
    const result = await planStack(variant("production", { rollback: "true", greenWeight: "50" }));
    assert.equal(hasMandatoryViolation(result), false, describeViolations(result.violations));
  });
});

interface Case {
  name: string;
  plan: () => Promise<PlanResult>;
  policy: string;
  /** Every mandatory violation is of `policy`, and each message matches one of these (in order). */
  messages: RegExp[];
}

const productionSignoffs = committed<Record<string, Record<string, unknown>>>("production", "signoffs");
const productionDecisions = committed<Decision[]>("production", "decisions");
const productionDatabase = committed<Record<string, unknown>>("production", "database");
const withSignoffsFor = (phase: string) => ({
  ...productionSignoffs,
  ...approvedFor("tbs-strategy-framework", phase).signoffs,
});

/**
 * Cohort rules in a phase that routes no cohorts cannot come from the program (it plans
 * cohort routes only where the playbook allows them): the case stands for a router that
 * ignored the phase, by adding the staging pilot's cohort rules to a plan of another phase.
 */
async function cohortRulesIn(phase: string, greenWeight: string): Promise<PlanResult> {
  const pilot = await committedPlan("staging");
  const cohortRules = pilot.resources.filter((r) => /-cohort-\d+$/.test(r.name));
  assert.ok(cohortRules.length > 0, "the staging pilot has cohort rules");
  // Policies see secrets in plaintext, as the engine hands them over.
  const result = await planStack(variant("staging", { phase, greenWeight }), {}, { revealSecrets: true });
  const resources = [...result.resources, ...cohortRules];
  return { ...result, resources, violations: await runPoliciesOffline(resources, { stack: "staging" }) };
}

const CAP = "rollout-traffic-within-phase-cap";
const GO = "rollout-go-decisions-recorded";
const SIGNOFF = "rollout-signoffs-complete";
const COHORT = "rollout-cohorts-only-in-pilot-phases";
const setWeight = /run `pulumi config set rollout:greenWeight (\d+)`/;
const recordGo = (from: string, to: string, stack = "production") =>
  new RegExp(
    `needs a GO decision for ${from} -> ${to}, .*\`npm run rollout -- gates --stack ${stack} --record\``,
  );
const approve = (phase: string, roles: string) =>
  new RegExp(
    `phase ${phase} needs sign-off from ${roles} before .*\`npm run rollout -- signoff approve --stack production --phase ${phase} --role <role> --approver <name>\``,
  );

const cases: Case[] = [
  {
    name: "staging: greenWeight 25 in broader-pilot (cap 10)",
    plan: () => planStack(variant("staging", { greenWeight: "25" })),
    policy: CAP,
    messages: [
      /rollout:greenWeight is 25 % but phase broader-pilot .* caps green at 10 %.*pulumi config set rollout:greenWeight 10/,
      /router-web-weighted sends 25 %/,
      /router-api-weighted sends 25 %/,
    ],
  },
  {
    name: "production: greenWeight 5 in limited-pilot (cap 0)",
    plan: () => planStack(variant("production", { greenWeight: "5" })),
    policy: CAP,
    messages: [
      /rollout:greenWeight is 5 % but phase limited-pilot .* caps green at 0 %/,
      setWeight,
      setWeight,
    ],
  },
  {
    name: "staging: greenWeight 100 in preparation (cap 0)",
    plan: () => planStack(variant("staging", { phase: "preparation", greenWeight: "100" })),
    policy: CAP,
    messages: [/caps green at 0 %.*pulumi config set rollout:greenWeight 0/, setWeight, setWeight],
  },
  {
    name: "staging on the Telegram playbook: greenWeight 50 in staging-deployment (cap 0)",
    plan: () =>
      planStack(
        variant("staging", {
          playbook: "telegram-money-bot",
          phase: "staging-deployment",
          greenWeight: "50",
          decisions: [],
          signoffs: {},
        }),
      ),
    policy: CAP,
    messages: [
      /phase staging-deployment of playbook telegram-money-bot caps green at 0 %/,
      setWeight,
      setWeight,
    ],
  },
  {
    name: "production: broader-pilot skipped to with no limited-pilot -> broader-pilot decision",
    plan: () =>
      planStack(
        variant("production", {
          phase: "broader-pilot",
          greenWeight: "10",
          signoffs: withSignoffsFor("broader-pilot"),
        }),
      ),
    policy: GO,
    messages: [recordGo("limited-pilot", "broader-pilot")],
  },
  {
    name: "production: readiness skipped to (two transitions without a decision)",
    plan: () =>
      planStack(
        variant("production", {
          phase: "readiness",
          greenWeight: "10",
          signoffs: withSignoffsFor("readiness"),
        }),
      ),
    policy: GO,
    messages: [recordGo("limited-pilot", "broader-pilot"), recordGo("broader-pilot", "readiness")],
  },
  {
    name: "production: full without any decision after limited-pilot",
    plan: () =>
      planStack(
        variant("production", { phase: "full", greenWeight: "100", signoffs: withSignoffsFor("full") }),
      ),
    policy: GO,
    messages: [
      recordGo("limited-pilot", "broader-pilot"),
      recordGo("broader-pilot", "readiness"),
      recordGo("readiness", "full"),
    ],
  },
  {
    name: "production: no decisions recorded at all",
    plan: () => planStack(variant("production", { decisions: [] })),
    policy: GO,
    messages: [recordGo("preparation", "internal"), recordGo("internal", "limited-pilot")],
  },
  {
    name: "production: the latest internal -> limited-pilot decision is NO-GO",
    plan: () =>
      planStack(
        variant("production", {
          decisions: [
            ...productionDecisions,
            {
              from: "internal",
              to: "limited-pilot",
              decision: "NO-GO",
              at: "2026-11-03T09:00:00Z",
              by: "qa.lead",
              evidence: [],
            },
          ],
        }),
      ),
    policy: GO,
    messages: [
      /latest decision is NO-GO \(2026-11-03T09:00:00Z\).*gates --stack production --record.*set rollout:phase back to internal/,
    ],
  },
  {
    name: "production: the product manager has not signed off limited-pilot",
    plan: () => {
      const signoffs = structuredClone(productionSignoffs);
      delete signoffs["limited-pilot"]!.productManager;
      return planStack(variant("production", { signoffs }));
    },
    policy: SIGNOFF,
    messages: [approve("limited-pilot", "productManager")],
  },
  {
    name: "production: no sign-offs recorded",
    plan: () => planStack(variant("production", { signoffs: {} })),
    policy: SIGNOFF,
    messages: [approve("limited-pilot", "devopsEngineer, qaEngineer, productManager")],
  },
  {
    name: "production: approvals recorded for the wrong phase only",
    plan: () => planStack(variant("production", { signoffs: { internal: productionSignoffs.internal } })),
    policy: SIGNOFF,
    messages: [approve("limited-pilot", "devopsEngineer, qaEngineer, productManager")],
  },
  {
    name: "production: alarm actions disabled",
    plan: () => planStack(variant("production", { alarmActionsEnabled: "false" })),
    policy: "gates-alarm-actions-enabled",
    messages: [
      /rollout:alarmActionsEnabled is false in production, so \d+ alarms .*pulumi config set rollout:alarmActionsEnabled true/,
    ],
  },
  {
    // The pack, not the stack, decides the tier: relabelled, production is still checked as
    // production (the relaxations it would buy are in test/policies/hostileCohortsAndTiers.test.ts).
    name: "production relabelled rollout:tier staging",
    plan: () => planStack(variant("production", { tier: "staging" })),
    policy: "rollout-state-recorded",
    messages: [
      /^the rollout state records tier staging, but this stack's policy pack config requires tier production \(rollout-state-recorded.requiredTier\), .*run `pulumi config set rollout:tier production`/,
    ],
  },
  {
    name: "production: database deletion protection off",
    plan: () =>
      planStack(variant("production", { database: { ...productionDatabase, deletionProtection: false } })),
    policy: "data-rds-deletion-protection",
    messages: [
      /no deletion protection in production; run `pulumi config set --path rollout:database.deletionProtection true`/,
    ],
  },
  {
    name: "production: database Multi-AZ off",
    plan: () => planStack(variant("production", { database: { ...productionDatabase, multiAz: false } })),
    policy: "data-rds-multi-az",
    messages: [
      /^RDS instance data-mysql runs in a single Availability Zone \(an AZ outage takes blue and green down together\) in production; run `pulumi config set --path rollout:database\.multiAz true`$/,
    ],
  },
  {
    name: "production on the Telegram playbook: production-deployment with its GO decisions but no sign-offs",
    plan: () =>
      planStack(
        variant("production", {
          playbook: "telegram-money-bot",
          phase: "production-deployment",
          greenWeight: "100",
          decisions: approvedFor("telegram-money-bot", "production-deployment").decisions,
          signoffs: {},
        }),
      ),
    policy: SIGNOFF,
    messages: [
      approve(
        "production-deployment",
        "technicalLead, productManager, securityOfficer, operationsManager, businessOwner, qaLead, devopsEngineer",
      ),
    ],
  },
  {
    name: "staging: greenWeight 50 in readiness (cap 10)",
    plan: () => planStack(variant("staging", { phase: "readiness", greenWeight: "50" })),
    policy: CAP,
    messages: [/rollout:greenWeight is 50 % but phase readiness .* caps green at 10 %/, setWeight, setWeight],
  },
  {
    name: "staging: cohort rules while in full",
    plan: () => cohortRulesIn("full", "100"),
    policy: COHORT,
    messages: [
      /routes the pilot cohort to green in phase full, .*remove the cohort rule, or move to a pilot phase .*pulumi config set rollout:phase <phase>/,
    ],
  },
  {
    name: "staging: cohort rules while in preparation",
    plan: () => cohortRulesIn("preparation", "0"),
    policy: COHORT,
    messages: [/routes the pilot cohort to green in phase preparation, /],
  },
];

// Outside rollout and gates: the committed production plan with one resource broken by hand.
cases.push(
  {
    name: "production: the database unencrypted",
    plan: () => edited("production", "data-mysql", (i) => (i.storageEncrypted = false)),
    policy: "data-rds-encrypted",
    messages: [
      exactly("RDS instance data-mysql is not encrypted at rest; set storageEncrypted: true with a KMS key"),
    ],
  },
  {
    name: "production: the database publicly accessible",
    plan: () => edited("production", "data-mysql", (i) => (i.publiclyAccessible = true)),
    policy: "data-rds-not-public",
    messages: [
      exactly(
        "RDS instance data-mysql is publicly accessible; set publiclyAccessible: false and reach it from the private subnets",
      ),
    ],
  },
  {
    name: "production: the HTTP listener forwards to blue instead of redirecting",
    plan: () =>
      edited("production", "router-http-redirect", (i) => {
        i.defaultActions = [
          {
            type: "forward",
            targetGroupArn:
              "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/router-web-blue-tg/0123456789abcdef",
          },
        ];
      }),
    policy: "network-http-redirect-only",
    messages: [
      exactly(
        "HTTP listener router-http-redirect has a forward default action, so plain HTTP reaches the services; " +
          "use only a redirect action with protocol HTTPS, port 443 and statusCode HTTP_301",
      ),
    ],
  },
  {
    name: "production: the HTTPS listener on a TLS 1.0 policy",
    plan: () =>
      edited("production", "router-https", (i) => (i.sslPolicy = "ELBSecurityPolicy-TLS-1-0-2015-04")),
    policy: "network-https-tls12",
    messages: [
      exactly(
        "HTTPS listener router-https uses SSL policy ELBSecurityPolicy-TLS-1-0-2015-04, which is not a TLS 1.2+ policy; " +
          "set sslPolicy to ELBSecurityPolicy-TLS13-1-2-2021-06 or another of allowedSslPolicies",
      ),
    ],
  },
  {
    name: "production: green's web container allowed to run as root",
    plan: () =>
      edited("production", "green-web", (i) => {
        const container = i.spec.template.spec.containers[0];
        container.securityContext = { ...container.securityContext, runAsNonRoot: false };
      }),
    policy: "runtime-containers-non-root-with-limits",
    messages: [
      exactly(
        "deployment green-web container web may run as root; set securityContext.runAsNonRoot: true on the pod or the container",
      ),
    ],
  },
  {
    name: "production: green's api container without resource limits",
    plan: () => edited("production", "green-api", (i) => delete i.spec.template.spec.containers[0].resources),
    policy: "runtime-containers-non-root-with-limits",
    messages: [
      exactly(
        "deployment green-api container api has no cpu or memory limit; set resources.limits.cpu and resources.limits.memory (rollout:services[].resources)",
      ),
    ],
  },
  {
    name: "production: green's database credentials allow HeavyDB writes",
    plan: () =>
      edited("production", "green-db-credentials", (i) => (i.stringData.HEAVYDB_READ_ONLY = "false")),
    policy: "runtime-green-heavydb-read-only",
    messages: [
      exactly(
        'secret green-db-credentials sets HEAVYDB_READ_ONLY to "false"; green must open HeavyDB read-only: set it to "true"',
      ),
    ],
  },
);

describe("non-compliant configs derived from the committed stacks", () => {
  it("the corpus has at least 15 cases", () => assert.ok(cases.length >= 15, String(cases.length)));

  for (const c of cases) {
    it(`refused by ${c.policy}: ${c.name}`, async () => {
      const result = await c.plan();
      const blocking = mandatory(result);
      assert.ok(
        hasMandatoryViolation(result),
        `expected a mandatory violation of ${c.policy}; got:\n${describeViolations(result.violations)}`,
      );
      assert.deepEqual(
        [...new Set(blocking.map((v) => v.policy))],
        [c.policy],
        describeViolations(result.violations),
      );
      const ofPolicy = blocking.filter((v) => v.policy === c.policy);
      // Cohort rules repeat per rule; the messages listed must each be matched by some violation.
      if (c.policy !== COHORT) assert.equal(ofPolicy.length, c.messages.length, describeViolations(ofPolicy));
      for (const pattern of c.messages) {
        assert.ok(
          ofPolicy.some((v) => pattern.test(v.message)),
          `no ${c.policy} message matches ${pattern}:\n${describeViolations(ofPolicy)}`,
        );
      }
    });
  }
});
