/**
 * The Merkle tree over the audit log, kept in SQLite beside the events: the
 * perfect subtrees of 16 leaves and up are stored once, as the append that
 * completes them commits, and the smaller ones are rehashed from the events'
 * bodies when needed (../sparse-tree.ts says why), so a root or a proof for
 * any size reads O(log n) rows and a few dozen events instead of rehashing
 * the log. The right edge is cached in memory and rebuilt from the rows and
 * events whenever the log's length is not the cache's (another process
 * appended, or a rolled-back write advanced it).
 */
import type Database from 'better-sqlite3';
import { Frontier, leafHash, rootAt, rightEdge, inclusionProof, consistencyProof, toHex, type SubtreeSource } from '../../../core/merkle/index.ts';
import { isStored, sparseSource } from '../sparse-tree.ts';

export interface TreeStore {
  /** Inside the write transaction that inserted the event with this seq. */
  appendLeaf(seq: number, body: string): void;
  rootHex(size: number): string;
  inclusionHex(index: number, size: number): string[];
  consistencyHex(from: number, to: number): string[];
  /** The perfect subtrees that make up a tree of `size` leaves (a compact range from 0). */
  edge(size: number): { level: number; index: number; hash: string }[];
}

export const TREE_SCHEMA = `
  CREATE TABLE merkle_nodes (
    level INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    hash BLOB NOT NULL,
    PRIMARY KEY (level, idx)
  ) STRICT, WITHOUT ROWID;`;

export function createTreeStore(db: Database.Database): TreeStore {
  const q = {
    node: db.prepare('SELECT hash FROM merkle_nodes WHERE level = ? AND idx = ?').pluck(),
    insert: db.prepare('INSERT INTO merkle_nodes (level, idx, hash) VALUES (?, ?, ?)'),
    bodies: db.prepare('SELECT seq, body FROM audit_events WHERE seq BETWEEN ? AND ?'),
  };
  const stored = (level: number, index: number): Uint8Array | undefined => {
    const hash = q.node.get(level, index) as Buffer | undefined;
    return hash && new Uint8Array(hash.buffer, hash.byteOffset, hash.byteLength);
  };
  const bodies = (first: number, last: number): Map<number, string> => {
    const rows = q.bodies.all(first, last) as { seq: number; body: string }[];
    return new Map(rows.map((r) => [r.seq, r.body]));
  };
  const source: SubtreeSource = sparseSource(stored, bodies);
  let frontier: Frontier | undefined;

  return {
    appendLeaf(seq, body) {
      if (!frontier || frontier.size !== seq - 1) frontier = Frontier.from({ size: seq - 1, source });
      for (const n of frontier.append(leafHash(body)).newNodes) if (isStored(n.level)) q.insert.run(n.level, n.index, Buffer.from(n.hash));
    },
    rootHex: (size) => toHex(frontier && frontier.size === size ? frontier.root() : rootAt(source, size)),
    inclusionHex: (index, size) => inclusionProof(source, index, size).map(toHex),
    consistencyHex: (from, to) => consistencyProof(source, from, to).map(toHex),
    edge: (size) => rightEdge(size).map((n) => ({ ...n, hash: toHex(source.perfect(n.level, n.index)) })),
  };
}

/** Builds the tree for events written before the tree existed (a store upgraded in place). */
export function backfillTree(db: Database.Database): void {
  const tree = createTreeStore(db);
  const page = db.prepare('SELECT seq, body FROM audit_events WHERE seq > ? ORDER BY seq LIMIT 5000');
  // Pages, not an iterator: the connection cannot write while a read is open on it.
  for (let after = 0; ; ) {
    const rows = page.all(after) as { seq: number; body: string }[];
    for (const row of rows) tree.appendLeaf(row.seq, row.body);
    if (rows.length < 5000) return;
    after = rows[rows.length - 1]!.seq;
  }
}
