/**
 * The Metrics port over prom-client, in a registry of the gateway's own (the
 * global one is left to whoever embeds us). prom-client writes each family as
 * one group — HELP, TYPE, then its samples — so the exposition is valid by
 * construction. What the store knows (pending requests, the outbox) is read
 * when a scrape asks, once per scrape, not kept in step by the use cases.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ChannelHealth } from '../../core/outbox.ts';
import type { Clock, Log, Metrics, Store } from '../../core/ports.ts';
import { isRefusalReason } from '../../core/refusals.ts';
import { processRegistry } from './process.ts';

/** One scrape's answer. */
export interface Exposition {
  readonly contentType: string;
  readonly body: string;
}

export interface PromMetrics extends Metrics {
  /** The gateway's families and the process's, in the text exposition format (version 0.0.4). */
  expose(): Promise<Exposition>;
  /** The registries a cluster worker reports to its primary (the gateway's, then the process's). */
  readonly registries: readonly Registry[];
}

export interface PromOptions {
  /** Where the collect-time gauges come from. */
  readonly store: Pick<Store, 'pendingSummary' | 'outboxHealth'>;
  readonly clock: Clock;
  /** The configured channels: each has its outbox gauges, 0 until it has had a delivery. */
  readonly channels: readonly string[];
  readonly log: Log;
}

// Human decisions take seconds to days; upstream calls and audit commits, milliseconds to seconds.
const DECISION_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14_400, 43_200, 86_400];
const UPSTREAM_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const AUDIT_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** The surfaces that authenticate; a label value outside a known set is `other`, so no caller can grow a family's series. */
const SURFACES = new Set(['rest', 'mcp', 'console', 'postgres', 'mcp-stdio']);

/** Seconds that a clock step made negative or not a number count as 0. */
const seconds = (s: number) => (Number.isFinite(s) && s > 0 ? s : 0);

/**
 * @example
 * const metrics = createPromMetrics({ store, clock, channels: ['slack'], log });
 * metrics.requestSettled('orders-db', 'allow', 'succeeded');
 * (await metrics.expose()).body; // '# HELP countersign_requests_total …'
 */
