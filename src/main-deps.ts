/**
 * The gateway's dependencies built from a config, without a listening socket: the part of the composition root
 * (main.ts) that `countersign mcp --config` (main-mcp.ts) needs too. Apart from main.ts so that process does not
 * load the HTTP server, the console and the background jobs it never runs.
 */
import type { Logger } from 'pino';
import { createLogger } from './adapters/logger.ts';
import { heldSecrets } from './config/held-secrets.ts';
import type { Config } from './config/schema.ts';
import { createPolicyDeps } from './main-policy.ts';
import type { CheckpointSigner, Clock, IdGenerator } from './core/ports.ts';
import { CountersignError } from './core/errors.ts';
import { createTracing, logWithRequest } from './adapters/tracing/index.ts';
import { tracedIdentity, tracedStore } from './adapters/tracing/traced-ports.ts';
import { createNotifier, type ClosableNotifier } from './adapters/notifier/index.ts';
import { randomIds, systemClock } from './adapters/system.ts';
import { storeClock, type StoreClock } from './adapters/store-clock.ts';
import type { Deps } from './service/deps.ts';
import { createWaitSlots } from './service/wait-slots.ts';
import { configInForce } from './service/config-in-force.ts';
import { configGeneration } from './config/generation.ts';
import { createCheckpointSigner } from './adapters/signer/checkpoint-signer.ts';
import { openAuditHmac, type AuditHmac } from './adapters/signer/audit-hmac.ts';
import { openOwnedStore, storeAuditOrigin } from './main-store.ts';
import { createChannels, type ConfiguredChannels } from './adapters/channel/index.ts';
import { createMetrics, noopMetrics, type ConfiguredMetrics, type Exposition } from './adapters/metrics/index.ts';
import { meteredStore } from './service/metered-store.ts';

export interface StartOptions {
  /** The config file's path, recorded with a policy change. */
  readonly configFile?: string;
  readonly logger?: Logger;
  /** The time, taken as it is (tests freeze it). Without it: this machine's clock, on PostgreSQL set to the database's. */
  readonly clock?: Clock;
  /** This machine's clock, when not the system's (a test skews it); on PostgreSQL it is set to the database's time. */
  readonly hostClock?: Clock;
  readonly ids?: IdGenerator;
  /** How often pending requests are checked for expiry, in ms. */
  readonly sweepMs?: number;
  /** Seconds between progress notifications of a held MCP call. */
  readonly mcpProgressSeconds?: number;
  /**
   * Open what a gateway serving this config made — its store and its audit
   * HMAC key — creating nothing, and hold no signing key (this process signs
   * no checkpoint).
   */
  readonly joinGateway?: boolean;
}

/** For a process that joins a gateway: it signs nothing, so it holds no private key. */
function signerOfNone(origin: string): CheckpointSigner {
  return {
    origin,
    sign() {
      throw new CountersignError('INTERNAL', 'this process signs no checkpoint; the gateway serving its store does');
    },
    verifierKeys: () => [],
    lastSigned: () => null,
    recordSigned() {},
  };
}

/** Milliseconds between measurements of this machine's clock against the store's. */
const ALIGN_EVERY_MS = 10_000;

/** This machine's clock set to the store's time, measured now (and every ALIGN_EVERY_MS); a large offset is logged. */
async function alignToStore(machine: Clock, storeTime: () => Promise<Date>, log: Pick<Deps['log'], 'warn'>): Promise<StoreClock> {
  let warned = false;
  const clock = storeClock(machine, storeTime, {
    everyMs: ALIGN_EVERY_MS,
    onError: (e) => log.warn({ err: e }, 'measuring this machine\'s clock against the database failed; the last offset stands'),
    onOffset: (offsetMs) => {
      if (Math.abs(offsetMs) < 1000 || warned) return;
      warned = true;
      log.warn({ offsetMs: Math.round(offsetMs) }, 'this machine\'s clock differs from the database\'s by more than a second; the gateway runs on the database\'s time (keep NTP running)');
    },
  });
  await clock.align();
  return clock;
}

