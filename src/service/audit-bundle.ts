/**
 * Audit bundle: the events of a period, exactly as hashed, with the signed
 * checkpoints that cover them, the keys that signed those, and a manifest
 * that says how they fit (the tree before the first event, as its perfect
 * subtrees). `verifyBundle` in the core checks it with nothing else.
 */
import { GENESIS_HASH } from '../core/audit.ts';
import { BUNDLE_FORMAT, type BundleManifest } from '../core/audit-bundle.ts';
import { sha256Hex } from '../core/digest.ts';
import { CountersignError } from '../core/errors.ts';
import type { CheckpointSigner, Clock, Store } from '../core/ports.ts';
import { signCheckpoint } from './checkpoint.ts';
import { firstSeqAtOrAfter } from './audit-time.ts';

export interface BundlePlan {
  readonly manifest: BundleManifest;
  readonly notes: readonly { file: string; text: string }[];
  readonly keys: string;
  /** The event lines (each ends with a newline), read page by page. */
  events(): AsyncGenerator<string>;
}

/** A bound of the period: a seq number, or an ISO time (events are found by the order they were written). */
export type Bound = number | Date;

/** Refuses (PERIOD_TOO_LARGE) a period of more than `max` events; `max` undefined: no limit. */
export function refuseOverLimit(count: number, max: number | undefined, what: string): void {
  if (max !== undefined && count > max) {
    throw new CountersignError('PERIOD_TOO_LARGE', `${what} holds ${count} audit events, more than the ${max} one answer may hold (audit.maxExportEvents): ask for a shorter period`, { events: count, limit: max });
  }
}

/**
 * @example
 * const plan = await planBundle({ store, signer, clock }, { from: new Date('2026-07-01'), to: new Date('2026-10-01') });
 */
export async function planBundle(deps: { store: Store; signer: CheckpointSigner; clock: Clock }, range: { from?: Bound; to?: Bound; maxEvents?: number }): Promise<BundlePlan> {
  const { store } = deps;
  // The newest events must be covered too: sign the head first if it is not yet.
  await signCheckpoint(deps);
  const size = await store.auditSize();
  if (size === 0) throw new CountersignError('INVALID_REQUEST', 'the audit log is empty');
  const first = range.from === undefined ? 1 : typeof range.from === 'number' ? range.from : await firstSeqAtOrAfter(store, range.from);
  const wantedLast = range.to === undefined ? size : typeof range.to === 'number' ? range.to : (await firstSeqAtOrAfter(store, range.to)) - 1;
  if (!Number.isInteger(first) || first < 1 || first > size || wantedLast < first || wantedLast > size) {
    throw new CountersignError('INVALID_REQUEST', `the period holds no events (log has events 1–${size})`);
  }
  refuseOverLimit(wantedLast - first + 1, range.maxEvents, 'the period');
  const all = await store.checkpoints({ fromSize: first, limit: 100_000 });
  const covering = all.find((c) => c.size >= wantedLast);
  if (!covering) throw new CountersignError('INTERNAL', 'no checkpoint covers the period');
  const last = covering.size; // events run on to the checkpoint that signs them
  const included = all.filter((c) => c.size <= last);
  // Exactly these events or none: readAudit(seq) would return the next stored one if a row were gone.
  const eventAt = async (seq: number) => (await store.readAudit(seq, 1)).find((e) => e.seq === seq);
  const before = first > 1 ? await eventAt(first - 1) : undefined;
  const lastEvent = await eventAt(last);
  const pad = (n: number) => String(n).padStart(12, '0');

  const manifest: BundleManifest = {
    format: BUNDLE_FORMAT,
    origin: deps.signer.origin,
    createdAt: deps.clock.now().toISOString(),
    events: { first, last, count: last - first + 1, lastHash: lastEvent ? sha256Hex(lastEvent.body) : null },
    prefix: { size: first - 1, prevHash: before?.hash ?? GENESIS_HASH, nodes: await store.treeEdge(first - 1) },
    checkpoints: included.map((c) => ({ size: c.size, file: `checkpoints/${pad(c.size)}.note` })),
  };
  return {
    manifest,
    notes: included.map((c) => ({ file: `checkpoints/${pad(c.size)}.note`, text: c.note })),
    keys: `${deps.signer.verifierKeys().join('\n')}\n`,
    async *events() {
      for (let seq = first; seq <= last; ) {
        const page = await store.readAuditRaw(seq, Math.min(5000, last - seq + 1));
        if (page.length === 0) throw new CountersignError('INTERNAL', `event ${seq} could not be read`);
        // A page counts rows, not seqs: with a row missing it runs past `last`, which the bundle must not hold.
        for (const e of page) if (e.seq <= last) yield `${e.body}\n`;
        seq = page[page.length - 1]!.seq + 1;
      }
    },
  };
}
