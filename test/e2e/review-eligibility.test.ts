/**
 * Who may approve is decided by the configuration in force when the
 * approvals are counted, not by the one in force when each was given: a
 * reviewer taken out of a group, or out of the configuration, no longer
 * counts toward the quorum that group fills — neither when the next review
 * lands nor in the check just before execution. The gateway is restarted on
 * the same SQLite file with the changed configuration, as an operator would.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configYaml, DEFAULT_PRINCIPALS, eventually, startTestGateway, type TestGateway, type TestPrincipal } from '../support/gateway.ts';
import { auditEvents, requestStatus } from '../support/sqlite.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

let upstream: Upstream;
const dirs: string[] = [];

beforeAll(async () => {
  upstream = await startUpstream();
});
afterAll(async () => {
  await upstream?.close();
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

const body = () => `connections:
  - name: ops-api
    kind: http
    url: ${upstream.url}/ops
policy:
  default: deny
  defaultTtl: 2h
  rules:
    - id: one-sre
      when: facts.http.method == "POST" && facts.http.path.startsWith("/deploy")
      effect: approve
      approvers: [{ groups: [sre] }]
    - id: two-sre
      when: facts.http.method == "POST" && facts.http.path.startsWith("/rotate")
      effect: approve
      approvers: [{ groups: [sre], count: 2 }]
`;

/** A gateway on a fresh directory, and a way to restart it there with other principals. */
async function gateway(): Promise<{ gw: () => TestGateway; restart: (principals: TestPrincipal[], whileDown?: () => void) => Promise<void>; stop: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'cs-eligibility-'));
  dirs.push(dir);
  const keys: Record<string, string> = {};
  const start = (principals: TestPrincipal[]) => startTestGateway(configYaml(principals, keys, body(), join(dir, 'countersign.db')), { dir, keys });
  let current = await start(DEFAULT_PRINCIPALS);
  return {
    gw: () => current,
    async restart(principals, whileDown) {
      await current.stop();
      whileDown?.();
      current = await start(principals);
    },
    stop: () => current.stop(),
  };
}

const calls = (path: string) => upstream.calls.filter((c) => c.url === `/ops${path}`).length;
const without = (id: string) => DEFAULT_PRINCIPALS.filter((p) => p.id !== id);
const aliceOutOfSre = DEFAULT_PRINCIPALS.map((p) => (p.id === 'alice' ? { ...p, groups: ['dev'] } : p));

async function hold(gw: TestGateway, path: string): Promise<{ id: string; digest: string }> {
  const res = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'ops-api', input: { method: 'POST', path, body: { v: 1 } }, reason: 'ship it' } });
  expect(res.status).toBe(202);
  return { id: res.body.id, digest: res.body.digest };
}

describe('approvals are counted against the configuration in force now', () => {
  for (const [name, principals] of [
    ['taken out of the group', aliceOutOfSre],
    ['removed from the configuration', without('alice')],
  ] as const) {
    it(`an approval by a reviewer since ${name} no longer counts toward quorum`, async () => {
      const g = await gateway();
      try {
        const { id, digest } = await hold(g.gw(), `/rotate/${principals.length}`);
        expect((await g.gw().as('alice', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve', digest } })).status).toBe(200);
        await g.restart(principals);

        const res = await g.gw().as('bob', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve', digest } });
        expect(res.status).toBe(200);
        expect(res.body.status).toBe('pending');
        expect(requestStatus(g.gw().dbPath, id)).toBe('pending');
        const events = auditEvents(g.gw().dbPath, id);
        expect(events.some((e) => e.type === 'request.approved')).toBe(false);
        expect(events.at(-1)).toMatchObject({ type: 'review.recorded', actor: 'bob', data: { remaining: [{ rule: 'two-sre', needed: 1 }] } });
        expect(calls(`/rotate/${principals.length}`)).toBe(0);

        // A reviewer still in the group completes it.
        const third = await g.gw().as('carol', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve', digest } });
        // carol is the human deploy-bot acts for: never a reviewer of its request.
        expect(third.status).toBe(403);
        expect(requestStatus(g.gw().dbPath, id)).toBe('pending');
      } finally {
        await g.stop();
      }
    });
  }

  it('the check before execution counts an approval only if its reviewer is still eligible: the request goes back to pending', async () => {
    const g = await gateway();
    try {
      const { id, digest } = await hold(g.gw(), '/deploy/eligibility');
      const dbPath = g.gw().dbPath;
      // Approved by alice (then in sre) just before the restart, and not yet claimed.
      await g.restart(aliceOutOfSre, () => {
      const db = new Database(dbPath, { fileMustExist: true });
      try {
        db.transaction(() => {
          const old = '2000-01-01T00:00:00.000Z';
          db.prepare(`UPDATE requests SET status = 'approved', updated_at = ?, record = json_set(record, '$.status', 'approved', '$.updatedAt', ?) WHERE id = ?`).run(old, old, id);
          const review = { requestId: id, reviewer: { id: 'alice', kind: 'human', groups: ['sre'], email: null, identity: null }, verdict: 'approve', comment: '', digest, createdAt: old };
          db.prepare('INSERT INTO reviews (request_id, reviewer, verdict, created_at, record) VALUES (?, ?, ?, ?, ?)').run(id, 'alice', 'approve', old, JSON.stringify(review));
        }).immediate();
      } finally {
        db.close();
      }
      });

      const requeued = await eventually(async () => auditEvents(dbPath, id).find((e) => e.type === 'request.requeued'));
      expect(requeued.data).toMatchObject({ remaining: [{ rule: 'one-sre', needed: 1 }] });
      // Back to pending for the policy's time to live (no rule sets its own), as at submission.
      expect(Date.parse(requeued.data.expiresAt as string) - Date.parse(requeued.time)).toBe(2 * 3600 * 1000);
      expect(requestStatus(dbPath, id)).toBe('pending');
      expect(auditEvents(dbPath, id).some((e) => e.type === 'request.executing')).toBe(false);
      expect(calls('/deploy/eligibility')).toBe(0);
    } finally {
      await g.stop();
    }
  });
});
