/**
 * The evidence report of a period as every surface hands it out (the CLI
 * from the store, the REST API and the console through the gateway): built
 * from the audit events, and tied to a signed checkpoint — when the newest
 * events of the period are not signed yet, the head is signed first, as
 * `audit export --out` does, so every row can be proven against a bundle.
 */
import type { CheckpointSigner, Clock, Store } from '../../core/ports.ts';
import { firstSeqAtOrAfter } from '../audit-time.ts';
import { refuseOverLimit } from '../audit-bundle.ts';
import { signCheckpoint } from '../checkpoint.ts';
import { buildEvidence, type EvidenceOptions } from './report.ts';
import { readableTreeHead, verifyPeriod } from './verify-period.ts';
import type { EvidenceReport } from './types.ts';

export interface EvidenceOfPeriodOptions extends Omit<EvidenceOptions, 'clock'> {
  /** Refuse (PERIOD_TOO_LARGE) a period of more events than this; absent: no limit. */
  readonly maxEvents?: number;
}

/**
 * @example
 * const r = await evidenceOfPeriod({ store, signer, clock }, { from, to, framework: 'soc2', maxEvents: 1_000_000 });
 */
export async function evidenceOfPeriod(deps: { store: Store; signer: CheckpointSigner; clock: Clock }, o: EvidenceOfPeriodOptions): Promise<EvidenceReport> {
  const { maxEvents, ...period } = o;
  // The submissions from before the period that the report reads: each must be in the log the checkpoint signed.
  let earlier: { seq: number; body: string }[] = [];
  const options = { ...period, clock: deps.clock, onEarlier: (e: { seq: number; body: string }) => void earlier.push(e) };
  if (maxEvents !== undefined && o.from instanceof Date && o.to instanceof Date && o.from.getTime() < o.to.getTime()) {
    // Counted before a single event is read: seqs are dense and events are written in time order.
    const count = (await firstSeqAtOrAfter(deps.store, o.to)) - (await firstSeqAtOrAfter(deps.store, o.from));
    refuseOverLimit(count, maxEvents, 'the period');
  }
  await readableTreeHead(deps.store);
  let report = await buildEvidence(deps.store, options);
  if (report.coverage.lastSeq !== null && !report.coverage.covered) {
    await signCheckpoint(deps);
    earlier = [];
    report = await buildEvidence(deps.store, options);
  }
  // Its rows are only evidence once they have the roots the log's key signed.
  if (report.coverage.firstSeq !== null) await verifyPeriod(deps.store, deps.signer, report.coverage.firstSeq, report.coverage.checkpoints, earlier);
  return report;
}
