/**
 * The evidence report over a log the real gateway wrote: allowed reads and
 * writes, a held action approved by one human, one that needed two, one a
 * reviewer denied, one the policy denied, one that expired, one withdrawn,
 * and a policy change between two runs — then the report built from the
 * store (SQLite or PostgreSQL, opened as the CLI does), rendered, and written by the `evidence report` command.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { evidenceReportCommand } from '../../src/cli/evidence.ts';
import { loadConfig } from '../../src/config/load.ts';
import { openStoreForCommand } from '../../src/main-store.ts';
import { renderEvidenceHtml } from '../../src/surfaces/evidence-html.ts';
import { isCountersignError } from '../../src/core/errors.ts';
import type { Store } from '../../src/core/ports.ts';
import { buildEvidence, type EvidenceReport } from '../../src/service/evidence/index.ts';
import { manualClock } from '../support/clock.ts';
import { captureIo } from '../support/cli-in-process.ts';
import { configYaml, DEFAULT_PRINCIPALS, eventually, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { releaseTestStore, storeYaml } from '../support/test-store.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

const T0 = Date.parse('2026-04-01T09:00:00.000Z');
const HOSTILE = '<script>alert(1)</script> refund for a customer';
const dir = mkdtempSync(join(tmpdir(), 'cs-evidence-'));
const dbPath = join(dir, 'countersign.db');
const configPath = join(dir, 'countersign.yaml');
const clock = manualClock(T0);
const keys: Record<string, string> = {};
const ids: Record<string, string> = {};
let upstream: Upstream;
let secondRunAt = 0;
let endAt = 0;

function body(extraRule: string): string {
  return `connections:
  - name: billing-api
    kind: http
    url: ${upstream.url}/billing
    tags: { env: prod, data: pii, compliance: [soc2, gdpr] }
  - name: ops-api
    kind: http
    url: ${upstream.url}/ops
    tags: { env: prod }
  - name: staging-api
    kind: http
    url: ${upstream.url}/staging
    tags: { env: staging }
policy:
  default: deny
  rules:
    - id: reads
      when: "!facts.writes"
      effect: allow
    - id: staging-writes
      when: connection.tags.env == "staging" && facts.writes
      effect: allow
    - id: prod-writes
      when: connection.tags.env == "prod" && facts.writes
      effect: approve
      approvers: [{ groups: [sre], count: 1 }]
      ttl: 1h
    - id: large-refunds
      when: facts.http.path.startsWith("/refunds/large")
      effect: approve
      approvers: [{ groups: [sre], count: 2 }]
    - id: no-deletes
      when: facts.http.method == "DELETE"
      effect: deny
      message: deletes are never allowed from agents
${extraRule}`;
}

async function act(gw: TestGateway, name: string, connection: string, input: Record<string, unknown>, reason = `${name} please`) {
  const res = await gw.as('deploy-bot', '/v1/actions', { body: { connection, input, reason } });
  ids[name] = (res.body.id ?? res.body.error?.requestId) as string;
  return res;
}

async function settled(gw: TestGateway, id: string, status: string) {
  return eventually(async () => ((await gw.as('deploy-bot', `/v1/requests/${id}`)).body.status === status ? true : undefined));
}

beforeAll(async () => {
  upstream = await startUpstream();
  const first = configYaml(DEFAULT_PRINCIPALS, keys, body(''), dbPath);
  const gw = await startTestGateway(first, { dir, keys, clock });
  expect((await act(gw, 'read', 'billing-api', { method: 'GET', path: '/invoices' })).body.status).toBe('succeeded');
  expect((await act(gw, 'staging', 'staging-api', { method: 'POST', path: '/deploy' })).body.status).toBe('succeeded');

  expect((await act(gw, 'refund', 'billing-api', { method: 'POST', path: '/refunds', body: { amount: 10 } }, HOSTILE)).status).toBe(202);
  // carol is the human deploy-bot acts for: the gateway refuses her, and the report must show no self-approval.
  expect((await gw.as('carol', `/v1/requests/${ids['refund']}/reviews`, { body: { verdict: 'approve' } })).body.error.code).toBe('SELF_APPROVAL_FORBIDDEN');
  clock.advance(90_000);
  expect((await gw.as('alice', `/v1/requests/${ids['refund']}/reviews`, { body: { verdict: 'approve', comment: 'ok' } })).status).toBe(200);
  await settled(gw, ids['refund']!, 'succeeded');

  expect((await act(gw, 'large', 'billing-api', { method: 'POST', path: '/refunds/large', body: { amount: 9000 } })).status).toBe(202);
  clock.advance(30_000);
  expect((await gw.as('alice', `/v1/requests/${ids['large']}/reviews`, { body: { verdict: 'approve' } })).body.status).toBe('pending');
  clock.advance(30_000);
  await gw.as('bob', `/v1/requests/${ids['large']}/reviews`, { body: { verdict: 'approve' } });
  await settled(gw, ids['large']!, 'succeeded');

  expect((await act(gw, 'restart', 'ops-api', { method: 'POST', path: '/restart' })).status).toBe(202);
  clock.advance(120_000);
  expect((await gw.as('bob', `/v1/requests/${ids['restart']}/reviews`, { body: { verdict: 'deny', comment: 'not in business hours' } })).body.status).toBe('denied');

  expect((await act(gw, 'delete', 'billing-api', { method: 'DELETE', path: '/customers/7' })).status).toBe(403);

  expect((await act(gw, 'late', 'billing-api', { method: 'POST', path: '/refunds', body: { amount: 1 } })).status).toBe(202);
  clock.advance(2 * 3600_000);
  await settled(gw, ids['late']!, 'expired');
  await gw.stop();

  // A day later the gateway starts with a changed policy, and one request is withdrawn.
  clock.advance(86_400_000);
  secondRunAt = clock.now().getTime();
  const second = first.replace(body(''), body('    - id: audit-reads\n      when: connection.name == "ops-api" && !facts.writes\n      effect: allow\n'));
  // The file the CLI reads names the store in use (on PostgreSQL, the gateways' database).
  writeFileSync(configPath, await storeYaml(second));
  const gw2 = await startTestGateway(second, { dir, keys, clock });
  expect((await act(gw2, 'withdrawn', 'ops-api', { method: 'POST', path: '/scale' })).status).toBe(202);
  clock.advance(5_000);
  expect((await gw2.as('deploy-bot', `/v1/requests/${ids['withdrawn']}/cancel`, { body: { reason: 'no longer needed' } })).body.status).toBe('cancelled');
  await gw2.stop();
  endAt = clock.now().getTime();
}, 60_000);

afterAll(async () => {
  await upstream?.close();
  await releaseTestStore(dbPath);
  rmSync(dir, { recursive: true, force: true });
});

async function report(framework: 'soc2' | 'iso27001' | 'gdpr', from = T0 - 60_000, to = endAt + 60_000): Promise<{ r: EvidenceReport; store: Store }> {
  const store = await openStoreForCommand(loadConfig(configPath), configPath);
  return { r: await buildEvidence(store, { from: new Date(from), to: new Date(to), framework }), store };
}

describe('the evidence report of a period the gateway logged', () => {
  it('lists each privileged action with requester, acting-for human, approvers, rule, policy version and outcome', async () => {
    const { r, store } = await report('soc2');
    await store.close();
    expect(r.actions.map((a) => a.id)).toEqual([ids['staging'], ids['refund'], ids['large'], ids['restart'], ids['late'], ids['withdrawn']]);
    const refund = r.actions.find((a) => a.id === ids['refund'])!;
    expect(refund).toMatchObject({ requester: 'deploy-bot', actsFor: 'carol', connection: 'billing-api', summary: 'POST /refunds', reason: HOSTILE, approvers: ['alice'], rules: ['prod-writes'], outcome: 'succeeded', timeToDecisionMs: 90_000 });
    expect(refund.policyHash).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(refund.executedUnder?.policyHash).toBe(refund.policyHash);
    expect(r.actions.find((a) => a.id === ids['staging'])).toMatchObject({ effect: 'allow', rules: ['staging-writes'], writes: true, approvers: [], outcome: 'succeeded' });
    expect(r.summary).toMatchObject({ requests: 8, privilegedActions: 6, routineReads: 1, succeeded: 3, deniedByPolicy: 1, deniedByReview: 1, expired: 1, cancelled: 1, policyChanges: 2 });
  });

  it('counts separation of duties honestly: no self-approvals, distinct approvers, time to decision', async () => {
    const { r, store } = await report('soc2');
    await store.close();
    expect(r.sod).toMatchObject({ heldRequests: 5, approvedRequests: 2, approvalReviews: 3, denialReviews: 1, selfApprovals: 0, refusedSelfApprovals: 1, nonHumanApprovals: 0, uncheckedReviews: 0, multiApproverRequests: 1 });
    expect(r.sod.approvers).toEqual([{ id: 'alice', approvals: 2 }, { id: 'bob', approvals: 1 }]);
    expect(r.sod.timeToDecision).toEqual({ count: 3, medianMs: 90_000, p90Ms: 120_000, maxMs: 120_000 });
    expect([...r.actions.find((a) => a.id === ids['large'])!.approvers].sort()).toEqual(['alice', 'bob']);
  });

  it('lists the denied, expired and cancelled requests and both policy loads', async () => {
    const { r, store } = await report('soc2');
    await store.close();
    expect(r.denied.byPolicy.map((e) => [e.id, e.code, e.message, e.rules])).toEqual([[ids['delete'], 'POLICY_DENIED', 'deletes are never allowed from agents', ['prod-writes', 'no-deletes']]]);
    expect(r.denied.byReview.map((e) => [e.id, e.deniers])).toEqual([[ids['restart'], ['bob']]]);
    expect(r.expired.map((e) => e.id)).toEqual([ids['late']]);
    expect(r.cancelled.map((e) => [e.id, e.message])).toEqual([[ids['withdrawn'], 'cancelled by deploy-bot: no longer needed']]);
    const [load, change] = r.policyChanges;
    expect(load?.old).toBeNull();
    expect(change?.old).toBe(load?.new);
    expect(change?.new).not.toBe(load?.new);
    expect(change?.rules.map((x) => x.id)).toContain('audit-reads');
  });

  it('ties the period to signed checkpoints whose roots are the log’s', async () => {
    const { r, store } = await report('soc2');
    try {
      const c = r.coverage;
      expect(c.firstSeq).toBe(1);
      expect(c.lastSeq).toBe((await store.treeHead()).size);
      expect(c.covered).toBe(true);
      const covering = c.checkpoints.at(-1)!;
      expect(covering.size).toBeGreaterThanOrEqual(c.lastSeq!);
      expect(c.checkpoints.slice(0, -1).every((x) => x.size < c.lastSeq!)).toBe(true);
      for (const cp of c.checkpoints) {
        expect(cp.root).toBe(await store.rootAt(cp.size));
        expect(cp.note).toContain(`\n${cp.size}\n`);
      }
    } finally {
      await store.close();
    }
  });

  it('covers only the first run when the period ends before the second', async () => {
    const { r, store } = await report('soc2', T0 - 60_000, secondRunAt);
    await store.close();
    expect(r.policyChanges).toHaveLength(1);
    expect(r.cancelled).toEqual([]);
    expect(r.coverage.covered).toBe(true);
    expect(r.coverage.checkpoints.at(-1)!.size).toBe(r.coverage.lastSeq);
  });

  it('for GDPR, keeps only the actions on personal-data connections', async () => {
    const { r, store } = await report('gdpr');
    await store.close();
    expect(r.actions.map((a) => a.id)).toEqual([ids['refund'], ids['large'], ids['late']]);
    expect(r.actions.every((a) => a.personalData)).toBe(true);
  });

  it('renders the agent’s markup as text, with the framework’s controls', async () => {
    const { r, store } = await report('iso27001');
    await store.close();
    const html = renderEvidenceHtml(r);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt; refund for a customer');
    expect(html).not.toMatch(/<script/i);
    for (const id of ['A.5.15', 'A.5.18', 'A.8.2', 'A.8.15', 'A.8.32']) expect(html).toContain(id);
  });
});

describe('evidence report, the command', () => {
  it('writes the HTML and the JSON and prints a summary line', async () => {
    const out = join(dir, 'q2.html');
    const { io, output } = captureIo(process.env);
    const code = await evidenceReportCommand(configPath, { from: new Date(T0 - 60_000).toISOString(), to: new Date(endAt + 60_000).toISOString(), framework: 'soc2', out }, io);
    const printed = output().stdout;
    expect(code).toBe(0);
    expect(printed).toContain(`wrote ${out} and ${join(dir, 'q2.json')}`);
    expect(printed).toContain('0 self-approvals');
    const json = JSON.parse(readFileSync(join(dir, 'q2.json'), 'utf8')) as EvidenceReport;
    expect(json.framework).toBe('soc2');
    expect(json.sod.selfApprovals).toBe(0);
    const html = readFileSync(out, 'utf8');
    for (const id of ['CC6.1', 'CC6.2', 'CC6.3', 'CC7.2', 'CC8.1']) expect(html).toContain(id);
    expect(html).not.toMatch(/<script/i);
  });

  it('signs a checkpoint when none covers the period yet, with the gateway’s key', async () => {
    const gw = await startTestGateway(readFileSync(configPath, 'utf8'), { dir, keys, clock });
    try {
      await act(gw, 'fresh', 'staging-api', { method: 'POST', path: '/deploy' });
      const [before] = await gw.deps.store.checkpoints({ latest: true });
      expect(before!.size).toBeLessThan((await gw.deps.store.treeHead()).size);
      const json = join(dir, 'fresh.json');
      const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
      try {
        expect(await evidenceReportCommand(configPath, { from: '2026-01-01', to: '2027-01-01', framework: 'gdpr', out: join(dir, 'fresh.html'), json }, captureIo(process.env).io)).toBe(0);
      } finally {
        write.mockRestore();
      }
      const r = JSON.parse(readFileSync(json, 'utf8')) as EvidenceReport;
      expect(r.coverage.covered).toBe(true);
      expect(r.coverage.checkpoints.at(-1)!.size).toBe(r.coverage.lastSeq);
      expect(r.coverage.checkpoints.at(-1)!.keyId).toBe(before!.keyId);
    } finally {
      await gw.stop();
    }
  });

  it('refuses a bad date or an inverted period with INVALID_REQUEST and writes nothing', async () => {
    const out = join(dir, 'bad.html');
    const code = (p: Promise<unknown>) => p.then(() => 'ok', (e: unknown) => (isCountersignError(e) ? e.code : String(e)));
    expect(await code(evidenceReportCommand(configPath, { from: 'last tuesday', to: '2026-05-01', framework: 'soc2', out }, captureIo(process.env).io))).toBe('INVALID_REQUEST');
    expect(await code(evidenceReportCommand(configPath, { from: '2026-05-01T10:00', to: '2026-06-01', framework: 'soc2', out }, captureIo(process.env).io))).toBe('INVALID_REQUEST');
    expect(await code(evidenceReportCommand(configPath, { from: '2026-06-01', to: '2026-05-01', framework: 'soc2', out }, captureIo(process.env).io))).toBe('INVALID_REQUEST');
    expect(existsSync(out)).toBe(false);
  });
});
