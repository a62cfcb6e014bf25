/**
 * The deprecation calendar: the dates AWS publishes for the Lambda runtimes and the RDS for
 * MySQL major versions this program deploys, and the warnings the offline plan prints when one
 * is past or near. Pure: the plan passes what its resources use and the day to judge by.
 */

/** A date this near, or past, warns: time enough to test a move and ship it. */
export const DEPRECATION_WARNING_DAYS = 90;

export type DeprecationKind = "lambda-runtime" | "rds-mysql";

export type DeprecationEvent =
  | "deprecation"
  | "block-function-create"
  | "block-function-update"
  | "end-of-standard-support"
  | "extended-support-charges";

/** A Lambda runtime or MySQL engine version that one resource of the plan uses. */
export interface RuntimeUse {
  /** `type::name`, as policy violations name resources. */
  resource: string;
  kind: DeprecationKind;
  /** `nodejs24.x`; for MySQL a major (`8.4`) or a minor (`8.4.3`). */
  version: string;
}

export interface DeprecationWarning {
  resource: string;
  kind: DeprecationKind;
  /** What the calendar looked up: the runtime identifier, or MySQL's major.minor. */
  id: string;
  /** `not-in-calendar` when this file has no dates for `id`. */
  event: DeprecationEvent | "not-in-calendar";
  /** yyyy-mm-dd; null for `not-in-calendar`. */
  date: string | null;
  /** Negative once the date has passed; null for `not-in-calendar`. */
  daysFromToday: number | null;
  message: string;
}

type EventDates = Readonly<Partial<Record<DeprecationEvent, string>>>;

/*
 * Lambda's Node.js runtimes. Source: AWS Lambda Developer Guide, "Lambda runtimes",
 * https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html (tables "Supported
 * runtimes" and "Deprecated runtimes": deprecation date, block function create, block
 * function update). AWS has moved block dates later more than once; each entry says which
 * revision its dates come from.
 */
const LAMBDA_NODE_RUNTIMES: Readonly<Record<string, EventDates>> = {
  // Deprecated Sep 1, 2025 (deprecated runtimes table). Blocks: Feb 1, 2027 and Mar 3, 2027,
  // as the page reads since its June 2026 revision (transcribed in aws-cloudformation/cfn-lint
  // #4532 and aws/aws-rfdk #1703); earlier revisions gave Oct 1 / Nov 1, 2025, then 2026 dates.
  "nodejs18.x": {
    deprecation: "2025-09-01",
    "block-function-create": "2027-02-01",
    "block-function-update": "2027-03-03",
  },
  // Deprecated Apr 30, 2026. Blocks: Feb 1, 2027 and Mar 3, 2027 since the June 2026 revision
  // (https://github.com/aws-cloudformation/cfn-lint/issues/4531, fixed by #4532, quotes the page;
  // no copy of that revision was reachable here). The earlier revision, in a stored copy of
  // AWS's "Building Lambda functions with TypeScript" page
  // (https://docs.aws.amazon.com/lambda/latest/dg/lambda-typescript.html), said Aug 31, 2026
  // and Sep 30, 2026. The later dates are AWS's latest statement.
  "nodejs20.x": {
    deprecation: "2026-04-30",
    "block-function-create": "2027-02-01",
    "block-function-update": "2027-03-03",
  },
  // Apr 30, 2027 / Jun 1, 2027 / Jul 1, 2027: "Lambda runtimes" and "Building Lambda
  // functions with TypeScript" (URL above) agree.
  "nodejs22.x": {
    deprecation: "2027-04-30",
    "block-function-create": "2027-06-01",
    "block-function-update": "2027-07-01",
  },
  // Apr 30, 2028 / Jun 1, 2028 / Jul 1, 2028: both pages above.
  "nodejs24.x": {
    deprecation: "2028-04-30",
    "block-function-create": "2028-06-01",
    "block-function-update": "2028-07-01",
  },
};

/*
 * RDS for MySQL major versions.
 * End of standard support: Amazon RDS User Guide, "MySQL on Amazon RDS versions", table
 * "Supported MySQL major versions on Amazon RDS" (column "RDS end of standard support date"),
 * https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/MySQL.Concepts.VersionMgmt.html
 * Extended Support charges: Amazon RDS User Guide, "Using Amazon RDS Extended Support",
 * https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/extended-support.html : on the end of
 * standard support date RDS enrols the instances in Extended Support and charges for it from
 * the next day. The page gives the day for 5.7 (ends Feb 29, 2024, charged from Mar 1, 2024);
 * for 8.0 and 8.4 the charge date below is that rule applied, not a date AWS prints.
 */
