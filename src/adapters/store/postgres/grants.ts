/**
 * Scoped grants in PostgreSQL: one row per grant, its record as JSON text beside the columns that change (uses
 * consumed, revocation) and those a use filters on. A use is one UPDATE … WHERE used < uses AND revoked_at IS NULL
 * AND expires_at > now inside the write transaction that records the request it approves: replicas racing for the
 * last use wait on the row lock, and the WHERE is checked again on the row as the winner left it.
 */
import type { AuditDraft } from '../../../core/audit.ts';
import type { Grant } from '../../../core/grant.ts';
import type { GrantStore } from '../../../core/ports.ts';
import { termSetOf, type TermSetCache } from '../term-sets.ts';
import type { AuditTx } from './audit.ts';
import { holdsNul, type Run } from './pool.ts';
import * as requests from './requests.ts';
import type { TxOp } from './group-commit.ts';

type GrantRow = { record: string; used: number; revoked_at: string | null; revoked_by: string | null };
const COLUMNS = 'record, used, revoked_at, revoked_by';

const INSERT = {
  name: 'cs_grant_insert',
  text: 'INSERT INTO grants (id, shape, request_id, principal_id, created_at, expires_at, uses, used, record) VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8)',
};
const USE = {
  name: 'cs_grant_use',
  text: `UPDATE grants SET used = used + 1 WHERE id = $1 AND used < uses AND revoked_at IS NULL AND expires_at > $2 RETURNING ${COLUMNS}`,
};
const GET = { name: 'cs_grant_get', text: `SELECT ${COLUMNS} FROM grants WHERE id = $1` };
const GET_FOR_UPDATE = { name: 'cs_grant_get_for_update', text: `SELECT ${COLUMNS} FROM grants WHERE id = $1 FOR UPDATE` };
const ACTIVE = {
  name: 'cs_grant_active',
  text: `SELECT ${COLUMNS} FROM grants WHERE shape = $1 AND used < uses AND revoked_at IS NULL AND expires_at > $2 ORDER BY seq`,
};
const LIST = { name: 'cs_grant_list', text: `SELECT ${COLUMNS} FROM grants ORDER BY seq DESC LIMIT $1` };
const OF_REQUEST = { name: 'cs_grant_of_request', text: `SELECT ${COLUMNS} FROM grants WHERE request_id = $1 ORDER BY seq DESC LIMIT $2` };
const REVOKE = { name: 'cs_grant_revoke', text: 'UPDATE grants SET revoked_at = $2, revoked_by = $3 WHERE id = $1 AND revoked_at IS NULL' };

function grantOf(row: GrantRow): Grant {
  const g = JSON.parse(row.record) as Grant;
  return { ...g, used: row.used, revoked: row.revoked_at === null ? null : { by: row.revoked_by ?? '', at: row.revoked_at } };
}

/** Inside a request mutation's transaction: the grant its approval creates. */
export async function insertGrant(run: Run, g: Grant): Promise<void> {
  await run(INSERT, [g.id, g.shape, g.requestId, g.principal.id, g.createdAt, g.expiresAt, g.uses, JSON.stringify({ ...g, used: 0, revoked: null })]);
}

/** The GrantStore port: `write` runs a transaction (the store's group commit), `q` reads on the pool. */
export function grantPort(write: <T>(op: TxOp<T>) => Promise<T>, q: Run, sets: TermSetCache): GrantStore {
  return {
    async useGrant(id, now, request, stamp) {
      if (holdsNul([id, now])) return undefined;
      const termSet = await sets.committed(termSetOf(request));
      return write(async (run: Run, tx: AuditTx, rows) => {
        const row = (await run<GrantRow>(USE, [id, now])).rows[0];
        if (!row) return undefined;
        const made = stamp(grantOf(row));
        // A failing insert (an idempotency key taken) fails the transaction, and the use with it.
        await requests.insertRequest(run, tx, made.request, termSet, made.audit, rows);
        return made.request;
      });
    },
    async getGrant(id) {
      if (holdsNul([id])) return undefined;
      const row = (await q<GrantRow>(GET, [id])).rows[0];
      return row ? grantOf(row) : undefined;
    },
    async activeGrants(shape, now) {
      if (holdsNul([shape, now])) return [];
      return (await q<GrantRow>(ACTIVE, [shape, now])).rows.map(grantOf);
    },
    async listGrants(query) {
      const limit = Math.max(1, Math.min(query.limit ?? 100, 1000));
      if (query.requestId !== undefined && holdsNul([query.requestId])) return [];
      const rows = query.requestId === undefined ? await q<GrantRow>(LIST, [limit]) : await q<GrantRow>(OF_REQUEST, [query.requestId, limit]);
      return rows.rows.map(grantOf);
    },
    async revokeGrant(id, revoked, audit: readonly AuditDraft[]) {
      if (holdsNul([id, revoked.by])) return undefined;
      return write(async (run, tx) => {
        const before = (await run<GrantRow>(GET_FOR_UPDATE, [id])).rows[0];
        if (!before) return undefined;
        const changed = (await run(REVOKE, [id, revoked.at, revoked.by])).rowCount === 1;
        if (changed) await tx.append(audit);
        const after = (await run<GrantRow>(GET, [id])).rows[0]!;
        return { grant: grantOf(after), changed };
      });
    },
  };
}

