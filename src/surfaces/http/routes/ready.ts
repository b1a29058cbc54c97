/**
 * `GET /readyz`: whether this gateway can serve, and if not, why. Ready means
 * its store answers; a failing channel does not make it unready (decisions go
 * on), it is shown so it gets fixed. Unauthenticated, as load balancers
 * expect: the answer names an error code and a message meant for operators,
 * never a connection string, a password or a stack.
 */
import { Hono } from 'hono';
import { isCountersignError, type ErrorCode } from '../../../core/errors.ts';
import type { Deps } from '../../../service/deps.ts';
import type { AppEnv } from '../context.ts';
import { withoutSecrets } from '../errors.ts';

export type StoreKind = 'sqlite' | 'postgres';

/** What an unexpected error of the store is reported as: its own text may hold paths, SQL or a URL. */
const UNEXPECTED = { code: 'STORE_UNAVAILABLE' as ErrorCode, message: 'the store failed to answer a read; see the gateway log (trace id) for the cause' };

/** A delivery's last error as this unauthenticated answer shows it: the error of a client library may quote the URL it was given, credentials and all. */
const lastError = (text: string | null | undefined): string | null => (text ? withoutSecrets(text) : null);

/**
 * @example
 * app.route('/readyz', readyRoutes(deps, { kind: 'sqlite', channels: ['slack'] }));
 */
export function readyRoutes(deps: Pick<Deps, 'store' | 'log' | 'inForce'>, o: { kind: StoreKind; channels: readonly string[] }): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get('/', async (c) => {
    let health: Awaited<ReturnType<Deps['store']['outboxHealth']>>;
    try {
      await deps.store.readAudit(1, 1);
      health = await deps.store.outboxHealth();
    } catch (e) {
      const traceId = c.get('traceId');
      deps.log.error({ traceId, err: e }, 'readiness: the store did not answer');
      const store = isCountersignError(e) ? { code: e.code, message: withoutSecrets(e.message) } : UNEXPECTED;
      return c.json({ ok: false, store: { ok: false, kind: o.kind, ...store }, traceId }, 503);
    }
    try {
      await deps.inForce?.check(0);
    } catch (e) {
      if (!isCountersignError(e, 'POLICY_NOT_IN_FORCE')) throw e;
      return c.json({ ok: false, store: { ok: true, kind: o.kind }, config: { ok: false, code: e.code, message: e.message } }, 503);
    }
    const configured = new Set(o.channels);
    const mine = health.filter((h) => configured.has(h.channel));
    const channels = Object.fromEntries(
      [...configured].map((name) => {
        const h = mine.find((x) => x.channel === name);
        return [name, { status: h?.failing ? 'failing' : 'ok', pending: h?.pending ?? 0, dead: h?.dead ?? 0, oldestPending: h?.oldest ?? null, lastError: h?.failing || (h?.dead ?? 0) > 0 ? lastError(h?.lastError) : null }];
      }),
    );
    return c.json({ ok: true, store: { ok: true, kind: o.kind }, channels });
  });
  return app;
}
