/** RFC 6962 / RFC 9162 Merkle tree over the audit log: hashing, proofs, verification, the append frontier. */
export { EMPTY_ROOT, HASH_SIZE, equalHash, hashFromHex, isHash, leafHash, nodeHash, toHex } from './hash.ts';
export { consistencyProof, inclusionProof, rootAt, subtreeHash, type SubtreeSource } from './tree.ts';
export { verifyConsistency, verifyInclusion } from './verify.ts';
export { createFrontier, Frontier, rightEdge, type FrontierNode, type FrontierSeed } from './frontier.ts';
export { memorySource } from './memory.ts';
