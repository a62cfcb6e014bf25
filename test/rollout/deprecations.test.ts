import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  deprecationWarnings,
  type DeprecationEvent,
  type DeprecationKind,
  type RuntimeUse,
} from "../../rollout/deprecations";
import { loadStackFile } from "../../rollout/loaders";
import { bufferOutput } from "../../cli/output";
import { printPlan } from "../../cli/commands/plan";
import { planStack } from "../../cli/offlinePlan";

const DAY_MS = 86_400_000;
const FN = "aws:lambda/function:Function::auto-rollback-fn";
const DB = "aws:rds/instance:Instance::data-mysql";
const LAMBDA_PAGE = "https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html";
const MYSQL_PAGE = "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/MySQL.Concepts.VersionMgmt.html";

const lambda = (version: string): RuntimeUse => ({ resource: FN, kind: "lambda-runtime", version });
const mysql = (version: string): RuntimeUse => ({ resource: DB, kind: "rds-mysql", version });
/** `days` before `isoDate` (negative: after), at an hour that must not matter. */
const daysBefore = (isoDate: string, days: number) =>
  new Date(Date.parse(isoDate) - days * DAY_MS + 13 * 3_600_000);

// Every date of the calendar, as AWS publishes it (sources in rollout/deprecations.ts).
const CALENDAR: [DeprecationKind, string, DeprecationEvent, string][] = [
  ["lambda-runtime", "nodejs18.x", "deprecation", "2025-09-01"],
  ["lambda-runtime", "nodejs18.x", "block-function-create", "2027-02-01"],
  ["lambda-runtime", "nodejs18.x", "block-function-update", "2027-03-03"],
  ["lambda-runtime", "nodejs20.x", "deprecation", "2026-04-30"],
  ["lambda-runtime", "nodejs20.x", "block-function-create", "2027-02-01"],
  ["lambda-runtime", "nodejs20.x", "block-function-update", "2027-03-03"],
  ["lambda-runtime", "nodejs22.x", "deprecation", "2027-04-30"],
  ["lambda-runtime", "nodejs22.x", "block-function-create", "2027-06-01"],
  ["lambda-runtime", "nodejs22.x", "block-function-update", "2027-07-01"],
  ["lambda-runtime", "nodejs24.x", "deprecation", "2028-04-30"],
  ["lambda-runtime", "nodejs24.x", "block-function-create", "2028-06-01"],
  ["lambda-runtime", "nodejs24.x", "block-function-update", "2028-07-01"],
  ["rds-mysql", "5.7", "end-of-standard-support", "2024-02-29"],
  ["rds-mysql", "5.7", "extended-support-charges", "2024-03-01"],
  ["rds-mysql", "8.0", "end-of-standard-support", "2026-07-31"],
  ["rds-mysql", "8.0", "extended-support-charges", "2026-08-01"],
  ["rds-mysql", "8.4", "end-of-standard-support", "2029-07-31"],
  ["rds-mysql", "8.4", "extended-support-charges", "2029-08-01"],
];

describe("deprecation calendar: each date warns from 90 days before it, and ever after", () => {
  for (const [kind, id, event, date] of CALENDAR) {
    it(`${id} ${event} ${date}: silent at 91 days, warns at 90, 89, 0, -1 and -400`, () => {
      const use: RuntimeUse = { resource: kind === "rds-mysql" ? DB : FN, kind, version: id };
      const at = (days: number) =>
        deprecationWarnings([use], daysBefore(date, days))
          .filter((w) => w.event === event)
          .map(({ resource, kind: k, id: i, event: e, date: d, daysFromToday }) => [
            resource,
            k,
            i,
            e,
            d,
            daysFromToday,
          ]);
      assert.deepEqual(at(91), []);
      for (const days of [90, 89, 0, -1, -400])
        assert.deepEqual(at(days), [[use.resource, kind, id, event, date, days]]);
    });
  }
});

