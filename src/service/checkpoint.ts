/**
 * Checkpoint: sign the audit log's current tree head (C2SP tlog-checkpoint in
 * a signed note) and keep it. Once signed, any later removal, change or
 * reordering of the events it covers is provable from the note alone.
 */
import { formatCheckpoint } from '../core/note.ts';
import { hashFromHex } from '../core/merkle/index.ts';
import type { CheckpointSigner, Clock, Store, StoredCheckpoint } from '../core/ports.ts';

/**
 * Signs the head if it has grown since the latest checkpoint; returns the
 * checkpoint that covers the head now (new or existing), or null for an empty log.
 *
 * @example
 * const cp = await signCheckpoint({ store, signer, clock }); // cp?.size === (await store.treeHead()).size
 */
export async function signCheckpoint(deps: { store: Store; signer: CheckpointSigner; clock: Clock }): Promise<StoredCheckpoint | null> {
  const size = await deps.store.auditSize();
  const [latest] = await deps.store.checkpoints({ latest: true });
  if (size === 0) return null;
  if (latest && latest.size >= size) return latest;
  // The root only when there is something to sign: a damaged log has a length but maybe no root, and an export of it
  // must still go on to show the damage. Read again: events appended since count too.
  const head = await deps.store.treeHead();
  const text = formatCheckpoint({ origin: deps.signer.origin, size: head.size, rootHash: hashFromHex(head.root) });
  const { note, keyId } = deps.signer.sign(text);
  const checkpoint: StoredCheckpoint = { size: head.size, root: head.root, keyId, note, createdAt: deps.clock.now().toISOString() };
  await deps.store.insertCheckpoint(checkpoint);
  return checkpoint;
}
