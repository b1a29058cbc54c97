/**
 * What stands in for reviews — a break-glass, a scoped grant — is judged again when the request runs, as reviews are.
 * A request approved by one and not yet claimed (the claim refused because another gateway took over with a newer
 * config; a session's request waits for its session) runs later, under the configuration in force then. Reviews are
 * counted there as that configuration sees their reviewers (execute.ts requeues when they no longer make a quorum);
 * a break-glass whose human has since left the break-glass group, left the configuration or become the human the
 * agent acts for, and a grant whose giver no longer counts or that was revoked, must not run it either.
 *
 * Each case: the approval is recorded while the claim right after it is refused (another gateway takes over), then
 * the gateway restarts on the same store with the changed configuration and resumes the approved request.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/core/ports.ts';
import type { Principal } from '../../src/core/principal.ts';
import { breakGlass } from '../../src/service/break-glass.ts';
import { executeApproved } from '../../src/service/execute.ts';
import { takeConfigInForce } from '../../src/service/config-in-force.ts';
import type { Deps } from '../../src/service/deps.ts';
import { submit } from '../../src/service/submit.ts';
import { configYaml, DEFAULT_PRINCIPALS, eventually, startTestGateway, type TestGateway, type TestPrincipal } from '../support/gateway.ts';
import { storedAudit } from '../support/store-view.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

let upstream: Upstream;
const dirs: string[] = [];

beforeAll(async () => {
  upstream = await startUpstream(() => ({ status: 200, body: { ok: true } }));
});
afterAll(async () => {
  await upstream?.close();
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

const body = () => `connections:
  - name: ops
    kind: http
    url: ${upstream.url}/ops
policy:
  default: deny
  rules:
    - id: restarts
      when: facts.http.path.startsWith("/restart")
      effect: approve
      approvers: [{ groups: [sre], count: 2 }]
      breakGlass: { groups: [oncall] }
    - id: refunds
      when: facts.http.path == "/refunds"
      effect: approve
      approvers: [{ groups: [sre] }]
      grant: { maxUses: 5, maxDuration: 1h, vary: [body.amount] }
`;

const erin = { id: 'erin', kind: 'human' as const, groups: ['oncall'] };
const base: TestPrincipal[] = [...DEFAULT_PRINCIPALS, erin];
const calls = (path: string) => upstream.calls.filter((c) => c.url === `/ops${path}`).length;

/** The store, with another gateway taking over (a config of its own) as this one first claims an approved request. */
function takenOverAtClaim(store: Store): Store {
  let done = false;
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop !== 'mutateRequest') return Reflect.get(target, prop, receiver);
      return async (...args: Parameters<Store['mutateRequest']>) => {
        if (!done && (await store.getRequest(args[0]))?.status === 'approved') {
          done = true;
          await takeConfigInForce(store, 'sha256:another-gateways-config');
        }
        return store.mutateRequest(...args);
      };
    },
  });
}

async function settled(gw: TestGateway, id: string): Promise<string> {
  return eventually(async () => {
    const s = (await gw.deps.store.getRequest(id))?.status;
    return s === 'succeeded' || s === 'failed' || s === 'denied' || s === 'pending' ? s : undefined;
  });
}

/** A gateway on a store of its own, restartable with other principals (the same keys). */
function onOneStore() {
  const dir = mkdtempSync(join(tmpdir(), 'cs-standing-'));
  dirs.push(dir);
  const keys: Record<string, string> = {};
  return (ps: TestPrincipal[]) => startTestGateway(configYaml(ps, keys, body(), join(dir, 'countersign.db')), { dir, keys });
}

describe('a break-glass whose human no longer may break it when the request runs', () => {
  const changes: [string, TestPrincipal[]][] = [
    ['has left the break-glass group', base.map((p) => (p.id === 'erin' ? { ...p, groups: [] } : p))],
    ['was removed from the configuration', base.filter((p) => p.id !== 'erin')],
    ['is now the human the agent acts for', base.map((p) => (p.id === 'deploy-bot' ? { ...p, actsFor: 'erin' } : p))],
  ];
  for (const [change, principals] of changes) {
    it(`does not run the request once the breaker ${change}: denied BREAK_GLASS_NOT_ALLOWED, the upstream never called`, async () => {
      const start = onOneStore();
      const path = `/restart/${changes.findIndex((c) => c[0] === change)}`;
      let gw = await start(base);
      try {
        const held = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'ops', input: { method: 'POST', path }, reason: 'restart' } });
        expect(held.status).toBe(202);
        const id = held.body.id as string;
        const deps: Deps = { ...gw.deps, store: takenOverAtClaim(gw.deps.store) };
        const by = gw.deps.identity.principal('erin') as Principal;
        await breakGlass(deps, { by, requestId: id, justification: 'checkout is down, INC-77' }).catch((e: unknown) => expect(e).toMatchObject({ code: 'POLICY_NOT_IN_FORCE' }));
        expect((await gw.deps.store.getRequest(id))?.status).toBe('approved');
        expect(calls(path)).toBe(0);

        await gw.stop();
        gw = await start(principals);
        expect(await settled(gw, id)).toBe('denied');
        expect((await gw.deps.store.getRequest(id))?.error?.code).toBe('BREAK_GLASS_NOT_ALLOWED');
        const types = (await storedAudit(gw.deps.store, id)).map((e) => e.type);
        expect(types).not.toContain('request.executing');
        expect(calls(path)).toBe(0);
      } finally {
        await gw.stop();
      }
    });
  }
});