export function createPromMetrics(o: PromOptions): PromMetrics {
  const registry = new Registry();
  const registers = [registry];

  const requests = new Counter({
    name: 'countersign_requests_total',
    help: 'Requests that reached a final status, by connection, the policy effect at submission and the final status.',
    labelNames: ['connection', 'effect', 'status'] as const,
    registers,
  });
  const decision = new Histogram({
    name: 'countersign_decision_seconds',
    help: 'Time from submission to the human decision on a held request (quorum approved, or a reviewer denied).',
    labelNames: ['decision'] as const,
    buckets: DECISION_BUCKETS,
    registers,
  });
  const upstream = new Histogram({
    name: 'countersign_upstream_duration_seconds',
    help: "Time one run took on a connection's upstream, by connection kind, connection and outcome (ok, error).",
    labelNames: ['kind', 'connection', 'outcome'] as const,
    buckets: UPSTREAM_BUCKETS,
    registers,
  });
  const policyErrors = new Counter({
    name: 'countersign_policy_errors_total',
    help: 'Policy rules that failed to evaluate (an error or an exceeded bound) and so denied, by rule id.',
    labelNames: ['rule'] as const,
    registers,
  });
  const audit = new Histogram({
    name: 'countersign_audit_append_duration_seconds',
    help: 'Time of a store write that committed audit events (one transaction, as its caller waited for it).',
    buckets: AUDIT_BUCKETS,
    registers,
  });
  const authFailures = new Counter({
    name: 'countersign_auth_failures_total',
    help: 'Presented credentials that were refused, by refusal reason and surface.',
    labelNames: ['reason', 'surface'] as const,
    registers,
  });
  const waitsRefused = new Counter({
    name: 'countersign_waits_refused_total',
    help: 'Waits (long-polls, event streams, held MCP calls) refused because their principal held server.maxWaitsPerPrincipal open, by surface.',
    labelNames: ['surface'] as const,
    registers,
  });

  // Read from the store at scrape time: one read of each kind per scrape, shared by the gauges it feeds
  // (prom-client asks every metric at once, so the gauges of one scrape share one promise).
  let inflight: Promise<Snapshot | undefined> | undefined;
  const snapshot = () =>
    (inflight ??= readSnapshot(o).finally(() => {
      inflight = undefined;
    }));
  // Every worker of `server.workers` reads the same store: the primary keeps one figure (max, or min for up), not their sum.
  // A store that does not answer gives NaN, not a 0 that would read as "nothing pending".
  const fromStore = <L extends string>(name: string, help: string, aggregator: 'max' | 'min', labelNames: readonly L[], fill: (g: Gauge<L>, s: Snapshot | undefined) => void) =>
    new Gauge<L>({
      name,
      help: `${help} NaN when the store did not answer the scrape.`,
      labelNames,
      aggregator,
      registers,
      async collect() {
        fill(this, await snapshot());
      },
    });
  fromStore('countersign_requests_pending', 'Requests held for a human decision now.', 'max', [], (g, s) => g.set(s ? s.pending : Number.NaN));
  fromStore('countersign_requests_oldest_pending_seconds', 'Age of the oldest request held for a human decision (0 when none).', 'max', [], (g, s) => g.set(s ? s.oldestPendingSeconds : Number.NaN));
  const perChannel = (fill: (h: ChannelHealth | undefined, s: Snapshot) => number) => (g: Gauge<'channel'>, s: Snapshot | undefined) => {
    for (const channel of o.channels) g.set({ channel }, s ? fill(s.outbox.find((h) => h.channel === channel), s) : Number.NaN);
  };
  fromStore('countersign_channel_up', '1 when the channel delivers, 0 while a delivery has failed and is still owed.', 'min', ['channel'], perChannel((h) => (h?.failing ? 0 : 1)));
  fromStore('countersign_outbox_pending', 'Deliveries to the channel not yet made.', 'max', ['channel'], perChannel((h) => h?.pending ?? 0));
  fromStore('countersign_outbox_dead', 'Deliveries set aside after an error retrying cannot fix.', 'max', ['channel'], perChannel((h) => h?.dead ?? 0));
  fromStore(
    'countersign_outbox_oldest_pending_seconds',
    'Age of the oldest delivery to the channel not yet made (0 when none).',
    'max',
    ['channel'],
    perChannel((h, s) => (h?.oldest ? seconds((s.now - Date.parse(h.oldest)) / 1000) : 0)),
  );

  const registries = [registry, processRegistry()];
  return {
    requestSettled(connection, effect, status) {
      requests.inc({ connection, effect, status });
    },
    decided(outcome, s) {
      decision.observe({ decision: outcome }, seconds(s));
    },
    upstream(kind, connection, s, ok) {
      upstream.observe({ kind, connection, outcome: ok ? 'ok' : 'error' }, seconds(s));
    },
    policyError(rule) {
      policyErrors.inc({ rule });
    },
    auditAppend(s) {
      audit.observe(seconds(s));
    },
    waitRefused(surface) {
      waitsRefused.inc({ surface: SURFACES.has(surface) ? surface : 'other' });
    },
    authFailure(reason, surface) {
      authFailures.inc({ reason: isRefusalReason(reason) ? reason : 'other', surface: SURFACES.has(surface) ? surface : 'other' });
    },
    registries,
    async expose() {
      return { contentType: registry.contentType, body: await Registry.merge(registries).metrics() };
    },
  };

  interface Snapshot {
    readonly now: number;
    readonly pending: number;
    readonly oldestPendingSeconds: number;
    readonly outbox: readonly ChannelHealth[];
  }

  /** What the store says now; undefined (the gauges are then NaN this scrape) when it does not answer. */
  async function readSnapshot(opts: PromOptions): Promise<Snapshot | undefined> {
    try {
      const [pending, outbox] = await Promise.all([opts.store.pendingSummary(), opts.store.outboxHealth()]);
      const now = opts.clock.now().getTime();
      return { now, pending: pending.count, oldestPendingSeconds: pending.oldest ? seconds((now - Date.parse(pending.oldest)) / 1000) : 0, outbox };
    } catch (e) {
      opts.log.warn({ err: e }, 'metrics: the store did not answer; its gauges are NaN in this scrape');
      return undefined;
    }
  }
}
