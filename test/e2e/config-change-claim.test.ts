/**
 * The start of a run by a gateway whose config another gateway replaces at
 * that moment: the claim of an approved request, and the record of an action
 * the policy allows outright. The gateway checked that its config was in force,
 * then claimed the request in another transaction: a gateway started in
 * between with a tightened policy (the action now denied, an approver
 * removed) would see the action run all the same, under the policy it had
 * just replaced. The claim itself now holds only while the stored generation
 * is the claiming process's own, in the same transaction; refused, the
 * request stays approved for a gateway on the config in force, which judges
 * it again. An allowed action's record, which starts its run, is likewise
 * written only while the generation is the process's own, in the insert's
 * own transaction; refused, nothing of it is recorded and nothing runs.
 */
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../../src/core/principal.ts';
import type { Store } from '../../src/core/ports.ts';
import { takeConfigInForce } from '../../src/service/config-in-force.ts';
import type { Deps } from '../../src/service/deps.ts';
import { review } from '../../src/service/review.ts';
import { submit } from '../../src/service/submit.ts';
import { eventually, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { storeCounts, storedAudit, storedStatus } from '../support/store-view.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

let upstream: Upstream;
let gw: TestGateway;

beforeAll(async () => {
  upstream = await startUpstream();
  gw = await startTestGateway(`connections:
  - name: ops-api
    kind: http
    url: ${upstream.url}
policy:
  default: deny
  rules:
    - id: reads
      when: facts.http.method == "GET"
      effect: allow
    - id: one-sre
      when: facts.http.method == "POST"
      effect: approve
      approvers: [{ groups: [sre] }]
      ttl: 1h
`);
});

afterAll(async () => {
  await gw?.stop();
  await upstream?.close();
});

/** The gateway's store, with another gateway taking over (config `next`) just as this one records an action as running. */
function takenOverAtInsert(store: Store, next: string): Store {
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop !== 'insertRequest') return Reflect.get(target, prop, receiver);
      return async (...args: Parameters<Store['insertRequest']>) => {
        if (args[0].status === 'executing') await takeConfigInForce(store, next);
        return store.insertRequest(...args);
      };
    },
  });
}

/** The gateway's store, with another gateway taking over (config `next`) just as this one claims an approved request. */
function takenOverAtClaim(store: Store, next: string): Store {
  let done = false;
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop !== 'mutateRequest') return Reflect.get(target, prop, receiver);
      return async (...args: Parameters<Store['mutateRequest']>) => {
        if (!done && (await store.getRequest(args[0]))?.status === 'approved') {
          done = true;
          await takeConfigInForce(store, next);
        }
        return store.mutateRequest(...args);
      };
    },
  });
}

describe('an approved request claimed as another gateway takes over with a newer config', () => {
  it('does not run under the config replaced: it stays approved, and the upstream is never called', async () => {
    const held = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'ops-api', input: { method: 'POST', path: '/claim-race', body: {} }, reason: 'race' } });
    expect(held.status, JSON.stringify(held.body)).toBe(202);
    const id = held.body.id as string;

    const failures: string[] = [];
    const log = pino({ level: 'error' }, { write: (line: string) => void failures.push(line) });
    const deps: Deps = { ...gw.deps, store: takenOverAtClaim(gw.deps.store, 'sha256:a-newer-config'), log };
    const alice = gw.deps.identity.principal('alice') as Principal;
    expect((await review(deps, { reviewer: alice, requestId: id, verdict: 'approve', comment: 'ok' })).status).toBe('approved');

    // Its run after approval either ran or was refused: wait for one of the two.
    const outcome = await eventually(async () => {
      if (failures.some((l) => l.includes('POLICY_NOT_IN_FORCE'))) return 'refused';
      const s = await storedStatus(gw.deps.store, id);
      return s === 'succeeded' || s === 'failed' ? s : undefined;
    }, 20_000);
    expect(outcome).toBe('refused');
    expect(await storedStatus(gw.deps.store, id)).toBe('approved');
    expect((await storedAudit(gw.deps.store, id)).map((e) => e.type)).not.toContain('request.executing');
    expect(upstream.calls.filter((c) => c.url === '/claim-race')).toEqual([]);
  });

  it('an action allowed outright is refused with nothing recorded, and the upstream is never called', async () => {
    // This gateway's config in force again, as read now.
    await takeConfigInForce(gw.deps.store, gw.deps.inForce!.generation);
    await gw.deps.inForce!.check(0);
    const before = await storeCounts(gw.deps.store);
    const deps: Deps = { ...gw.deps, store: takenOverAtInsert(gw.deps.store, 'sha256:a-newer-config') };
    const bot = gw.deps.identity.principal('deploy-bot') as Principal;
    const e = await submit(deps, { principal: bot, connection: 'ops-api', input: { method: 'GET', path: '/allowed-race' }, reason: 'race' }).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'POLICY_NOT_IN_FORCE' });
    // The takeover itself records no event (no config.loaded without a file): the log and the requests are as before.
    expect(await storeCounts(gw.deps.store)).toEqual(before);
    expect((await gw.deps.store.listRequests({ limit: 100 })).filter((r) => JSON.stringify(r.action).includes('/allowed-race'))).toEqual([]);
    expect(upstream.calls.filter((c) => c.url === '/allowed-race')).toEqual([]);
  });
});
