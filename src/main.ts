/**
 * The composition root (with main-deps.ts, which builds the dependencies, main-store.ts, which opens stores,
 * main-policy.ts, which compiles the policy, and main-mcp.ts, the local MCP server): the only files that know every
 * adapter. It turns a validated config into a running gateway and hands
 * back a way to stop it.
 */
import { serve, type ServerType } from '@hono/node-server';
import { createLogger } from './adapters/logger.ts';
import { sqlOffload } from './adapters/executor/sql/analysis-offload.ts';

import { heldSecrets } from './config/held-secrets.ts';
export { createLogger, heldSecrets };
import { coverageSubjects } from './config/coverage-subjects.ts';
import type { Config } from './config/schema.ts';
import type { Leases } from './core/ports.ts';
import { createPasskeyCeremony } from './adapters/identity/webauthn.ts';
import { relyingPartyOf } from './config/webauthn-schema.ts';
import cluster from 'node:cluster';
import { createLeases } from './adapters/leases/index.ts';
import type { Deps } from './service/deps.ts';
import { expireDue } from './service/expire.ts';
import { escalateDue } from './service/escalate.ts';
import { interruptOverdue, recover, resumeApproved } from './service/recover.ts';
import { signCheckpoint } from './service/checkpoint.ts';
import { endExpiredSessions } from './service/session-end.ts';
import { recordPolicyLoaded } from './service/policy-loaded.ts';
import { IN_FORCE_MAX_AGE_MS, takeConfigInForce } from './service/config-in-force.ts';
import { watchTools } from './service/tool-sync.ts';
import { IN_MEMORY_CONFIG } from './service/store-owner.ts';
import { hostname, userInfo } from 'node:os';
import { createHttpApp } from './surfaces/http/app.ts';
import type { PgListener } from './surfaces/pg/server.ts';
import { createAuthenticator } from './service/authenticate.ts';
import type { ConfiguredChannels } from './adapters/channel/index.ts';
import { startDeliveryWorker } from './service/deliver.ts';
import { createDeps, type StartOptions } from './main-deps.ts';

export { createDeps, type StartOptions };

export interface Gateway {
  readonly url: string;
  readonly port: number;
  /** The Postgres wire listener's port, when `server.postgres` is configured. */
  readonly postgresPort?: number;
  readonly deps: Deps & { channels: ConfiguredChannels };
  close(): Promise<void>;
}

/**
 * Starts the gateway: recover what a previous run left, sweep expiries, listen.
 *
 * @example
 * const gw = await startGateway(loadConfig('countersign.yaml'));
 * console.log(gw.url); // http://127.0.0.1:8700
 */
