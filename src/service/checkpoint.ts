/**
 * Checkpoint: sign the audit log's current tree head (C2SP tlog-checkpoint in
 * a signed note) and keep it. Once signed, any later removal, change or
 * reordering of the events it covers is provable from the note alone.
 */
import { CountersignError } from '../core/errors.ts';
import { formatCheckpoint } from '../core/note.ts';
import { hashFromHex, verifyConsistency } from '../core/merkle/index.ts';
import type { CheckpointSigner, Clock, Store, StoredCheckpoint } from '../core/ports.ts';

/**
 * Signs the head if it has grown since the latest checkpoint; returns the
 * checkpoint that covers the head now (new or existing), or null for an empty log.
 *
 * @example
 * const cp = await signCheckpoint({ store, signer, clock }); // cp?.size === (await store.treeHead()).size
 */
export async function signCheckpoint(deps: { store: Store; signer: CheckpointSigner; clock: Clock }): Promise<StoredCheckpoint | null> {
  // Read before the log's length: a checkpoint is recorded after the events it covers committed, so one read first
  // never covers more than the length read after it, however many processes append and sign meanwhile.
  const anchor = deps.signer.lastSigned();
  const [latest] = await deps.store.checkpoints({ latest: true });
  const size = await deps.store.auditSize();
  // A log shorter than a checkpoint signed before was cut, or the row was forged: skipping it in silence would stop all signing.
  for (const a of [anchor, latest]) if (a && a.size > size) throw notExtending(size, a.size);
  if (size === 0) return null;
  if (latest && latest.size === size) return latest;
  // The root only when there is something to sign: a damaged log has a length but maybe no root, and an export of it
  // must still go on to show the damage. Read again: events appended since count too.
  const head = await deps.store.treeHead();
  await assertExtends(deps.store, head, anchor, latest ?? null);
  const text = formatCheckpoint({ origin: deps.signer.origin, size: head.size, rootHash: hashFromHex(head.root) });
  const { note, keyId } = deps.signer.sign(text);
  const checkpoint: StoredCheckpoint = { size: head.size, root: head.root, keyId, note, createdAt: deps.clock.now().toISOString() };
  await deps.store.insertCheckpoint(checkpoint);
  deps.signer.recordSigned(checkpoint);
  return checkpoint;
}

/**
 * Refuses (AUDIT_INTEGRITY_FAILED) to sign a head that the checkpoints signed
 * before are not consistent with (RFC 9162 §2.1.4): the one recorded beside
 * the key and the newest stored row. Without it, events rewritten in the
 * database with every checkpoint row deleted would be signed anew, and the
 * forged log would then verify.
 */
async function assertExtends(store: Store, head: { size: number; root: string }, ...anchors: ({ size: number; root: string } | null)[]): Promise<void> {
  for (const a of anchors) {
    if (!a) continue;
    const [small, large] = a.size <= head.size ? [a, head] : [head, a];
    let ok = false;
    try {
      const proof = small.size === large.size || small.size === 0 ? [] : await store.consistencyProof(small.size, large.size);
      ok = small.size === 0 ? small === a : verifyConsistency(small.size, large.size, hashFromHex(small.root), hashFromHex(large.root), proof.map(hashFromHex));
    } catch {
      ok = false;
    }
    if (!ok) throw notExtending(head.size, a.size);
  }
}

function notExtending(size: number, signed: number): CountersignError {
  return new CountersignError(
    'AUDIT_INTEGRITY_FAILED',
    `the audit log does not verify: its head (${size} events) does not extend the checkpoint of ${signed} events signed before, so no checkpoint is signed over it (\`countersign audit verify\` names what changed; if this store was replaced on purpose, remove last-checkpoint.json from the audit key directory)`,
    { size, signed },
  );
}
