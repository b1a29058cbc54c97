/**
 * An approval is for one digest: a review recorded for any other digest (a
 * row written by an older version, restored from a backup, or edited in the
 * file) never counts, neither toward quorum when the next review lands nor
 * when execution checks the approval again just before running.
 */
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { auditEvents, requestStatus } from '../support/sqlite.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

let upstream: Upstream;
let gw: TestGateway;
const OTHER_DIGEST = `sha256:${'0'.repeat(64)}`;

beforeAll(async () => {
  upstream = await startUpstream();
  gw = await startTestGateway(`connections:
  - name: ops-api
    kind: http
    url: ${upstream.url}/ops
policy:
  default: deny
  rules:
    - id: one-sre
      when: facts.http.method == "POST" && facts.http.path.startsWith("/deploy")
      effect: approve
      approvers: [{ groups: [sre] }]
    - id: two-sre
      when: facts.http.method == "POST" && facts.http.path.startsWith("/rotate")
      effect: approve
      approvers: [{ groups: [sre], count: 2 }]
`);
});

afterAll(async () => {
  await gw?.stop();
  await upstream?.close();
});

/** Writes to the gateway's file from outside, as a restore or an edit would. */
function edit(fn: (db: Database.Database) => void): void {
  const db = new Database(gw.dbPath, { fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  try {
    db.transaction(() => fn(db)).immediate();
  } finally {
    db.close();
  }
}

async function hold(path: string): Promise<{ id: string; digest: string }> {
  const res = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'ops-api', input: { method: 'POST', path, body: { v: 1 } }, reason: 'ship it' } });
  expect(res.status).toBe(202);
  return { id: res.body.id, digest: res.body.digest };
}

const calls = (path: string) => upstream.calls.filter((c) => c.url === `/ops${path}`).length;

describe('reviews bound to a digest', () => {
  it('a review stored for another digest does not count toward quorum: the next approval leaves the request pending', async () => {
    const { id, digest } = await hold('/rotate/1');
    expect((await gw.as('bob', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve', digest } })).status).toBe(200);
    edit((db) => db.prepare(`UPDATE reviews SET record = json_set(record, '$.digest', ?) WHERE request_id = ? AND reviewer = 'bob'`).run(OTHER_DIGEST, id));

    const res = await gw.as('alice', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve', digest } });
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('pending');
    expect(requestStatus(gw.dbPath, id)).toBe('pending');
    const events = auditEvents(gw.dbPath, id);
    expect(events.filter((e) => e.type === 'request.approved')).toEqual([]);
    expect(events.at(-1)).toMatchObject({ type: 'review.recorded', actor: 'alice', data: { digest, remaining: [{ rule: 'two-sre', needed: 1 }] } });
    expect(calls('/rotate/1')).toBe(0);
  });

  it('execution counts only reviews for the request’s digest: an approved request whose approval was for another digest goes back to pending', async () => {
    const { id } = await hold('/deploy/1');
    // An approved request, unclaimed for a while, whose one approval names another digest.
    edit((db) => {
      const old = '2000-01-01T00:00:00.000Z';
      db.prepare(`UPDATE requests SET status = 'approved', updated_at = ?, record = json_set(record, '$.status', 'approved', '$.updatedAt', ?) WHERE id = ?`).run(old, old, id);
      const review = { requestId: id, reviewer: { id: 'bob', kind: 'human', groups: ['sre'] }, verdict: 'approve', comment: '', digest: OTHER_DIGEST, createdAt: old };
      db.prepare('INSERT INTO reviews (request_id, reviewer, verdict, created_at, record) VALUES (?, ?, ?, ?, ?)').run(id, 'bob', 'approve', old, JSON.stringify(review));
    });
    // The gateway's sweep picks up approved requests nobody claimed, and checks them before running.
    const requeued = await eventually(async () => auditEvents(gw.dbPath, id).find((e) => e.type === 'request.requeued'));
    expect(requeued.data).toMatchObject({ remaining: [{ rule: 'one-sre', needed: 1 }] });
    expect(requestStatus(gw.dbPath, id)).toBe('pending');
    expect(auditEvents(gw.dbPath, id).some((e) => e.type === 'request.executing')).toBe(false);
    expect(calls('/deploy/1')).toBe(0);
  });
});