const RDS_MYSQL_MAJORS: Readonly<Record<string, EventDates>> = {
  "5.7": { "end-of-standard-support": "2024-02-29", "extended-support-charges": "2024-03-01" },
  "8.0": { "end-of-standard-support": "2026-07-31", "extended-support-charges": "2026-08-01" },
  "8.4": { "end-of-standard-support": "2029-07-31", "extended-support-charges": "2029-08-01" },
};

/** What each event means for whoever still uses the version; the date follows. */
const MEANING: Record<DeprecationEvent, string> = {
  deprecation: "AWS stops patching this runtime, and functions on it lose technical support, from",
  "block-function-create": "AWS blocks creating functions on this runtime from",
  "block-function-update": "AWS blocks updating functions on this runtime from",
  "end-of-standard-support":
    "RDS ends standard support for this major version and enrols its instances in Extended Support on",
  "extended-support-charges": "RDS charges for Extended Support on instances of this major version from",
};

interface KindCalendar {
  /** How messages name the version: `Lambda runtime nodejs20.x`. */
  label: (id: string) => string;
  /** The calendar's key for a version as a resource states it. */
  calendarId: (version: string) => string;
  dates: Readonly<Record<string, EventDates>>;
  /** AWS's page with every version's dates. */
  awsPage: string;
  /** The fix: move to `target`, the newest version in the calendar. */
  moveTo: (target: string) => string;
}

const CALENDARS: Record<DeprecationKind, KindCalendar> = {
  "lambda-runtime": {
    label: (id) => `Lambda runtime ${id}`,
    calendarId: (version) => version,
    dates: LAMBDA_NODE_RUNTIMES,
    awsPage: "https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html",
    moveTo: (target) => `move the function to ${target}`,
  },
  "rds-mysql": {
    label: (id) => `RDS for MySQL ${id}`,
    // RDS calls x.y the major version: 8.4.3 is major 8.4.
    calendarId: (version) => /^(\d+\.\d+)(\.\d+)?$/.exec(version)?.[1] ?? version,
    dates: RDS_MYSQL_MAJORS,
    awsPage: "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/MySQL.Concepts.VersionMgmt.html",
    moveTo: (target) => `upgrade the database to MySQL ${target} (docs/mysql-upgrade.md)`,
  },
};

const DAY_MS = 86_400_000;

/** Whole days from today's UTC date to `isoDate` (yyyy-mm-dd, a UTC day). */
function daysFrom(today: Date, isoDate: string): number {
  const todayUtc = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate());
  return Math.round((Date.parse(isoDate) - todayUtc) / DAY_MS);
}

function relative(days: number): string {
  if (days === 0) return "today";
  const count = `${Math.abs(days)} day${Math.abs(days) === 1 ? "" : "s"}`;
  return days > 0 ? `in ${count}` : `${count} ago`;
}

function eventsOf(dates: EventDates): [DeprecationEvent, string][] {
  return Object.entries(dates) as [DeprecationEvent, string][];
}

/** The calendar's id whose last date is the latest: the version to move to. */
function newestId(calendar: KindCalendar): string {
  const lastDate = (id: string) => eventsOf(calendar.dates[id]!).reduce((a, [, d]) => (d > a ? d : a), "");
  return Object.keys(calendar.dates).reduce((a, b) => (lastDate(b) > lastDate(a) ? b : a));
}

function fix(calendar: KindCalendar, id: string): string {
  const target = newestId(calendar);
  return target === id
    ? `move to a version newer than ${id} from ${calendar.awsPage} and add its dates to rollout/deprecations.ts`
    : calendar.moveTo(target);
}

/**
 * One warning per event of a used version whose date is past or within
 * DEPRECATION_WARNING_DAYS of `today`, and one for each used version the calendar lacks.
 */
export function deprecationWarnings(uses: RuntimeUse[], today: Date): DeprecationWarning[] {
  return uses.flatMap((use): DeprecationWarning[] => {
    const calendar = CALENDARS[use.kind];
    const id = calendar.calendarId(use.version);
    const dates = calendar.dates[id];
    const label = calendar.label(id);
    if (dates === undefined) {
      return [
        {
          resource: use.resource,
          kind: use.kind,
          id,
          event: "not-in-calendar",
          date: null,
          daysFromToday: null,
          message: `${label} is not in the deprecation calendar; check AWS's page ${calendar.awsPage} and add its dates to rollout/deprecations.ts`,
        },
      ];
    }
    return eventsOf(dates).flatMap(([event, date]) => {
      const daysFromToday = daysFrom(today, date);
      if (daysFromToday > DEPRECATION_WARNING_DAYS) return [];
      return [
        {
          resource: use.resource,
          kind: use.kind,
          id,
          event,
          date,
          daysFromToday,
          message: `${label}: ${MEANING[event]} ${date} (${relative(daysFromToday)}); ${fix(calendar, id)}`,
        },
      ];
    });
  });
}
