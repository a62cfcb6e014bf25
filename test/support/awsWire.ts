import * as http from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A local HTTP endpoint that speaks, on the wire, the three AWS protocols the rollback Lambda's
 * SDK clients use, so the shipped bundle can be run against it (AWS_ENDPOINT_URL points every
 * client here) and a test sees each request as AWS would receive it:
 *
 * - Elastic Load Balancing v2: the Query protocol (form-encoded POST, `Action` and
 *   `Version=2015-12-01`, XML responses in `<ActionResponse><ActionResult>` with the
 *   namespace `http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/`): DescribeRules
 *   (paged with Marker / NextMarker) and ModifyRule.
 * - SSM: JSON 1.1 (`X-Amz-Target: AmazonSSM.<Action>`, `application/x-amz-json-1.1`), errors
 *   as `{"__type": code}`: GetParameter and PutParameter.
 * - SNS: the Query protocol (`Version=2010-03-31`, namespace `http://sns.amazonaws.com/doc/2010-03-31/`): Publish.
 *
 * Protocols, versions, namespaces, result wrappers and error codes are those of botocore's
 * service models (botocore/data/{elbv2,ssm,sns}/.../service-2.json: `metadata.protocol`,
 * `apiVersion`, `xmlNamespace`, `targetPrefix`, `operations.X.output.resultWrapper`,
 * `shapes.X.error`). The service of a request is read from its SigV4 credential scope
 * (`Credential=<key>/<date>/<region>/<service>/aws4_request`), as AWS routes by endpoint; the
 * signature itself is not checked.
 *
 * State persists across requests (the listener's rules, parameters, published messages), so
 * a retried invocation sees what an earlier one left; faults are scripted per action.
 */

export type WireService = "elasticloadbalancing" | "ssm" | "sns";

export interface WireRequest {
  service: WireService;
  action: string;
  /** Query protocol: the form fields exactly as sent. JSON protocol: the parsed body. */
  params: Record<string, unknown>;
  /** What the endpoint answered; 0 when the client hung up before the answer (see `stall`). */
  status: number;
  /** The error code answered, if any. */
  error?: string;
}

/** An error as AWS answers it: HTTP status and error code (`<Code>` in XML, `__type` in JSON). */
export interface WireFault {
  status: number;
  code: string;
  message?: string;
}

interface ScriptedFault {
  action: string;
  /** An error answer, or a delay before the normal answer. */
  fault: WireFault | { stallMs: number };
  /** How many more requests it answers; Infinity: every one. */
  remaining: number;
  when: (params: Record<string, unknown>) => boolean;
}

/** A listener rule as DescribeRules returns it (the members the Lambda reads). */
export interface WireRule {
  RuleArn: string;
  Priority: string;
  IsDefault: boolean;
  Actions: Record<string, unknown>[];
}

const SERVICES = {
  elasticloadbalancing: {
    version: "2015-12-01",
    xmlns: "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/",
  },
  sns: { version: "2010-03-31", xmlns: "http://sns.amazonaws.com/doc/2010-03-31/" },
} as const;

/** AWS's throttling answers, per botocore's models and AWS's Query error responses. */
export const FAULTS = {
  /** ELBv2 (Query protocol): the generic `Throttling` code, HTTP 400. */
  elbThrottling: { status: 400, code: "Throttling", message: "Rate exceeded" },
  /** SNS ThrottledException: `"error": {"code": "Throttled", "httpStatusCode": 429}`. */
  snsThrottled: { status: 429, code: "Throttled", message: "Rate exceeded" },
  /** SNS KMSThrottlingException: `"error": {"code": "KMSThrottling", "httpStatusCode": 400}`. */
  snsKmsThrottling: { status: 400, code: "KMSThrottling", message: "KMS throttled the request" },
  /** A server fault, as any service answers it. */
  internal: { status: 500, code: "InternalFailure", message: "An internal error occurred" },
  /** SSM (JSON 1.1): IAM refused the call. */
  ssmAccessDenied: {
    status: 400,
    code: "AccessDeniedException",
    message: "not authorized to perform: ssm:PutParameter",
  },
  /** SNS AuthorizationErrorException: `"error": {"code": "AuthorizationError", "httpStatusCode": 403}`. */
  snsAuthorization: {
    status: 403,
    code: "AuthorizationError",
    message: "not authorized to perform: SNS:Publish",
  },
  /** ELBv2 OperationNotPermittedException: `"error": {"code": "OperationNotPermitted", "httpStatusCode": 400}`. */
  elbNotPermitted: { status: 400, code: "OperationNotPermitted", message: "rule is locked" },
} satisfies Record<string, WireFault>;

export class AwsWire {
  /** Every request answered (or given up on by its client), in that order. */
  readonly requests: WireRequest[] = [];
  /** Every request as it arrived, answered or not yet (status 0 until answered). */
  readonly received: WireRequest[] = [];
  /** The listener's rules, in DescribeRules order; ModifyRule replaces a rule's Actions. */
  rules: WireRule[] = [];
  /** SSM parameters by name. */
  readonly parameters = new Map<string, { value: string; version: number }>();
  /** Largest page DescribeRules returns, whatever PageSize asks for (AWS: at most PageSize). */
  maxPageSize = 400;
  /** Milliseconds each answer of an action waits before it is sent. */
  readonly delays = new Map<string, number>();
  /** Most requests of an action in flight at once. */
  readonly maxInFlight = new Map<string, number>();
  private readonly inFlight = new Map<string, number>();
  private readonly faults: ScriptedFault[] = [];
  private server: http.Server | undefined;
  private nextId = 1;

  /** `http://127.0.0.1:<port>` once started. */
  url = "";

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Answer `action` with `fault`, `times` times (default: always), for requests `when` accepts. */
  fail(
    action: string,
    fault: WireFault,
    {
      times = Infinity,
      when = () => true,
    }: { times?: number; when?: (params: Record<string, unknown>) => boolean } = {},
  ): this {
    this.faults.push({ action, fault, remaining: times, when });
    return this;
  }

  /** Drop every scripted fault: AWS works again. */
  heal(): this {
    this.faults.length = 0;
    return this;
  }

  /**
   * Hold the answer to `action` for `ms` (default: once): a hung AWS API. If the client gives up
   * meanwhile the request has no effect and is recorded with status 0.
   */
  stall(
    action: string,
    ms: number,
    {
      times = 1,
      when = () => true,
    }: { times?: number; when?: (params: Record<string, unknown>) => boolean } = {},
  ): this {
    this.faults.push({ action, fault: { stallMs: ms }, remaining: times, when });
    return this;
  }

  /** The requests of one action, in order. */
  calls(action: string): WireRequest[] {
    return this.requests.filter((r) => r.action === action);
  }

  /** Published messages as SNS received them (successful Publish calls only). */
  published(): { TopicArn: unknown; Subject: unknown; Message: unknown }[] {
    return this.calls("Publish")
      .filter((r) => r.status === 200)
      .map((r) => ({ TopicArn: r.params.TopicArn, Subject: r.params.Subject, Message: r.params.Message }));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString("utf8");
    const scope = /Credential=[^/]+\/[^/]+\/[^/]+\/([^/]+)\/aws4_request/.exec(
      req.headers.authorization ?? "",
    );
    const service = scope?.[1];
    let request: WireRequest;
    if (service === "ssm") {
      const target = String(req.headers["x-amz-target"] ?? "");
      request = {
        service,
        action: target.startsWith("AmazonSSM.") ? target.slice("AmazonSSM.".length) : `unknown:${target}`,
        params: JSON.parse(body || "{}") as Record<string, unknown>,
        status: 0,
      };
      if (req.headers["content-type"] !== "application/x-amz-json-1.1") {
        return this.answer(res, request, { status: 400, code: "UnknownContentType" });
      }
    } else if (service === "elasticloadbalancing" || service === "sns") {
      const params = Object.fromEntries(new URLSearchParams(body));
      request = { service, action: params.Action ?? "unknown", params, status: 0 };
      if (params.Version !== SERVICES[service].version) {
        return this.answer(res, request, {
          status: 400,
          code: "InvalidAction",
          message: `Version ${params.Version}`,
        });
      }
    } else {
      res.writeHead(400).end(`no SigV4 credential scope naming a service this endpoint speaks: ${service}`);
      return;
    }

    this.received.push(request);
    const count = (this.inFlight.get(request.action) ?? 0) + 1;
    this.inFlight.set(request.action, count);
    this.maxInFlight.set(request.action, Math.max(count, this.maxInFlight.get(request.action) ?? 0));
    try {
      const delay = this.delays.get(request.action);
      if (delay) await new Promise((resolve) => setTimeout(resolve, delay));
      const scripted = this.faults.find(
        (f) => f.action === request.action && f.remaining > 0 && f.when(request.params),
      );
      if (scripted) {
        scripted.remaining--;
        if ("code" in scripted.fault) return this.answer(res, request, scripted.fault);
        await new Promise((resolve) => setTimeout(resolve, (scripted.fault as { stallMs: number }).stallMs));
        if (res.destroyed || req.socket.destroyed) {
          this.requests.push(request);
          return;
        }
      }
      const outcome = this.operate(request);
      return this.answer(res, request, outcome);
    } finally {
      this.inFlight.set(request.action, (this.inFlight.get(request.action) ?? 1) - 1);
    }
  }

  /** The operation's effect on the state: its result, or the error AWS would answer. */
  private operate(request: WireRequest): { result: unknown } | WireFault {
    const p = request.params;
    switch (`${request.service}:${request.action}`) {
      case "elasticloadbalancing:DescribeRules": {
        if (typeof p.ListenerArn !== "string") return { status: 400, code: "ValidationError" };
        const start =
          typeof p.Marker === "string" ? Number(Buffer.from(p.Marker, "base64url").toString()) : 0;
        const size = Math.min(p.PageSize === undefined ? 400 : Number(p.PageSize), this.maxPageSize);
        const page = this.rules.slice(start, start + size);
        const next =
          start + size < this.rules.length
            ? Buffer.from(String(start + size)).toString("base64url")
            : undefined;
        return { result: { Rules: page, ...(next ? { NextMarker: next } : {}) } };
      }
      case "elasticloadbalancing:ModifyRule": {
        const rule = this.rules.find((r) => r.RuleArn === p.RuleArn);
        if (!rule)
          return { status: 400, code: "RuleNotFound", message: `rule ${String(p.RuleArn)} not found` };
        const decoded = decodeQuery(p as Record<string, string>);
        if (Array.isArray(decoded.Actions)) rule.Actions = decoded.Actions as Record<string, unknown>[];
        return { result: { Rules: [rule] } };
      }
      case "ssm:GetParameter": {
        const found = this.parameters.get(String(p.Name));
        if (!found) return { status: 400, code: "ParameterNotFound" };
        return {
          result: {
            Parameter: {
              Name: p.Name,
              Type: "String",
              Value: found.value,
              Version: found.version,
              DataType: "text",
            },
          },
        };
      }
      case "ssm:PutParameter": {
        const name = String(p.Name);
        const existing = this.parameters.get(name);
        if (existing && p.Overwrite !== true) return { status: 400, code: "ParameterAlreadyExists" };
        const version = (existing?.version ?? 0) + 1;
        this.parameters.set(name, { value: String(p.Value), version });
        return { result: { Version: version, Tier: "Standard" } };
      }
      case "sns:Publish":
        if (typeof p.Message !== "string") return { status: 400, code: "InvalidParameter" };
        return { result: { MessageId: `message-${this.nextId++}` } };
      default:
        return {
          status: 400,
          code: "InvalidAction",
          message: `${request.service} ${request.action} is not spoken here`,
        };
    }
  }

  private answer(
    res: http.ServerResponse,
    request: WireRequest,
    outcome: { result: unknown } | WireFault,
  ): void {
    const requestId = `request-${this.nextId++}`;
    const fault = "code" in outcome ? outcome : undefined;
    request.status = fault?.status ?? 200;
    if (fault) request.error = fault.code;
    this.requests.push(request);
    if (request.service === "ssm") {
      const body = fault
        ? { __type: fault.code, message: fault.message ?? fault.code }
        : (outcome as { result: unknown }).result;
      res
        .writeHead(request.status, {
          "content-type": "application/x-amz-json-1.1",
          "x-amzn-requestid": requestId,
        })
        .end(JSON.stringify(body));
      return;
    }
    const { xmlns } = SERVICES[request.service];
    const xml = fault
      ? `<ErrorResponse xmlns="${xmlns}"><Error><Type>${fault.status >= 500 ? "Receiver" : "Sender"}</Type>` +
        `<Code>${escapeXml(fault.code)}</Code><Message>${escapeXml(fault.message ?? fault.code)}</Message></Error>` +
        `<RequestId>${requestId}</RequestId></ErrorResponse>`
      : `<${request.action}Response xmlns="${xmlns}"><${request.action}Result>${toXml((outcome as { result: unknown }).result)}` +
        `</${request.action}Result><ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${request.action}Response>`;
    res
      .writeHead(request.status, { "content-type": "text/xml", "x-amzn-requestid": requestId })
      .end(`<?xml version="1.0" encoding="UTF-8"?>\n${xml}`);
  }
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A value as the Query protocol's XML: lists as `<member>` elements, structures as nested elements. */
function toXml(value: unknown): string {
  if (Array.isArray(value)) return value.map((v) => `<member>${toXml(v)}</member>`).join("");
  if (value !== null && typeof value === "object") {
    return Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `<${k}>${toXml(v)}</${k}>`)
      .join("");
  }
  return escapeXml(String(value));
}

/**
 * Query-protocol form fields (`Actions.member.1.ForwardConfig.TargetGroups.member.2.Weight=0`)
 * as the structure they serialize: `member.N` is the N-th item of a list; values stay strings.
 */
export function decodeQuery(fields: Record<string, string>): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    const parts = key.split(".");
    let node: Record<string, unknown> | unknown[] = root;
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      const last = i === parts.length - 1;
      if (part === "member" && Array.isArray(node)) continue;
      const isIndex = Array.isArray(node);
      const slot = isIndex ? Number(part) - 1 : part;
      const container = node as Record<string | number, unknown>;
      if (last) {
        container[slot] = value;
        break;
      }
      container[slot] ??= parts[i + 1] === "member" ? [] : {};
      node = container[slot] as Record<string, unknown> | unknown[];
    }
  }
  return root;
}
