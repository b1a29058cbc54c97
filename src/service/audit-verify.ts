/**
 * Audit verify: walk the whole chain from the store, page by page, and name
 * the first event that does not hold. `verifyAuditSigned` also holds the
 * store to its signed checkpoints: the hash chain alone cannot tell a log
 * whose tail (or whole body) was deleted from one that never grew, but a
 * signed checkpoint of size N proves N events existed with that root.
 */
import { createChainVerifier, type AuditColumns } from '../core/audit.ts';
import { Frontier, equalHash, leafHash, toHex } from '../core/merkle/index.ts';
import { openCheckpoint, type NoteVerifier } from '../core/note.ts';
import type { Store, StoredCheckpoint } from '../core/ports.ts';

const PAGE = 5000;

/** A page of stored events with the columns they are found by, keyed by seq (a row appended between the two reads has none yet). */
async function readPage(store: Store, from: number): Promise<{ page: Awaited<ReturnType<Store['readAuditRaw']>>; columns: Map<number, AuditColumns> }> {
  const page = await store.readAuditRaw(from, PAGE);
  const columns = new Map((await store.readAuditColumns(from, PAGE)).map((c) => [c.seq, c]));
  return { page, columns };
}

/** Columns missing for a row that was read: held as a mismatch, never skipped. */
const MISSING = (seq: number): AuditColumns => ({ seq: -seq, time: '', type: '', requestId: null, actor: null });

export async function verifyAudit(store: Store): Promise<ReturnType<ReturnType<typeof createChainVerifier>['finish']>> {
  const verifier = createChainVerifier();
  let from = 1;
  for (;;) {
    const { page, columns } = await readPage(store, from);
    for (const e of page) {
      if (verifier.push(e, columns.get(e.seq) ?? MISSING(e.seq))) return verifier.finish();
    }
    if (page.length < PAGE) return verifier.finish();
    from = page[page.length - 1]!.seq + 1;
  }
}

export type SignedAuditReport =
  | { readonly ok: true; readonly count: number; readonly head: string; readonly verifiedCheckpoints: number[]; readonly unsigned: number }
  | { readonly ok: false; readonly count: number; readonly problem: { readonly seq?: number; readonly checkpoint?: number; readonly reason: string } };

/**
 * The newest checkpoint the signing key's directory records having signed (`where` names it): the store must still
 * hold a log of at least its size, with its root there. Checkpoint rows can be deleted with the events they cover;
 * this record is not in the store.
 */
export interface LastSigned {
  readonly size: number;
  readonly root: string;
  readonly where: string;
}

async function allCheckpoints(store: Store): Promise<StoredCheckpoint[]> {
  const out: StoredCheckpoint[] = [];
  for (let from = 0; ; ) {
    const page = await store.checkpoints({ fromSize: from, limit: 1000 });
    out.push(...page);
    if (page.length < 1000) return out;
    from = page[page.length - 1]!.size + 1;
  }
}

/**
 * The chain, and every stored checkpoint: its signature by one of `verifiers`,
 * its origin, and the root recomputed (RFC 6962) from the stored event bytes
 * at its size. Fails when the log is shorter than its latest checkpoint, when
 * no checkpoint was ever signed, and when the store's tree disagrees with its events.
 *
 * @example
 * const r = await verifyAuditSigned(store, { verifiers, origin: 'countersign.example/prod' }); // r.ok
 */
