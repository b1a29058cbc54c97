/**
 * Audit proofs: RFC 9162 inclusion and consistency proofs over the audit
 * log, with the roots they lead to and the signed checkpoints that pin them,
 * so a client can check any one event, or that the log only ever grew.
 */
import { CountersignError } from '../core/errors.ts';
import { leafHash, toHex } from '../core/merkle/index.ts';
import type { Store, StoredCheckpoint } from '../core/ports.ts';

async function checkpointAt(store: Store, size: number): Promise<StoredCheckpoint | null> {
  const [cp] = await store.checkpoints({ fromSize: size, limit: 1 });
  return cp && cp.size === size ? cp : null;
}

/**
 * @example
 * const p = await inclusion(store, 41, 1000); // p.proof verifies leafHash(p.event) at index 41 against p.rootHash
 */
export async function inclusion(store: Store, index: number, size: number) {
  const proof = await store.inclusionProof(index, size);
  const [event] = await store.readAudit(index + 1, 1);
  // A missing row must not be answered with its neighbour's body.
  if (!event || event.seq !== index + 1) throw new CountersignError('INTERNAL', `the event at index ${index} is missing from the store`);
  return {
    index,
    size,
    event: event.body,
    leafHash: toHex(leafHash(event.body)),
    rootHash: await store.rootAt(size),
    proof,
    checkpoint: await checkpointAt(store, size),
  };
}

export async function consistency(store: Store, from: number, to: number) {
  const proof = await store.consistencyProof(from, to);
  return {
    from,
    to,
    fromRoot: await store.rootAt(from),
    toRoot: await store.rootAt(to),
    proof,
    checkpoints: { from: await checkpointAt(store, from), to: await checkpointAt(store, to) },
  };
}