describe("deprecation warnings: what, when, what it means, what to do", () => {
  it("nodejs20.x after 2027-02-01: deprecated, function create blocked, update blocked in 21 days", () => {
    assert.deepEqual(deprecationWarnings([lambda("nodejs20.x")], new Date("2027-02-10T08:00:00Z")), [
      {
        resource: FN,
        kind: "lambda-runtime",
        id: "nodejs20.x",
        event: "deprecation",
        date: "2026-04-30",
        daysFromToday: -286,
        message:
          "Lambda runtime nodejs20.x: AWS stops patching this runtime, and functions on it lose technical support, from 2026-04-30 (286 days ago); move the function to nodejs24.x",
      },
      {
        resource: FN,
        kind: "lambda-runtime",
        id: "nodejs20.x",
        event: "block-function-create",
        date: "2027-02-01",
        daysFromToday: -9,
        message:
          "Lambda runtime nodejs20.x: AWS blocks creating functions on this runtime from 2027-02-01 (9 days ago); move the function to nodejs24.x",
      },
      {
        resource: FN,
        kind: "lambda-runtime",
        id: "nodejs20.x",
        event: "block-function-update",
        date: "2027-03-03",
        daysFromToday: 21,
        message:
          "Lambda runtime nodejs20.x: AWS blocks updating functions on this runtime from 2027-03-03 (in 21 days); move the function to nodejs24.x",
      },
    ]);
  });

  it("nodejs20.x on 2026-11-29: deprecated, function create blocked in 64 days; the update block is 94 days off", () => {
    assert.deepEqual(
      deprecationWarnings([lambda("nodejs20.x")], new Date("2026-11-29T00:00:00Z")).map((w) => w.message),
      [
        "Lambda runtime nodejs20.x: AWS stops patching this runtime, and functions on it lose technical support, from 2026-04-30 (213 days ago); move the function to nodejs24.x",
        "Lambda runtime nodejs20.x: AWS blocks creating functions on this runtime from 2027-02-01 (in 64 days); move the function to nodejs24.x",
      ],
    );
  });

  it("MySQL 8.0.36 is major 8.0: standard support over, Extended Support charged; upgrade to 8.4", () => {
    assert.deepEqual(deprecationWarnings([mysql("8.0.36")], new Date("2026-11-29T23:59:59Z")), [
      {
        resource: DB,
        kind: "rds-mysql",
        id: "8.0",
        event: "end-of-standard-support",
        date: "2026-07-31",
        daysFromToday: -121,
        message:
          "RDS for MySQL 8.0: RDS ends standard support for this major version and enrols its instances in Extended Support on 2026-07-31 (121 days ago); upgrade the database to MySQL 8.4 (docs/mysql-upgrade.md)",
      },
      {
        resource: DB,
        kind: "rds-mysql",
        id: "8.0",
        event: "extended-support-charges",
        date: "2026-08-01",
        daysFromToday: -120,
        message:
          "RDS for MySQL 8.0: RDS charges for Extended Support on instances of this major version from 2026-08-01 (120 days ago); upgrade the database to MySQL 8.4 (docs/mysql-upgrade.md)",
      },
    ]);
  });

  it("the newest versions near their dates: move past them, from AWS's page; today and in 1 day", () => {
    assert.deepEqual(
      deprecationWarnings([lambda("nodejs24.x"), mysql("8.4")], new Date("2028-06-01T00:00:00Z")).map(
        (w) => w.message,
      ),
      [
        `Lambda runtime nodejs24.x: AWS stops patching this runtime, and functions on it lose technical support, from 2028-04-30 (32 days ago); move to a version newer than nodejs24.x from ${LAMBDA_PAGE} and add its dates to rollout/deprecations.ts`,
        `Lambda runtime nodejs24.x: AWS blocks creating functions on this runtime from 2028-06-01 (today); move to a version newer than nodejs24.x from ${LAMBDA_PAGE} and add its dates to rollout/deprecations.ts`,
        `Lambda runtime nodejs24.x: AWS blocks updating functions on this runtime from 2028-07-01 (in 30 days); move to a version newer than nodejs24.x from ${LAMBDA_PAGE} and add its dates to rollout/deprecations.ts`,
      ],
    );
    assert.deepEqual(
      deprecationWarnings([mysql("8.4.3")], new Date("2029-07-30T00:00:00Z")).map((w) => w.message),
      [
        `RDS for MySQL 8.4: RDS ends standard support for this major version and enrols its instances in Extended Support on 2029-07-31 (in 1 day); move to a version newer than 8.4 from ${MYSQL_PAGE} and add its dates to rollout/deprecations.ts`,
        `RDS for MySQL 8.4: RDS charges for Extended Support on instances of this major version from 2029-08-01 (in 2 days); move to a version newer than 8.4 from ${MYSQL_PAGE} and add its dates to rollout/deprecations.ts`,
      ],
    );
  });

  it("a version the calendar lacks warns whatever the day: check AWS's page", () => {
    const today = new Date("2026-11-29T00:00:00Z");
    assert.deepEqual(deprecationWarnings([lambda("nodejs26.x"), mysql("9.7"), mysql("8")], today), [
      {
        resource: FN,
        kind: "lambda-runtime",
        id: "nodejs26.x",
        event: "not-in-calendar",
        date: null,
        daysFromToday: null,
        message: `Lambda runtime nodejs26.x is not in the deprecation calendar; check AWS's page ${LAMBDA_PAGE} and add its dates to rollout/deprecations.ts`,
      },
      {
        resource: DB,
        kind: "rds-mysql",
        id: "9.7",
        event: "not-in-calendar",
        date: null,
        daysFromToday: null,
        message: `RDS for MySQL 9.7 is not in the deprecation calendar; check AWS's page ${MYSQL_PAGE} and add its dates to rollout/deprecations.ts`,
      },
      {
        resource: DB,
        kind: "rds-mysql",
        id: "8",
        event: "not-in-calendar",
        date: null,
        daysFromToday: null,
        message: `RDS for MySQL 8 is not in the deprecation calendar; check AWS's page ${MYSQL_PAGE} and add its dates to rollout/deprecations.ts`,
      },
    ]);
  });

  it("versions far from their dates, and no uses at all: nothing", () => {
    const today = new Date("2026-11-29T00:00:00Z");
    assert.deepEqual(deprecationWarnings([lambda("nodejs24.x"), mysql("8.4"), mysql("8.4.7")], today), []);
    assert.deepEqual(deprecationWarnings([], today), []);
  });
});

describe("deprecation calendar in the committed stacks' plans", () => {
  for (const stack of ["staging", "production"]) {
    it(`${stack} on 2026-11-29 (nodejs24.x, MySQL 8.4): no deprecation, and the text ends at the violations`, async () => {
      const plan = await planStack(loadStackFile(stack), {}, { now: new Date("2026-11-29T12:00:00Z") });
      const inputs = (type: string) => plan.resources.filter((r) => r.type === type).map((r) => r.inputs);
      assert.deepEqual(
        inputs("aws:lambda/function:Function").map((i) => i.runtime),
        ["nodejs24.x"],
      );
      // A major upgrade never rides along with a deploy: docs/mysql-upgrade.md.
      assert.deepEqual(
        inputs("aws:rds/instance:Instance").map((i) => [
          i.engine,
          i.engineVersion,
          i.allowMajorVersionUpgrade,
        ]),
        [["mysql", "8.4", false]],
      );
      assert.deepEqual(plan.deprecations, []);
      const out = bufferOutput();
      printPlan(plan, out);
      assert.equal(out.lines.at(-1), "policy violations: none");
    });
  }
});