export async function verifyAuditSigned(store: Store, trust: { verifiers: readonly NoteVerifier[]; origin: string; lastSigned?: LastSigned }): Promise<SignedAuditReport> {
  // Read before the events: a running gateway may append while we walk, never remove.
  // A tree whose nodes were deleted may not even read: that is for the checks below to report, not a crash.
  const treeBefore = await store.treeHead().catch(() => ({ size: 0, root: '' }));
  const checkpoints = await allCheckpoints(store);
  const roots = new Map<number, Uint8Array>();
  for (const c of checkpoints) {
    try {
      const cp = openCheckpoint(c.note, trust.verifiers);
      if (cp.origin !== trust.origin) return { ok: false, count: 0, problem: { checkpoint: c.size, reason: `checkpoint ${c.size} is for origin ${cp.origin}, not ${trust.origin}` } };
      if (cp.size !== c.size || toHex(cp.rootHash) !== c.root) return { ok: false, count: 0, problem: { checkpoint: c.size, reason: `checkpoint ${c.size}: the signed note says another size or root than the stored row` } };
      roots.set(cp.size, cp.rootHash);
    } catch (e) {
      return { ok: false, count: 0, problem: { checkpoint: c.size, reason: `checkpoint ${c.size}: signature or format invalid: ${e instanceof Error ? e.message : String(e)}` } };
    }
  }

  const last = trust.lastSigned;
  const chain = createChainVerifier();
  const frontier = new Frontier();
  const verified: number[] = [];
  for (let from = 1; ; ) {
    const { page, columns } = await readPage(store, from);
    for (const e of page) {
      const problem = chain.push(e, columns.get(e.seq) ?? MISSING(e.seq));
      if (problem) return { ok: false, count: e.seq - 1, problem };
      frontier.push(leafHash(e.body));
      const root = roots.get(frontier.size);
      if (root) {
        if (!equalHash(frontier.root(), root)) return { ok: false, count: frontier.size, problem: { checkpoint: frontier.size, reason: `the stored events 1–${frontier.size} do not have the root checkpoint ${frontier.size} signed (an event was changed, removed or inserted)` } };
        verified.push(frontier.size);
      }
      if (last && frontier.size === last.size && toHex(frontier.root()) !== last.root) {
        return { ok: false, count: frontier.size, problem: { seq: frontier.size, reason: `the stored events 1–${frontier.size} do not have the root of the checkpoint the key in ${last.where} signed at that size (an event was changed, removed or inserted)` } };
      }
    }
    if (page.length < PAGE) break;
    from = page[page.length - 1]!.seq + 1;
  }

  const count = frontier.size;
  const newest = Math.max(0, ...roots.keys());
  if (newest === 0) {
    const reason = count === 0 ? 'the log is empty and no signed checkpoint is stored (a gateway that ever ran wrote and signed events: were they deleted?)' : `no signed checkpoint is stored for these ${count} events: nothing proves the log was not cut (checkpoints are signed at shutdown and on audit.checkpoint)`;
    return { ok: false, count, problem: { reason } };
  }
  if (count < newest) return { ok: false, count, problem: { seq: count + 1, checkpoint: newest, reason: `checkpoint ${newest} signs ${newest} events, but the store holds ${count}: events ${count + 1}–${newest} were deleted` } };
  if (last && count < last.size) return { ok: false, count, problem: { seq: count + 1, reason: `the key in ${last.where} signed a checkpoint of ${last.size} events, but the store holds ${count}: events ${count + 1}–${last.size} and the checkpoints over them were deleted (or the store was put back to an older copy)` } };
  if (count < treeBefore.size) return { ok: false, count, problem: { seq: count + 1, reason: `the store's Merkle tree has ${treeBefore.size} leaves, its log ${count} events: events ${count + 1}–${treeBefore.size} were deleted` } };
  const treeAfter = await store.treeHead().catch(() => ({ size: -1, root: '' }));
  if (treeAfter.size < 0) return { ok: false, count, problem: { reason: "the store's Merkle tree cannot be read (its nodes were deleted or changed outside the gateway)" } };
  if (treeAfter.size < count) return { ok: false, count, problem: { seq: treeAfter.size + 1, reason: `events ${treeAfter.size + 1}–${count} are in the log but not in its Merkle tree (added outside the gateway)` } };
  const head = chain.finish();
  if (!head.ok) return { ok: false, count, problem: head.problem };
  return { ok: true, count, head: head.head, verifiedCheckpoints: verified, unsigned: count - newest };
}
