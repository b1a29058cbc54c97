/**
 * The HTTP app: trace ids, body limit, bearer authentication on /v1, the
 * routes, and one error handler that turns codes into statuses; the web
 * console at `/` (cookie sessions, never bearer keys).
 */
import { randomUUID } from 'node:crypto';
import { Hono, type MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import { isCountersignError } from '../../core/errors.ts';
import { createAuthenticator } from '../../service/authenticate.ts';
import { sessionCredential } from '../../service/session-credential.ts';
import { IN_FORCE_MAX_AGE_MS } from '../../service/config-in-force.ts';
import { coverageReader } from '../../service/coverage.ts';
import type { CoverageSubject } from '../../core/policy/coverage-subjects.ts';
import { remoteOf } from './remote.ts';
import { requestHeader } from './headers.ts';
import type { Deps } from '../../service/deps.ts';
import { consoleRoutes } from './console/index.ts';
import { cliLoginRoutes } from './console/cli-login.ts';
import type { AppEnv, ConsoleSettings } from './context.ts';
import { HTTP_STATUS, withoutSecrets } from './errors.ts';
import { metricsRoutes, type Expose } from './routes/metrics.ts';
import { readyRoutes, type StoreKind } from './routes/ready.ts';
import { actionRoutes } from './routes/actions.ts';
import { auditRoutes } from './routes/audit.ts';
import { auditExportRoutes, evidenceRoutes } from './routes/audit-exports.ts';
import { policyRoutes } from './routes/policy.ts';
import { requestRoutes } from './routes/requests.ts';
import { grantRoutes } from './routes/grants.ts';
import { toolRoutes } from './routes/tools.ts';
import { mcpHttpRoutes } from '../mcp/http.ts';
import { slackRoutes, type SlackIntegration } from './integrations/slack.ts';
import { teamsRoutes, type TeamsIntegration } from './integrations/teams.ts';

export interface HttpOptions {
  readonly bodyLimitBytes: number;
  readonly maxWaitSeconds: number;
  /** The most events one period exported over the gateway may hold (audit.maxExportEvents; default 1,000,000). */
  readonly maxExportEvents?: number;
  /** The web console; on by default, with 8-hour sessions. */
  readonly console?: ConsoleSettings;
  /** Seconds between progress notifications of a held MCP call (default 5). */
  readonly mcpProgressSeconds?: number;
  /** Names of the configured outbound channels, reported by /readyz. */
  readonly channels?: readonly string[];
  /** Which store the gateway runs on, reported by /readyz (default sqlite). */
  readonly storeKind?: StoreKind;
  /** What `GET /metrics` answers; absent (metrics off): the path answers 404. */
  readonly metrics?: Expose;
  /** The bearer token a scrape of `/metrics` must send (metrics.token); absent: none. */
  readonly metricsToken?: string;
  /** Slack's interactivity endpoint, when Slack is configured. */
  readonly slack?: SlackIntegration;
  /** The Teams bot's messaging endpoint, when Teams is configured. */
  readonly teams?: TeamsIntegration;
  /** A request's page in the console (`<publicUrl>/requests/<id>`): linked from the answer to a held submission while the console is on. */
  readonly requestUrl?: (id: string) => string;
  /** The rows of the coverage map (config/coverage-subjects.ts); none when absent. */
  readonly coverageSubjects?: readonly CoverageSubject[];
}

/**
 * What a process on a config another gateway replaced still serves: whether it lives, why it is not ready, its metrics.
 * Everything else would act on the file it read (a chat workspace or tenant the operator removed, a sign-in provider
 * or group mapping replaced since), so it is refused, route by route as they come (service/config-in-force.ts).
 */
const SERVED_WHEN_NOT_IN_FORCE = new Set(['/healthz', '/readyz', '/readyz/', '/metrics', '/metrics/']);

const DEFAULT_CONSOLE: ConsoleSettings = { enabled: true, sessionTtlSeconds: 8 * 3600, principals: [] };

/**
 * @example
 * const app = createHttpApp(deps, { bodyLimitBytes: 1 << 20, maxWaitSeconds: 60 });
 */
export function createHttpApp(deps: Deps, opts: HttpOptions): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const authenticate = createAuthenticator(deps);
  const consoleSettings = opts.console ?? DEFAULT_CONSOLE;

  // A server span per request, the child of the caller's W3C trace context when it sent a valid one (tracing on);
  // and a scope that puts the request id, once known, on the request's log lines (the debug line below included).
  app.use('*', (c, next) =>
    deps.tracer.serve(c.req.method, { 'http.request.method': c.req.method, 'url.path': c.req.path }, () => ({ traceparent: c.req.header('traceparent'), tracestate: c.req.header('tracestate') }), async (call) => {
      const started = performance.now();
      await next();
      deps.log.debug({ method: c.req.method, path: c.req.path, status: c.res.status, ms: Math.round(performance.now() - started) }, 'http request served');
      if (!call.recording) return;
      const route = routePath(c);
      call.rename(`${c.req.method} ${route}`);
      call.set({ 'http.route': route, 'http.response.status_code': c.res.status });
      if (c.res.status >= 500) call.failed();
    }),
  );

  app.use('*', async (c, next) => {
    const traceId = randomUUID();
    c.set('traceId', traceId);
    c.set('bodyLimit', opts.bodyLimitBytes);
    c.set('console', consoleSettings);
    c.set('exportLimit', opts.maxExportEvents ?? 1_000_000);
    // Before next(): a header added to a finished response makes Hono copy the whole Response.
    c.header('x-trace-id', traceId);
    await next();
  });

  app.onError((err, c) => {
    const traceId = c.get('traceId') ?? randomUUID();
    if (isCountersignError(err)) {
      const status = HTTP_STATUS[err.code];
      if (status >= 500) deps.log.error({ traceId, code: err.code, ...err.details }, err.message);
      const { cause: _cause, ...safe } = err.details as Record<string, unknown>;
      // A 5xx message may come from deep down (a store, a driver): never let a connection string through.
      const message = status >= 500 ? withoutSecrets(err.message) : err.message;
      return c.json({ error: { code: err.code, message, traceId, ...safe } }, status as 400);
    }
    deps.log.error({ traceId, err }, 'unhandled error');
    return c.json({ error: { code: 'INTERNAL', message: 'an unexpected error occurred; nothing ran because of it', traceId } }, 500);
  });

  const inForce = deps.inForce;
  if (inForce) {
    app.use('*', async (c, next) => {
      if (!SERVED_WHEN_NOT_IN_FORCE.has(c.req.path)) await inForce.check(IN_FORCE_MAX_AGE_MS);
      await next();
    });
  }

  app.notFound((c) => c.json({ error: { code: 'NOT_FOUND', message: 'no such route', traceId: c.get('traceId') } }, 404));

  app.get('/healthz', (c) => c.json({ ok: true }));
  if (opts.metrics) app.route('/metrics', metricsRoutes(opts.metrics, opts.metricsToken));
  app.route('/readyz', readyRoutes(deps, { kind: opts.storeKind ?? 'sqlite', channels: opts.channels ?? [] }));
  if (opts.slack) app.route('/', slackRoutes(deps, opts.slack));
  if (opts.teams) app.route('/', teamsRoutes(deps, opts.teams));

  const bearer: MiddlewareHandler<AppEnv> = async (c, next) => {
    const m = /^Bearer\s+(\S+)$/i.exec(requestHeader(c, 'authorization') ?? '');
    try {
      const meta = { surface: c.req.path.startsWith('/mcp') ? 'mcp' : 'rest', ...remoteOf(c) };
      const principal = await authenticate(m?.[1], meta);
      c.set('principal', principal);
      // For an answer that outlives the request (an event stream): the bearer checked again as it goes on.
      c.set('credential', sessionCredential(authenticate, deps.clock, m?.[1] ?? '', meta, principal));
    } catch (e) {
      // RFC 6750 §3: a refused bearer gets the challenge too.
      c.header('www-authenticate', m ? 'Bearer realm="countersign", error="invalid_token"' : 'Bearer realm="countersign"');
      throw e;
    }
    await next();
  };
  app.use('/v1/*', bearer);
  app.use('/mcp', bearer);

  app.get('/v1/whoami', (c) => {
    const p = c.get('principal');
    return c.json({ id: p.id, kind: p.kind, actsFor: p.actsFor, groups: p.groups, roles: deps.identity.roles(p) });
  });
  app.route('/v1/actions', actionRoutes(deps, consoleSettings.enabled && opts.requestUrl ? { consoleUrl: opts.requestUrl } : {}));
  app.route('/v1/requests', requestRoutes(deps, { maxWaitSeconds: opts.maxWaitSeconds }));
  app.route('/v1/grants', grantRoutes(deps));
  const coverage = coverageReader(deps, opts.coverageSubjects ?? []);
  app.route('/v1/policy', policyRoutes(deps, coverage));
  app.route('/v1/audit', auditRoutes(deps));
  app.route('/v1/audit', auditExportRoutes(deps));
  app.route('/v1/evidence', evidenceRoutes(deps));
  app.route('/v1/mcp', toolRoutes(deps));
  app.route('/mcp', mcpHttpRoutes(deps, opts.mcpProgressSeconds !== undefined ? { progressEverySeconds: opts.mcpProgressSeconds } : {}));
  // `countersign login`'s JSON endpoints, beside the console's sign-in flow they finish (answers in JSON, not pages).
  if (consoleSettings.enabled && consoleSettings.login) app.route('/', cliLoginRoutes(deps, consoleSettings.login, authenticate));
  if (consoleSettings.enabled) app.route('/', consoleRoutes(deps, consoleSettings, authenticate, coverage));
  return app;
}
