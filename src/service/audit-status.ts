/**
 * Audit status, for the console's Audit page: the latest signed checkpoint,
 * whether its signature verifies with the gateway's own keys and whether the
 * log as stored still has the root that was signed, and — when asked, or
 * when the log is small enough to do it on every look — whether the whole
 * hash chain verifies.
 */
import { CountersignError } from '../core/errors.ts';
import { toHex } from '../core/merkle/index.ts';
import { openCheckpoint, parseVerifierKey } from '../core/note.ts';
import type { CheckpointSigner, Store, StoredCheckpoint } from '../core/ports.ts';
import { verifyAudit } from './audit-verify.ts';

/** Up to this many events, the chain is verified on every look (a few milliseconds). */
export const VERIFY_ON_SIGHT = 20_000;

export interface AuditStatus {
  readonly size: number;
  readonly checkpoint:
    | (StoredCheckpoint & {
        /** The note is signed by a key of this gateway and says this size and root. */
        readonly signatureOk: boolean;
        /** The stored log's root at the checkpoint's size is the signed root. */
        readonly rootMatches: boolean;
        readonly problem: string | null;
      })
    | null;
  /** null when not verified this time (a large log, not asked). */
  readonly chain: Awaited<ReturnType<typeof verifyAudit>> | null;
}

/** A tree that cannot be computed (the store is damaged) has no root; the store's own errors are passed on. */
function noRoot(e: unknown): null {
  if (e instanceof CountersignError) throw e;
  return null;
}

/**
 * @example
 * const s = await auditStatus({ store, signer }, { verifyChain: true }); // s.chain?.ok
 */
export async function auditStatus(deps: { store: Store; signer: CheckpointSigner }, opts: { verifyChain: boolean }): Promise<AuditStatus> {
  const size = await deps.store.auditSize();
  const [latest] = await deps.store.checkpoints({ latest: true });
  let checkpoint: AuditStatus['checkpoint'] = null;
  if (latest) {
    let signatureOk = false;
    let problem: string | null = null;
    try {
      const cp = openCheckpoint(latest.note, deps.signer.verifierKeys().map(parseVerifierKey));
      signatureOk = cp.size === latest.size && toHex(cp.rootHash) === latest.root;
      if (!signatureOk) problem = 'the signed note says another size or root than the stored checkpoint';
    } catch (e) {
      problem = e instanceof Error ? e.message : String(e);
    }
    // A log that lost an event may have no root at this size at all: a mismatch too, not a failure of the status. A
    // store that cannot answer now (unavailable, busy) still fails it.
    const root = latest.size <= size ? await deps.store.rootAt(latest.size).catch(noRoot) : null;
    const rootMatches = root === latest.root;
    if (!rootMatches) problem ??= 'the stored log no longer has the signed root at this size';
    checkpoint = { ...latest, signatureOk, rootMatches, problem };
  }
  const chain = opts.verifyChain || size <= VERIFY_ON_SIGHT ? await verifyAudit(deps.store) : null;
  return { size, checkpoint, chain };
}
