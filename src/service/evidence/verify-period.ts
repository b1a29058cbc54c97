/**
 * Holds the events an evidence report was built from to the checkpoints it
 * names: each note's signature by one of the log's keys, its origin, size and
 * root as the stored row says, and each root recomputed (RFC 6962) from the
 * stored tree before the period and the exact event bytes after it. A report
 * that says "covered by the signed checkpoint at size N" over rows someone
 * edited, deleted or re-chained in the database would vouch for what the key
 * never signed; this refuses it instead (AUDIT_INTEGRITY_FAILED).
 */
import { CountersignError } from '../../core/errors.ts';
import { equalHash, Frontier, hashFromHex, leafHash, toHex, verifyInclusion } from '../../core/merkle/index.ts';
import { openCheckpoint, parseVerifierKey } from '../../core/note.ts';
import type { CheckpointSigner, Store } from '../../core/ports.ts';
import type { CheckpointEntry } from './types.ts';

const PAGE = 5000;

/** AUDIT_INTEGRITY_FAILED for a log read for a report: `message` says what does not hold, `where` names the event or checkpoint. */
export function broken(message: string, where: { seq?: number; checkpoint?: number }): CountersignError {
  return new CountersignError('AUDIT_INTEGRITY_FAILED', `the audit log does not verify, so no evidence is made of it: ${message} (\`countersign audit verify\` names the first event that breaks)`, where);
}

/**
 * The store's tree head, or AUDIT_INTEGRITY_FAILED when the tree cannot be
 * computed (an event or node it needs was deleted); the store's own errors pass.
 */
export async function readableTreeHead(store: Store): Promise<void> {
  try {
    await store.treeHead();
  } catch (e) {
    if (e instanceof CountersignError) throw e;
    throw broken(`the stored Merkle tree cannot be computed (${e instanceof Error ? e.message : String(e)})`, {});
  }
}

/**
 * @example
 * await verifyPeriod(store, signer, report.coverage.firstSeq, report.coverage.checkpoints); // throws AUDIT_INTEGRITY_FAILED
 */
export async function verifyPeriod(
  store: Store,
  signer: CheckpointSigner,
  firstSeq: number,
  checkpoints: readonly CheckpointEntry[],
  earlier: readonly { seq: number; body: string }[] = [],
): Promise<void> {
  if (checkpoints.length === 0) return;
  const verifiers = signer.verifierKeys().map(parseVerifierKey);
  const roots = new Map<number, Uint8Array>();
  for (const c of checkpoints) {
    let cp;
    try {
      cp = openCheckpoint(c.note, verifiers);
    } catch (e) {
      throw broken(`checkpoint ${c.size}: its signature or format is invalid (${e instanceof Error ? e.message : String(e)})`, { checkpoint: c.size });
    }
    if (cp.origin !== signer.origin || cp.size !== c.size || toHex(cp.rootHash) !== c.root) {
      throw broken(`checkpoint ${c.size}: the signed note says another origin, size or root than the stored row`, { checkpoint: c.size });
    }
    roots.set(cp.size, cp.rootHash);
  }
  const last = Math.max(...roots.keys());
  // Events from before the period that the report reads: each proven in the tree the newest checkpoint signed.
  for (const e of earlier) {
    let proven = false;
    try {
      const proof = (await store.inclusionProof(e.seq - 1, last)).map(hashFromHex);
      proven = verifyInclusion(leafHash(e.body), e.seq - 1, last, proof, roots.get(last)!);
    } catch {
      proven = false;
    }
    if (!proven) throw broken(`event ${e.seq}, from before the period and read by the report, is not the one checkpoint ${last} signed`, { seq: e.seq, checkpoint: last });
  }
  let frontier: Frontier;
  try {
    frontier = Frontier.from({ size: firstSeq - 1, nodes: (await store.treeEdge(firstSeq - 1)).map((n) => ({ ...n, hash: hashFromHex(n.hash) })) });
  } catch {
    throw broken(`the stored Merkle tree before event ${firstSeq} cannot be read (its nodes were deleted or changed outside the gateway)`, { seq: firstSeq });
  }
  for (let seq = firstSeq; seq <= last; ) {
    const page = await store.readAuditRaw(seq, Math.min(PAGE, last - seq + 1));
    if (page.length === 0) throw broken(`event ${seq} is missing: checkpoint ${last} signed ${last} events`, { seq, checkpoint: last });
    for (const e of page) {
      if (e.seq > last) break;
      if (e.seq !== seq) throw broken(`event ${seq} is missing (next stored is ${e.seq})`, { seq });
      frontier.push(leafHash(e.body));
      const root = roots.get(seq);
      if (root && !equalHash(frontier.root(), root)) {
        throw broken(`the stored events ${firstSeq}–${seq} do not have the root checkpoint ${seq} signed: event ${firstSeq} or one after it was changed, removed or inserted`, { seq: firstSeq, checkpoint: seq });
      }
      seq++;
    }
  }
}