/** Builds the service dependencies from a config (no listening socket). */
export async function createDeps(
  config: Config,
  opts: StartOptions = {},
): Promise<Deps & { close(): Promise<void>; channels: ConfiguredChannels; expose?: () => Promise<Exposition> }> {
  const logger = opts.logger ?? createLogger(config.log.level, 1, heldSecrets(config));
  // Off, only the request id of the work in progress is kept, for log lines at debug; on, the SDK is loaded now.
  const tracing = await createTracing(config.tracing, logger);
  const log = logWithRequest(logger, tracing.currentRequest);
  // Replicas on machines of their own judge time on the database's clock, measured once the store is open.
  let aligned: StoreClock | undefined;
  const shared = opts.clock ?? (config.store.postgres ? { now: () => (aligned ?? opts.hostClock ?? systemClock).now() } : (opts.hostClock ?? systemClock));
  const { policy, candidate, connections, identity: bareIdentity, clock } = await createPolicyDeps(config, { ...opts, clock: shared, ...(tracing.enabled ? { traceHeaders: tracing.outgoing } : {}) });
  const identity = tracing.enabled ? tracedIdentity(bareIdentity, tracing) : bareIdentity;
  const channels = createChannels(config, clock);
  const joining = opts.joinGateway === true;
  const opened = await openOwnedStore(config, opts.configFile, { claim: !joining, mustExist: joining, outbox: channels.router });
  const store = tracing.enabled ? tracedStore(opened, tracing) : opened;
  if (!opts.clock && opened.storeTime) aligned = await alignToStore(opts.hostClock ?? systemClock, opened.storeTime.bind(opened), log);
  let mask: AuditHmac;
  try {
    mask = openAuditHmac(config.audit.keyDir, { create: !joining });
  } catch (e) {
    await store.close();
    throw e;
  }
  let signer: CheckpointSigner;
  try {
    const origin = await storeAuditOrigin(config, opened, { claim: !joining });
    signer = joining ? signerOfNone(origin) : createCheckpointSigner(config.audit.keyDir, origin);
  } catch (e) {
    await store.close();
    throw e;
  }
  let notifier: ClosableNotifier;
  try {
    notifier = await createNotifier(config, { load: (id) => store.getRequest(id), log });
  } catch (e) {
    await store.close();
    throw e;
  }
  const waitPollMs = Number(process.env['COUNTERSIGN_WAIT_POLL_MS']);
  // A process that joins a gateway (the local MCP server) serves no /metrics: it keeps none.
  let telemetry: ConfiguredMetrics;
  try {
    telemetry = joining ? { metrics: noopMetrics } : await createMetrics(config.metrics, { store, clock, channels: [...channels.channels.keys()], log });
  } catch (e) {
    await notifier.close();
    await store.close();
    throw e;
  }
  return {
    signer,
    sensitive: { mask, paths: config.audit.sensitive, derive: mask.derive },
    store: telemetry.expose ? meteredStore(store, telemetry.metrics) : store,
    metrics: telemetry.metrics,
    ...(telemetry.expose ? { expose: telemetry.expose } : {}),
    connections,
    identity,
    policy,
    ...(candidate ? { candidate } : {}),
    // A process that joins a gateway checks the gateway's policy itself (main-mcp.ts) and records nothing.
    ...(joining ? {} : { inForce: configInForce(store, configGeneration(config, policy().hash)) }),
    clock,
    ...(config.identity.login ? { groupsMaxAgeSeconds: config.identity.login.groupsMaxAge, signInIssuer: config.identity.login.issuer, signInGroups: { groupMap: config.identity.login.groupMap, trustGroups: config.identity.login.trustGroups === true }, cliSignIn: config.identity.login.cli !== undefined && config.console.enabled } : {}),
    ids: opts.ids ?? randomIds,
    notifier,
    // A diagnostic knob (tests use it to prove that only the notifier woke a waiter): never needed in production.
    ...(Number.isInteger(waitPollMs) && waitPollMs > 0 ? { waitPollMs } : {}),
    runGraceMs: config.server.runGrace * 1000,
    // 0: no cap.
    ...(config.server.maxPendingPerPrincipal > 0 ? { maxPendingPerPrincipal: config.server.maxPendingPerPrincipal } : {}),
    waits: createWaitSlots(config.server.maxWaitsPerPrincipal, { metrics: telemetry.metrics, log, identity }),
    log,
    tracer: tracing,
    channels,
    async close() {
      aligned?.stop();
      await connections.close();
      await notifier.close();
      await store.close();
      // Last: the spans of the work that just ended are exported before the gateway is gone.
      await tracing.close();
    },
  };
}
