/**
 * Scoped grants in SQLite: one row per grant, its record as JSON beside the columns that change (uses consumed,
 * revocation) and those a use filters on. A use is one guarded UPDATE inside the write transaction that records the
 * request it approves, so of racing submissions (even from other processes on the file) at most `uses` get one.
 */
import type Database from 'better-sqlite3';
import type { AuditDraft } from '../../../core/audit.ts';
import type { Grant } from '../../../core/grant.ts';
import type { GrantStore } from '../../../core/ports.ts';
import type { RequestRecord } from '../../../core/request.ts';
import type { TermSetCache } from '../term-sets.ts';
import { termSetOf } from '../term-sets.ts';

export const GRANTS_SCHEMA = `
  CREATE TABLE grants (
    id TEXT PRIMARY KEY,
    shape TEXT NOT NULL,
    request_id TEXT NOT NULL,
    principal_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    uses INTEGER NOT NULL,
    used INTEGER NOT NULL DEFAULT 0,
    revoked_at TEXT,
    revoked_by TEXT,
    record TEXT NOT NULL
  ) STRICT;
  CREATE INDEX grants_shape ON grants (shape);
  CREATE INDEX grants_request ON grants (request_id);`;

type GrantRow = { record: string; used: number; revoked_at: string | null; revoked_by: string | null };
const COLUMNS = 'record, used, revoked_at, revoked_by';

function grantOf(row: GrantRow): Grant {
  const g = JSON.parse(row.record) as Grant;
  return { ...g, used: row.used, revoked: row.revoked_at === null ? null : { by: row.revoked_by ?? '', at: row.revoked_at } };
}

/** Statements over the grants table; `insert` is a plain function the store runs in a request mutation's transaction. */
export function createGrantTable(db: Database.Database) {
  const insert = db.prepare('INSERT INTO grants (id, shape, request_id, principal_id, created_at, expires_at, uses, used, record) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?)');
  const use = db.prepare(
    `UPDATE grants SET used = used + 1 WHERE id = ? AND used < uses AND revoked_at IS NULL AND expires_at > ? RETURNING ${COLUMNS}`,
  );
  const get = db.prepare(`SELECT ${COLUMNS} FROM grants WHERE id = ?`);
  const active = db.prepare(`SELECT ${COLUMNS} FROM grants WHERE shape = ? AND used < uses AND revoked_at IS NULL AND expires_at > ? ORDER BY rowid`);
  const list = db.prepare(`SELECT ${COLUMNS} FROM grants ORDER BY rowid DESC LIMIT ?`);
  const ofRequest = db.prepare(`SELECT ${COLUMNS} FROM grants WHERE request_id = ? ORDER BY rowid DESC LIMIT ?`);
  const revoke = db.prepare('UPDATE grants SET revoked_at = ?, revoked_by = ? WHERE id = ? AND revoked_at IS NULL');
  return {
    insert(g: Grant): void {
      insert.run(g.id, g.shape, g.requestId, g.principal.id, g.createdAt, g.expiresAt, g.uses, JSON.stringify({ ...g, used: 0, revoked: null }));
    },
    use(id: string, now: string): Grant | undefined {
      const row = use.get(id, now) as GrantRow | undefined;
      return row ? grantOf(row) : undefined;
    },
    get(id: string): Grant | undefined {
      const row = get.get(id) as GrantRow | undefined;
      return row ? grantOf(row) : undefined;
    },
    active(shape: string, now: string): Grant[] {
      return (active.all(shape, now) as GrantRow[]).map(grantOf);
    },
    list(query: { requestId?: string; limit?: number }): Grant[] {
      const limit = Math.max(1, Math.min(query.limit ?? 100, 1000));
      return ((query.requestId === undefined ? list.all(limit) : ofRequest.all(query.requestId, limit)) as GrantRow[]).map(grantOf);
    },
    revoke(id: string, by: string, at: string): boolean {
      return revoke.run(at, by, id).changes === 1;
    },
  };
}

type GrantTable = ReturnType<typeof createGrantTable>;

/**
 * The GrantStore port over the table, with the store's write (its group commit), its request insert (`insertTx`,
 * which writes the request's audit events) and its appending of audit events.
 */
export function grantPort(
  grants: GrantTable,
  write: <T>(fn: () => T) => Promise<T>,
  insertTx: (request: RequestRecord, termSet: number, audit: readonly AuditDraft[]) => void,
  appendTx: (audit: readonly AuditDraft[]) => void,
  termSets: TermSetCache,
): GrantStore {
  return {
    async useGrant(id, now, request, stamp) {
      const termSet = await termSets.committed(termSetOf(request));
      return write(() => {
        const grant = grants.use(id, now);
        if (!grant) return undefined;
        const made = stamp(grant);
        // A failing insert (an idempotency key taken) rolls the use back with it.
        insertTx(made.request, termSet, made.audit);
        return made.request;
      });
    },
    getGrant: async (id) => grants.get(id),
    activeGrants: async (shape, now) => grants.active(shape, now),
    listGrants: async (query) => grants.list(query),
    async revokeGrant(id, revoked, audit) {
      return write(() => {
        if (!grants.get(id)) return undefined;
        const changed = grants.revoke(id, revoked.by, revoked.at);
        if (changed) appendTx(audit);
        return { grant: grants.get(id)!, changed };
      });
    },
  };
}
