/**
 * The Merkle tree over the audit log, kept in SQLite beside the events: the
 * perfect subtrees of 16 leaves and up are stored once, as the append that
 * completes them commits, and the smaller ones are rehashed from the events'
 * bodies when needed (../sparse-tree.ts says why), so a root or a proof for
 * any size reads O(log n) rows and a few dozen events instead of rehashing
 * the log. The right edge is cached in memory and trusted only when it ends
 * at the log's head (same size and same last event hash): another process
 * that appended, or a rolled-back write that advanced it, makes it rebuild
 * from the rows and events. The length alone is not enough: a write rolled
 * back here and another process's append of as many events leave it equal.
 */
import type Database from 'better-sqlite3';
import { Frontier, leafHash, rootAt, rightEdge, inclusionProof, consistencyProof, toHex, type SubtreeSource } from '../../../core/merkle/index.ts';
import { isStored, sparseSource } from '../sparse-tree.ts';

/** The last event of the log (seq 0 and no hash for an empty log). */
export interface Head {
  readonly seq: number;
  readonly hash: string;
}

export interface TreeStore {
  /** Inside the write transaction that inserted `event` after the log's head `prev`. */
  appendLeaf(prev: Head, event: { seq: number; body: string; hash: string }): void;
  /** Root at `size`; `head` (the log's head when size is its length) lets the cached edge answer. */
  rootHex(size: number, head?: Head): string;
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
  let frontierHead = '';

  return {
    appendLeaf(prev, event) {
      if (!frontier || frontier.size !== prev.seq || frontierHead !== prev.hash) {
        frontier = undefined;
        frontier = Frontier.from({ size: prev.seq, source });
      }
      // Moved on before the nodes are written: if a write fails, the head no longer matches and the edge is rebuilt.
      frontierHead = event.hash;
      for (const n of frontier.append(leafHash(event.body)).newNodes) if (isStored(n.level)) q.insert.run(n.level, n.index, Buffer.from(n.hash));
    },
    rootHex(size, head) {
      if (frontier && head && frontier.size === size && head.seq === size && frontierHead === head.hash) return toHex(frontier.root());
      return toHex(rootAt(source, size));
    },
    inclusionHex: (index, size) => inclusionProof(source, index, size).map(toHex),
    consistencyHex: (from, to) => consistencyProof(source, from, to).map(toHex),
    edge: (size) => rightEdge(size).map((n) => ({ ...n, hash: toHex(source.perfect(n.level, n.index)) })),
  };
}

/** Builds the tree for events written before the tree existed (a store upgraded in place). */
export function backfillTree(db: Database.Database): void {
  const tree = createTreeStore(db);
  const page = db.prepare('SELECT seq, body, hash FROM audit_events WHERE seq > ? ORDER BY seq LIMIT 5000');
  let prev: Head = { seq: 0, hash: '' };
  // Pages, not an iterator: the connection cannot write while a read is open on it.
  for (let after = 0; ; ) {
    const rows = page.all(after) as { seq: number; body: string; hash: string }[];
    for (const row of rows) {
      tree.appendLeaf(prev, row);
      prev = row;
    }
    if (rows.length < 5000) return;
    after = rows[rows.length - 1]!.seq;
  }
}
