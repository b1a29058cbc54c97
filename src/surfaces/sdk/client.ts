/**
 * The typed client for agents and tools: `countersign/client`. `run` submits an action and resolves with its outcome,
 * waiting through an approval on the request's durable handle (long-poll), so a restart of the gateway or of the
 * client loses nothing: the request id is enough to resume.
 */

import type { ErrorCode, ClientErrorCode, RequestStatus, RequestView, GrantView, ToolPinView, AuditPeriod, EvidenceReportView, ActionRequest } from './views.ts';

export type { ErrorCode, ClientErrorCode, RequestStatus, RequestView, GrantView, ToolPinView, AuditPeriod, EvidenceReportView, ActionRequest } from './views.ts';

/** An error answer from the gateway, with its stable code. */
export class CountersignApiError extends Error {
  readonly code: ErrorCode | ClientErrorCode;
  readonly status: number;
  readonly body: unknown;
  constructor(status: number, code: ErrorCode | ClientErrorCode, message: string, body: unknown) {
    super(message);
    this.name = 'CountersignApiError';
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

export interface ClientOptions {
  /** The gateway, e.g. http://127.0.0.1:8700 */
  url: string;
  /** An API key (or, later, a bearer token). */
  key: string;
  fetch?: typeof fetch;
}

export interface SubmitOptions {
  /** Names this submission: a retry under the same key returns its request (`Idempotency-Key`, docs: README). */
  idempotencyKey?: string;
}

/** The header, as the IETF draft writes it: a Structured Field String (RFC 8941 §3.3.3), quotes and backslashes escaped. */
function idempotencyHeader(key: string | undefined): Record<string, string> {
  return key === undefined ? {} : { 'idempotency-key': `"${key.replace(/[\\"]/g, '\\$&')}"` };
}

/**
 * The idempotency key of one tool call's submission: SHA-256 of where the call was made (a thread, or none), the
 * call's id and the action, so the same call submitted again finds its request (its first answer lost, the framework
 * retrying), and no other call (another thread, another action under a reused id) ever does.
 *
 * @example
 * await cs.submit(action, { idempotencyKey: await toolCallKey('ai-sdk', null, toolCallId, action) });
 */
export async function toolCallKey(prefix: string, scope: string | null, callId: string, action: ActionRequest): Promise<string> {
  const text = JSON.stringify([scope, callId, action.connection, action.input ?? null, action.reason]);
  const digest = new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
  return `${prefix}-${Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

/** The statuses a request ends in: nothing changes it after one of them. */
export const TERMINAL: ReadonlySet<RequestStatus> = new Set(['denied', 'expired', 'cancelled', 'succeeded', 'failed']);

/** What a model is told when Countersign did not let an action run (or it failed); names the request so a human can find it. */
export function refusalOf(r: Pick<RequestView, 'id' | 'status' | 'error'>): string {
  const why = r.error?.message ? `: ${r.error.message}` : '';
  // Not final: a human approved it (or may still), and the gateway runs it. Never "not run": told so, a model asks again.
  if (r.status === 'approved' || r.status === 'executing') return `Countersign: request ${r.id} was approved and the gateway is running it; its outcome is not known yet. Do not retry it: it may have had its effect`;
  if (r.status === 'pending') return `Countersign: request ${r.id} is still waiting for a human decision and may still be approved and run. Do not retry it`;
  if (r.status === 'expired') return `Countersign: request ${r.id} expired before an approver decided; the action was not run`;
  if (r.status === 'cancelled') return `Countersign: request ${r.id} was cancelled; the action was not run${why}`;
  if (r.status === 'failed') return `Countersign ran the action (request ${r.id}) and it failed${why}`;
  return `Countersign denied this action (request ${r.id})${why}; the action was not run`;
}

/**
 * Whether a request, as the gateway shows it, is the action `input` on
 * `connection`: for an adapter that finds a tool call's request id in state its
 * process can edit. The gateway keeps an input normalized and shows it
 * redacted (an HTTP method in capitals, an MCP call's absent `arguments` as
 * `{}`, the value of most headers as `[redacted]`), so `input` is compared as
 * it would be shown; key order and `undefined` members do not matter.
 *
 * @example
 * if (!isActionOf(await cs.get(id), 'billing-api', { method: 'post', path: '/refunds' })) throw new Error('not this call');
 */
export function isActionOf(r: Pick<RequestView, 'action'>, connection: string, input: unknown): boolean {
  return r.action?.connection === connection && canonicalJson(r.action.input) === canonicalJson(asShown(input, r.action.input));
}

function asShown(input: unknown, shown: unknown): unknown {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return input;
  const i: Record<string, unknown> = { ...input };
  if (typeof i['method'] === 'string') i['method'] = i['method'].toUpperCase();
  if (typeof i['tool'] === 'string' && i['arguments'] === undefined) i['arguments'] = {};
  const seen = (shown as { headers?: unknown } | null)?.headers as Record<string, unknown> | undefined;
  if (i['headers'] && typeof i['headers'] === 'object' && seen && typeof seen === 'object') {
    i['headers'] = Object.fromEntries(Object.entries(i['headers']).map(([k, v]) => [k, Object.hasOwn(seen, k) && seen[k] === '[redacted]' ? '[redacted]' : v]));
  }
  return i;
}

/** JSON as it is sent (undefined members dropped), keys sorted. */
function canonicalJson(v: unknown): string {
  const sorted = (x: unknown): unknown =>
    Array.isArray(x) ? x.map(sorted) : x && typeof x === 'object' ? Object.fromEntries(Object.keys(x).sort().map((k) => [k, sorted((x as Record<string, unknown>)[k])])) : x;
  return JSON.stringify(sorted(JSON.parse(JSON.stringify(v ?? null)) as unknown));
}

/**
 * A request id as one path segment. `.` and `..` survive percent-encoding and a URL resolves them
 * (`/v1/requests/../cancel` is `/v1/cancel`), so they are refused: an id may come from a run's state, which its
 * process can edit.
 */
function segment(id: string): string {
  if (typeof id !== 'string' || id === '' || id === '.' || id === '..') throw new TypeError('countersign: not a request id');
  return encodeURIComponent(id);
}

/**
 * The gateway's URL, refused at once (without quoting it) when it holds a user or password: fetch would refuse
 * every call with an error quoting the whole URL, and an adapter hands a tool's error to the model.
 */
function checkedUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new TypeError('countersign: the gateway URL is not a URL (http://host:port or https://host)');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new TypeError('countersign: the gateway URL must be http:// or https://');
  if (u.username || u.password) throw new TypeError('countersign: the gateway URL must not hold a user or password; pass the API key as key');
  return url.replace(/\/$/, '');
}

/**
 * The key as it will be sent, trimmed of the whitespace a file or a variable leaves around it; refused at once
 * (without quoting it) when a header cannot carry it: fetch's own error would quote the whole header, key and all.
 */
function checkedKey(key: string): string {
  const k = (key ?? '').trim();
  if (!k) throw new TypeError('countersign: no API key (or token) given');
  if (!/^[\x21-\x7e]+$/.test(k)) throw new TypeError('countersign: the API key holds a character an HTTP header cannot carry (whitespace or non-ASCII)');
  return k;
}

function periodQuery(o: AuditPeriod): URLSearchParams {
  const q = new URLSearchParams();
  if (o.from !== undefined) q.set('from', String(o.from));
  if (o.to !== undefined) q.set('to', String(o.to));
  return q;
}

/**
 * @example
 * const cs = createClient({ url: 'http://127.0.0.1:8700', key: process.env.COUNTERSIGN_KEY! });
 * const r = await cs.run({ connection: 'orders-db', input: { sql: 'select 1' }, reason: 'health check' });
 * if (r.status === 'succeeded') console.log(r.result);
 */
export function createClient(opts: ClientOptions) {
  const base = checkedUrl(opts.url);
  const key = checkedKey(opts.key);
  const doFetch = opts.fetch ?? fetch;

  async function call<T>(method: string, path: string, body?: unknown, signal?: AbortSignal, headers: Record<string, string> = {}): Promise<{ status: number; body: T }> {
    const res = await doFetch(`${base}${path}`, {
      method,
      headers: { ...headers, authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      // The gateway never redirects its API: a redirect is someone else's answer, and following it would
      // take the key (and the action) where the caller did not send them.
      redirect: 'error',
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      ...(signal ? { signal } : {}),
    });
    return { status: res.status, body: parsed(res.status, await res.text()) as T };
  }

  function parsed(status: number, text: string): unknown {
    try {
      return text ? JSON.parse(text) : undefined;
    } catch {
      throw new CountersignApiError(status, 'INVALID_RESPONSE', `the gateway answered ${status} with a body that is not JSON`, text);
    }
  }

  function fail(status: number, body: unknown): never {
    const e = (body as { error?: { code?: ErrorCode; message?: string } } | undefined)?.error;
    throw new CountersignApiError(status, e?.code ?? 'HTTP_ERROR', e?.message ?? `the gateway answered ${status}`, body);
  }

  async function ok<T>(p: Promise<{ status: number; body: T }>): Promise<T> {
    const r = await p;
    if (r.status >= 400) fail(r.status, r.body);
    return r.body;
  }

  const client = {
    /**
     * Submits an action. A policy denial resolves too: with the denied request. With `idempotencyKey` (1–255 visible
     * ASCII characters, e.g. a UUID made once per action), submitting again under the same key returns the request
     * the first submission made instead of making another: safe to retry after a lost answer.
     */
    async submit(action: ActionRequest, o: SubmitOptions = {}): Promise<RequestView> {
      const r = await call<RequestView & { request?: RequestView }>('POST', '/v1/actions', action, undefined, idempotencyHeader(o.idempotencyKey));
      if (r.status === 403 && r.body.request) return r.body.request;
      if (r.status >= 400) fail(r.status, r.body);
      return r.body;
    },
    get: async (id: string) => ok(call<RequestView>('GET', `/v1/requests/${segment(id)}`)),
    /** Long-polls until the status moves from `from` (default: what it is now), or `seconds` pass. */
    wait: async (id: string, o: { seconds?: number; from?: RequestStatus; signal?: AbortSignal } = {}) =>
      ok(call<RequestView>('GET', `/v1/requests/${segment(id)}?wait=${o.seconds ?? 30}${o.from ? `&from=${encodeURIComponent(o.from)}` : ''}`, undefined, o.signal)),
    list: async (o: { status?: RequestStatus[]; reviewable?: boolean; limit?: number } = {}) => {
      const q = new URLSearchParams();
      if (o.status?.length) q.set('status', o.status.join(','));
      if (o.reviewable !== undefined) q.set('reviewable', String(o.reviewable));
      if (o.limit) q.set('limit', String(o.limit));
      return (await ok(call<{ requests: RequestView[] }>('GET', `/v1/requests?${q}`))).requests;
    },
    review: async (id: string, r: { verdict: 'approve' | 'deny'; comment?: string; digest?: string; grant?: { uses: number; for: string } }) => ok(call<RequestView>('POST', `/v1/requests/${segment(id)}/reviews`, r)),
    grants: async (o: { active?: boolean } = {}) => (await ok(call<{ grants: GrantView[] }>('GET', `/v1/grants${o.active ? '?active=true' : ''}`))).grants,
    revokeGrant: (id: string) => ok(call<GrantView>('POST', `/v1/grants/${segment(id)}/revoke`, {})),
    breakGlass: async (id: string, justification: string) => ok(call<RequestView>('POST', `/v1/requests/${segment(id)}/break-glass`, { justification })),
    cancel: async (id: string, reason?: string) => ok(call<RequestView>('POST', `/v1/requests/${segment(id)}/cancel`, reason ? { reason } : {})),
    revert: async (id: string, reason?: string) => ok(call<RequestView>('POST', `/v1/requests/${segment(id)}/revert`, reason ? { reason } : {})),
    simulate: (s: { connection: string; input: unknown; principal?: string; reason?: string }) =>
      ok(call<{ effect: string; rules: string[]; message: string | null; facts: unknown; approvers: unknown[] }>('POST', '/v1/policy/simulate', s)),
    /** MCP tool pins (humans): each upstream tool's accepted definition and any change seen since. */
    mcpTools: async (o: { connection?: string; changed?: boolean } = {}) => {
      const q = new URLSearchParams();
      if (o.connection) q.set('connection', o.connection);
      if (o.changed) q.set('changed', 'true');
      return (await ok(call<{ tools: ToolPinView[] }>('GET', `/v1/mcp/tools?${q}`))).tools;
    },
    /** Accepts the changed definition of one tool (humans), named by the hash you reviewed. */
    acceptTool: (connection: string, tool: string, hash: string) =>
      ok(call<ToolPinView>('POST', `/v1/mcp/tools/${encodeURIComponent(connection)}/${encodeURIComponent(tool)}/accept`, { hash })),
    /** Who the key or token is: id, kind, the human it acts for, groups, and roles (`auditor`, `admin`; none for an agent). */
    whoami: () => ok(call<{ id: string; kind: string; actsFor: string | null; groups: string[]; roles: ('auditor' | 'admin')[] }>('GET', '/v1/whoami')),

    /**
     * The verifiable audit bundle of a period as a tar stream (a human with the auditor or admin role; refused
     * with ROLE_REQUIRED otherwise). Verify the file offline: `countersign audit verify bundle.tar --verifier-key …`.
     */
    async auditExportStream(o: AuditPeriod = {}): Promise<ReadableStream<Uint8Array>> {
      const res = await doFetch(`${base}/v1/audit/export?${periodQuery(o)}`, { headers: { authorization: `Bearer ${key}` }, redirect: 'error' });
      if (res.status >= 400 || !res.body) fail(res.status, parsed(res.status, await res.text()));
      return res.body;
    },
    /** `auditExportStream`, read whole: the bytes of the tar. */
    auditExport: async (o: AuditPeriod = {}) => new Uint8Array(await new Response(await client.auditExportStream(o)).arrayBuffer()),
    /** The evidence report of a period (auditor or admin): `from` inclusive, `to` exclusive, mapped to one framework. */
    evidenceReport: (o: { from: string; to: string; framework: EvidenceReportView['framework'] }) =>
      ok(call<EvidenceReportView>('GET', `/v1/evidence/report?${new URLSearchParams({ from: o.from, to: o.to, framework: o.framework, format: 'json' })}`)),

    /** Waits until the request is final (or `timeoutMs` passes) and returns it as it stands. */
    async settle(id: string, o: { timeoutMs?: number; onChange?: (r: RequestView) => void; signal?: AbortSignal } = {}): Promise<RequestView> {
      const end = Date.now() + (o.timeoutMs ?? 24 * 3600 * 1000);
      let r = await client.get(id);
      while (!TERMINAL.has(r.status) && Date.now() < end && !o.signal?.aborted) {
        const seconds = Math.max(1, Math.min(30, Math.ceil((end - Date.now()) / 1000)));
        const next = await client.wait(id, { seconds, from: r.status, ...(o.signal ? { signal: o.signal } : {}) });
        if (next.status !== r.status) o.onChange?.(next);
        r = next;
      }
      return r;
    },

    /**
     * Submits and resolves with the final request: succeeded or failed (with
     * its result), denied, expired or cancelled. `onPending` is called once if
     * the action is held for approval.
     */
    async run(
      action: ActionRequest,
      o: SubmitOptions & { timeoutMs?: number; onPending?: (r: RequestView) => void; onChange?: (r: RequestView) => void; signal?: AbortSignal } = {},
    ): Promise<RequestView> {
      const first = await client.submit(action, o.idempotencyKey === undefined ? {} : { idempotencyKey: o.idempotencyKey });
      if (TERMINAL.has(first.status)) return first;
      if (first.status === 'pending') o.onPending?.(first);
      return client.settle(first.id, o);
    },
  };
  return client;
}

export type CountersignClient = ReturnType<typeof createClient>;

/** How long the outcome of a request approved just before its withdrawal is waited for: it runs anyway. */
const LATE_RUN_WAIT_MS = 60_000;

/**
 * Withdraws a request its caller stopped waiting for, and says how it stands. A withdrawal that lost to an approval
 * (409: already decided) leaves a request the gateway runs anyway: its outcome is waited for (a minute at most),
 * never taken for "not run".
 *
 * @example
 * const r = await withdrawOrOutcome(cs, stillPending, 'no decision in time for the agent'); // cancelled, or the run's outcome
 */
export async function withdrawOrOutcome(client: CountersignClient, r: Pick<RequestView, 'id'>, reason: string): Promise<RequestView> {
  let now: RequestView;
  try {
    now = await client.cancel(r.id, reason);
  } catch {
    now = await client.get(r.id);
  }
  return now.status === 'approved' || now.status === 'executing' ? client.settle(now.id, { timeoutMs: LATE_RUN_WAIT_MS }) : now;
}

/**
 * `client.run`, but a request the caller stops waiting for (timeout, abort) is
 * cancelled: nobody would see its result, so a later approval must not run it.
 */
export async function runOrWithdraw(client: CountersignClient, action: Parameters<CountersignClient['run']>[0], o: Parameters<CountersignClient['run']>[1] & object): Promise<RequestView> {
  let held: string | undefined;
  const withdraw = async () => {
    if (held) await client.cancel(held, 'the agent stopped waiting for a decision').catch(() => undefined);
  };
  try {
    const r = await client.run(action, { ...o, onPending: (p) => ((held = p.id), o.onPending?.(p)) });
    if (TERMINAL.has(r.status)) return r;
    await withdraw();
    // Approved just before the withdrawal: it runs anyway, so wait for its outcome.
    const now = await client.get(r.id);
    return now.status === 'approved' || now.status === 'executing' ? await client.settle(r.id, { timeoutMs: LATE_RUN_WAIT_MS }) : now;
  } catch (e) {
    await withdraw();
    throw e;
  }
}