export async function startGateway(config: Config, opts: StartOptions = {}): Promise<Gateway> {
  // Before anything is judged (recovery judges approved requests again): each long SQL text's share of the CPU.
  sqlOffload.setTimeLimit(config.server.sqlAnalysisSeconds * 1000);
  // Known once the server listens (port 0 picks one); links in messages and the passkeys' relying party read it then.
  let publicUrl = '';
  const deps = {
    ...(await createDeps(config, opts)),
    // Step-up approvals are confirmed in the console: without it, there are no passkeys and no page to link to.
    ...(config.console.enabled
      ? {
          passkeys: createPasskeyCeremony(() => relyingPartyOf(config.console.webauthn, config.console.origin ?? publicUrl)),
          passkeyEnrolment: config.console.webauthn?.enrolment ?? 'any-sign-in',
          consoleUrl: (id: string) => `${publicUrl}/requests/${encodeURIComponent(id)}`,
        }
      : {}),
  };
  const loadedBy = `${userInfo().username}@${hostname()}`;
  await recordPolicyLoaded(deps, {
    file: opts.configFile ?? IN_MEMORY_CONFIG,
    loadedBy,
    ...(config.candidatePolicy ? { candidateFile: config.candidatePolicy.file } : {}),
  });
  // This config is now the one in force. Where another was, its processes stop deciding within IN_FORCE_MAX_AGE_MS:
  // waited out before anything is recovered or served, so that none decides under it once this one does.
  const loaded = {
    time: deps.clock.now().toISOString(),
    actor: loadedBy,
    file: opts.configFile ?? IN_MEMORY_CONFIG,
    principals: config.principals.map((p) => ({ id: p.id, kind: p.kind, groups: p.groups })),
  };
  if (deps.inForce && (await takeConfigInForce(deps.store, deps.inForce.generation, loaded))) {
    deps.log.info({ generation: deps.inForce.generation }, 'the config changed: gateways on this store still running the one before refuse to decide until restarted with it');
    await new Promise((r) => setTimeout(r, IN_FORCE_MAX_AGE_MS + 500));
  }
  // Before recovery: resuming an approved MCP call derives its facts from the tool listing.
  await watchTools(deps);
  const recovered = await recover(deps);
  if (recovered.interrupted || recovered.resumed || recovered.expired) deps.log.info(recovered, 'recovered requests from the previous run');

  // Sweeps and checkpoints run in one process among the replicas and workers on the store; every one serves requests.
  const sweepMs = opts.sweepMs ?? 1000;
  let leases: Leases;
  try {
    leases = await createLeases(config, { log: deps.log, everyMs: sweepMs });
  } catch (e) {
    await deps.close();
    throw e;
  }
  const sweep = setInterval(() => {
    leases.tryLead('sweep').then(
      (leading) => {
        if (!leading) return;
        expireDue(deps).catch((e: unknown) => deps.log.error({ err: e }, 'expiry sweep failed'));
        escalateDue(deps).catch((e: unknown) => deps.log.error({ err: e }, 'escalation sweep failed'));
        interruptOverdue(deps).catch((e: unknown) => deps.log.error({ err: e }, 'interrupted-run sweep failed'));
        resumeApproved(deps, 5000).catch((e: unknown) => deps.log.error({ err: e }, 'approved-request sweep failed'));
        endExpiredSessions(deps).catch((e: unknown) => deps.log.error({ err: e }, 'console session sweep failed'));
      },
      (e: unknown) => deps.log.error({ err: e }, 'taking the sweep lease failed'),
    );
  }, sweepMs);
  sweep.unref();

  // A signed checkpoint after `events` new events or `seconds` seconds, whichever comes first, and at shutdown.
  // The latest checkpoint is read from the store each time: another process may have signed since.
  const every = config.audit.checkpoint;
  let latest = { size: (await deps.store.checkpoints({ latest: true }))[0]?.size ?? 0, seenAt: Date.now() };
  const checkpointNow = async () => {
    if (!(await leases.tryLead('checkpoint'))) return;
    const size = (await deps.store.checkpoints({ latest: true }))[0]?.size ?? 0;
    if (size !== latest.size) latest = { size, seenAt: Date.now() };
    const head = await deps.store.treeHead();
    if (head.size === latest.size) return;
    // A log shorter than its newest checkpoint goes on to signCheckpoint, which refuses it: an error logged, not a silent stop.
    if (head.size > latest.size && head.size - latest.size < every.events && Date.now() - latest.seenAt < every.seconds * 1000) return;
    const cp = await signCheckpoint(deps);
    if (cp) latest = { size: cp.size, seenAt: Date.now() };
  };
  const checkpoints = setInterval(() => {
    checkpointNow().catch((e: unknown) => deps.log.error({ err: e }, 'signing a checkpoint failed'));
  }, Math.min(1000, every.seconds * 1000));
  checkpoints.unref();

  const requestUrl = (id: string) => `${publicUrl}/requests/${encodeURIComponent(id)}`;
  const app = createHttpApp(deps, {
    channels: [...deps.channels.channels.keys()],
    storeKind: config.store.postgres ? 'postgres' : 'sqlite',
    ...(deps.expose ? { metrics: deps.expose, ...(config.metrics.token ? { metricsToken: config.metrics.token } : {}) } : {}),
    ...(config.channels.slack && deps.channels.slackApi ? { slack: { config: config.channels.slack, api: deps.channels.slackApi } } : {}),
    ...(config.channels.teams && deps.channels.teamsConnector ? { teams: { config: config.channels.teams, connector: deps.channels.teamsConnector, requestUrl } } : {}),
    bodyLimitBytes: config.server.bodyLimitBytes,
    maxWaitSeconds: config.server.maxWaitSeconds,
    maxExportEvents: config.audit.maxExportEvents,
    requestUrl,
    coverageSubjects: coverageSubjects(config),
    console: {
      enabled: config.console.enabled,
      sessionTtlSeconds: config.console.sessionTtl,
      ...(config.console.secureCookies !== undefined ? { secureCookies: config.console.secureCookies } : {}),
      ...(config.console.origin ? { origin: config.console.origin } : {}),
      principals: config.principals.map((p) => p.id),
      ...(config.identity.login ? { login: config.identity.login } : {}),
      clockSkewSeconds: config.identity.clockSkewSeconds,
    },
    ...(opts.mcpProgressSeconds !== undefined ? { mcpProgressSeconds: opts.mcpProgressSeconds } : {}),
  });
  // Which worker of `server.workers` answered: how an operator (and a test) sees the load spread.
  const worker = cluster.isWorker ? String(cluster.worker?.id ?? '') : undefined;
  const fetch: typeof app.fetch = worker === undefined ? app.fetch : async (...args) => withHeader(await app.fetch(...args), 'x-countersign-worker', worker);
  const server = await new Promise<ServerType>((resolve, reject) => {
    const s = serve({ fetch, port: config.server.port, hostname: config.server.host }, () => resolve(s));
    s.once('error', reject);
  }).catch(async (e: unknown) => {
    clearInterval(sweep);
    clearInterval(checkpoints);
    await leases.close();
    await deps.close();
    throw e;
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.server.port;
  const host = config.server.host.includes(':') ? `[${config.server.host}]` : config.server.host;
  const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;
  deps.log.info({ url }, 'countersign gateway listening');

  publicUrl = (config.channels.publicUrl ?? config.console.origin ?? url).replace(/\/$/, '');
  const stopDelivery = startDeliveryWorker(deps, { channels: deps.channels.channels, requestUrl });

  let pgListener: PgListener | undefined;
  if (config.server.postgres) {
    const p = config.server.postgres;
    try {
      // Loaded only with a listener configured: the wire protocol's modules are 5 MB of heap a gateway without one never uses.
      const { startPgListener } = await import('./surfaces/pg/server.ts');
      pgListener = await startPgListener(deps, {
        host: p.host,
        port: p.port,
        holdSeconds: p.holdSeconds,
        maxSessions: p.maxSessions,
        maxSessionsPerPrincipal: p.maxSessionsPerPrincipal,
        authenticationSeconds: p.authenticationSeconds,
        maxUnauthenticated: p.maxUnauthenticated,
        maxMessageBytes: p.maxMessageBytes,
        maxCopyBytes: p.maxCopyBytes,
        ...(p.tls ? { tls: p.tls } : {}),
        authenticate: createAuthenticator(deps),
        requestUrl,
      });
    } catch (e) {
      clearInterval(sweep);
      clearInterval(checkpoints);
      await stopDelivery();
      server.close();
      await leases.close();
      await deps.close();
      throw e;
    }
    deps.log.info({ host: p.host, port: pgListener.port }, 'postgres wire listener listening');
  }

  return {
    url,
    port,
    ...(pgListener ? { postgresPort: pgListener.port } : {}),
    deps,
    async close() {
      clearInterval(sweep);
      clearInterval(checkpoints);
      await pgListener?.close();
      await stopDelivery();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      });
      await signCheckpoint(deps).catch((e: unknown) => deps.log.error({ err: e }, 'signing the final checkpoint failed'));
      // Handed over at once: another process on the store sweeps from its next tick.
      await leases.close().catch((e: unknown) => deps.log.error({ err: e }, 'releasing the background-job leases failed'));
      await deps.close();
    },
  };
}

/** `res` with one more header (a Response made with immutable headers is copied). */
function withHeader(res: Response, name: string, value: string): Response {
  try {
    res.headers.set(name, value);
    return res;
  } catch {
    const copy = new Response(res.body, res);
    copy.headers.set(name, value);
    return copy;
  }
}