describe('a grant that no longer stands when the request it approved runs', () => {
  const refund = (amount: number) => ({ connection: 'ops', input: { method: 'POST', path: '/refunds', body: { amount, order: 'o-9' } }, reason: 'refund' });
  const cases: [string, TestPrincipal[] | 'revoked'][] = [
    ['its giver has left the approvers group', base.map((p) => (p.id === 'alice' ? { ...p, groups: ['dev'] } : p))],
    ['it was revoked', 'revoked'],
  ];
  for (const [change, after] of cases) {
    it(`does not run on the grant once ${change}: held again for reviewers, the upstream never called`, async () => {
      const start = onOneStore();
      let gw = await start(base);
      try {
        const first = await gw.as('deploy-bot', '/v1/actions', { body: refund(1) });
        const ok = await gw.as('alice', `/v1/requests/${first.body.id}/reviews`, { body: { verdict: 'approve', grant: { uses: 3, for: '1h' } } });
        expect(ok.status).toBe(200);
        const grantId = ok.body.grant.id as string;
        expect(await settled(gw, first.body.id)).toBe('succeeded');
        const before = upstream.calls.filter((c) => c.url === '/ops/refunds').length;

        const deps: Deps = { ...gw.deps, store: takenOverAtClaim(gw.deps.store) };
        const bot = gw.deps.identity.principal('deploy-bot') as Principal;
        const r = await submit(deps, { principal: bot, ...refund(2) }).catch((e: unknown) => {
          expect(e).toMatchObject({ code: 'POLICY_NOT_IN_FORCE' });
          return undefined;
        });
        const id = r?.id ?? (await gw.deps.store.listRequests({ status: ['approved'], limit: 10 }))[0]!.id;
        const stored = await gw.deps.store.getRequest(id);
        expect([stored?.status, stored?.grantedBy?.grantId]).toEqual(['approved', grantId]);

        if (after === 'revoked') {
          // This gateway's config in force again; the revocation lands before anything claims the request.
          await takeConfigInForce(gw.deps.store, gw.deps.inForce!.generation);
          await gw.deps.inForce!.check(0);
          const revoked = await gw.as('alice', `/v1/grants/${grantId}/revoke`, { body: {} });
          expect(revoked.status).toBe(200);
          await executeApproved(gw.deps, id);
        } else {
          await gw.stop();
          gw = await start(after);
        }
        expect(await settled(gw, id)).toBe('pending');
        const types = (await storedAudit(gw.deps.store, id)).map((e) => e.type);
        expect(types).not.toContain('request.executing');
        expect(types).toContain('request.requeued');
        expect(upstream.calls.filter((c) => c.url === '/ops/refunds').length).toBe(before);
      } finally {
        await gw.stop();
      }
    });
  }
});

describe('an escalation the policy in force no longer names', () => {
  const policy = (escalate: string) => `connections:
  - name: ops
    kind: http
    url: ${upstream.url}/ops
policy:
  default: deny
  rules:
    - id: restarts
      when: facts.http.path.startsWith("/restart")
      effect: approve
      approvers: [{ groups: [sre] }]
      ttl: 2h
${escalate}`;
  const rungs: [string, string][] = [
    ['taken out', ''],
    ['sent to another group', '      escalate: [{ after: 15m, to: { groups: [managers] } }]\n'],
    ['put later than the time it has waited', '      escalate: [{ after: 90m, to: { groups: [oncall] } }]\n'],
  ];
  for (const [change, escalate] of rungs) {
    it(`does not count its rung's approval once the rung was ${change}: held again, the upstream never called`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'cs-standing-'));
      dirs.push(dir);
      const keys: Record<string, string> = {};
      const clock = { t: Date.now(), now() { return new Date(this.t); } };
      const start = (yaml: string) => startTestGateway(configYaml(base, keys, yaml, join(dir, 'countersign.db')), { dir, keys, clock });
      const path = `/restart/escalated-${rungs.findIndex((r) => r[0] === change)}`;
      let gw = await start(policy('      escalate: [{ after: 15m, to: { groups: [oncall] } }]\n'));
      try {
        const held = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'ops', input: { method: 'POST', path }, reason: 'restart' } });
        expect(held.status).toBe(202);
        const id = held.body.id as string;
        clock.t += 20 * 60_000;
        await eventually(async () => ((await gw.deps.store.getRequest(id))?.escalations?.length ? true : undefined));

        await gw.stop();
        gw = await start(policy(escalate));
        // Reviewed as the request was held (its recorded rules and rungs), judged at run by the policy in force.
        const ok = await gw.as('erin', `/v1/requests/${id}/reviews`, { body: { verdict: 'approve', comment: 'looks fine' } });
        expect(ok.status, JSON.stringify(ok.body)).toBe(200);
        expect(await settled(gw, id)).toBe('pending');
        const types = (await storedAudit(gw.deps.store, id)).map((e) => e.type);
        expect(types).not.toContain('request.executing');
        expect(types).toContain('request.requeued');
        expect(calls(path)).toBe(0);
      } finally {
        await gw.stop();
      }
    });
  }
});
