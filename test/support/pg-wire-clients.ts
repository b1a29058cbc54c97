/**
 * Helpers of the Postgres wire listener's end-to-end tests with real clients
 * (pg-wire-clients.test.ts, pg-wire-bench-tls.test.ts): running psql and
 * other programs, node-postgres clients, the requests over REST, a
 * CancelRequest as libpq sends it, and the policy they share.
 */
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import pg from 'pg';
import { serialize } from 'pg-protocol';
import { expect } from 'vitest';
import type { TestGateway } from './gateway.ts';
import { readsPolicy } from './sql-by-type.ts';

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a program to its end, feeding `input` on stdin. */
export function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, input = ''): Promise<Run> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d));
    p.stderr.on('data', (d: Buffer) => (stderr += d));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    p.stdin.end(input);
  });
}

/** psql against the gateway's listener as a principal (its API key as password). */
export function psql(gw: TestGateway, who: string, args: string[], input = '', env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return run('psql', ['-X', '-h', '127.0.0.1', '-p', String(gw.postgresPort), '-U', who, '-d', 'app-db', ...args], {
    PGPASSWORD: gw.keys[who] ?? '',
    PGSSLMODE: 'disable',
    PGCONNECT_TIMEOUT: '20',
    ...env,
  }, input);
}

/** A node-postgres client of the listener as a principal (not yet connected). */
export function client(gw: TestGateway, who = 'deploy-bot'): pg.Client {
  return new pg.Client({ host: '127.0.0.1', port: gw.postgresPort, user: who, password: gw.keys[who], database: 'app-db', ssl: false });
}

export type Req = { id: string; status: string; action: { input: { sql: string; params?: unknown[] } } };
/** The latest requests (up to 100), as a reviewer sees them over REST. */
export const requests = async (gw: TestGateway, status?: string): Promise<Req[]> =>
  (await gw.as('alice', `/v1/requests?limit=100${status ? `&status=${status}` : ''}`)).body.requests as Req[];
export const statusOf = async (gw: TestGateway, id: string): Promise<string> => (await gw.as('alice', `/v1/requests/${id}`)).body.status as string;
/** alice (group sre) approves a request over REST. */
export const approve = async (gw: TestGateway, id: string) => {
  const r = await gw.as('alice', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve', comment: 'ok' } });
  expect(r.status).toBe(200);
};

/** Sends a CancelRequest as libpq does: a new connection, the key the session was given. */
export function cancelRequest(port: number, c: pg.Client): Promise<void> {
  const { processID, secretKey } = c as unknown as { processID: number; secretKey: number };
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => s.end(serialize.cancel(processID, secretKey)));
    s.on('close', () => resolve());
    s.on('error', reject);
  });
}

/**
 * The policy of the client tests: reads, transaction control, COPY (into `audited` held; of a query calling no function), pg_sleep and inserts
 * into notes allowed; deletes denied; updates held for one of sre.
 */
export const POLICY = readsPolicy(`    - id: transactions
      when: facts.sql.statements.all(s, s.type == "transaction")
      effect: allow
    - id: copy
      when: >-
        facts.sql.statements.exists(s, s.type == "copy") && facts.sql.statements.all(s, s.type in ["copy", "select"])
        && facts.sql.functions.size() == 0 && !("audited" in facts.sql.tables)
      effect: allow
    - id: copy-audited
      when: facts.sql.statements.all(s, s.type == "copy") && "audited" in facts.sql.tables
      effect: approve
      approvers: [{ groups: [sre], count: 1 }]
    - id: sleep
      when: '"pg_catalog.pg_sleep" in facts.sql.functions && facts.sql.statements.all(s, s.type == "select")'
      effect: allow
    - id: notes
      when: facts.sql.statements.all(s, s.type == "insert") && facts.sql.tables.all(t, t == "notes")
      effect: allow
    - id: no-deletes
      when: facts.sql.statements.exists(s, s.type == "delete")
      effect: deny
      message: deleting is never allowed here
    - id: updates
      when: facts.sql.statements.all(s, s.type == "update")
      effect: approve
      approvers: [{ groups: [sre], count: 1 }]
      ttl: 1h
`);
