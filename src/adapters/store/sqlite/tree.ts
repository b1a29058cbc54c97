/**
 * The Merkle tree over the audit log, kept in SQLite beside the events: every
 * perfect subtree (leaves included) is stored once, as the append that
 * completes it commits, so a root or a proof for any size reads O(log n)
 * rows instead of rehashing the log. The right edge is cached in memory and
 * rebuilt from the rows whenever the log's length is not the cache's (another
 * process appended, or a rolled-back write advanced it).
 */
import type Database from 'better-sqlite3';
import { Frontier, leafHash, rootAt, rightEdge, inclusionProof, consistencyProof, toHex, type SubtreeSource } from '../../../core/merkle/index.ts';

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
  };
  const source: SubtreeSource = {
    perfect(level, index) {
      const hash = q.node.get(level, index) as Buffer | undefined;
      if (!hash) throw new Error(`the audit tree has no node ${level}/${index}: the store is damaged`);
      return new Uint8Array(hash.buffer, hash.byteOffset, hash.byteLength);
    },
  };
  let frontier: Frontier | undefined;

  return {
    appendLeaf(seq, body) {
      if (!frontier || frontier.size !== seq - 1) frontier = Frontier.from({ size: seq - 1, source });
      for (const n of frontier.append(leafHash(body)).newNodes) q.insert.run(n.level, n.index, Buffer.from(n.hash));
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
