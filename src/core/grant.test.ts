import { describe, expect, it } from 'vitest';
import { agent, approveDecision, human, requestRecord, reviewOf } from '../../test/support/fixtures.ts';
import { CountersignError } from './errors.ts';
import { assertGrantOffer, assertMayRevokeGrant, grantGiversCount, grantOfApproval, grantSeconds, grantStatus, shapeDigest, varied } from './grant.ts';
import type { HumanDirectory } from './human-identity.ts';
import type { Principal } from './principal.ts';
import type { Decision } from './policy/decision.ts';
import type { RequestRecord } from './request.ts';

const terms = { maxUses: 5, maxDurationSeconds: 3600, vary: ['params'] };
const decision: Decision = { ...approveDecision(), grant: terms };
const held = (overrides: Partial<RequestRecord> = {}) => requestRecord({ decision, ...overrides });
const shape = (r: RequestRecord, d: Decision = r.decision) => shapeDigest(r.principal, r.connection, r.action, r.facts, d);
const dir: HumanDirectory = { principal: () => undefined, humanByEmail: () => undefined };
const code = (f: () => unknown) => {
  try {
    f();
    return 'none';
  } catch (e) {
    return e instanceof CountersignError ? e.code : String(e);
  }
};

describe('varied', () => {
  it('marks each vary path present in the input; leaves the rest, absent paths and the original alone', () => {
    const input = { sql: 'select $1', params: [1], body: { amount: 5, note: 'x' } };
    expect(varied(input, ['params', 'body.amount', 'body.missing', 'nothing.here'])).toEqual({ sql: 'select $1', params: '\u0000vary array', body: { amount: '\u0000vary number', note: 'x' } });
    expect(input.params).toEqual([1]);
  });

  it('keeps whether a vary path is there: a grant on a body without an amount does not cover one that names any amount', () => {
    // The reviewer saw no amount (the target's default applies); the agent adds one of its choosing.
    expect(varied({ body: { to: 'acct_1' } }, ['body.amount'])).not.toEqual(varied({ body: { to: 'acct_1', amount: 1_000_000 } }, ['body.amount']));
    expect(varied({ sql: 'select $1' }, ['params'])).not.toEqual(varied({ sql: 'select $1', params: [1] }, ['params']));
  });

  it('keeps the kind of value a vary path holds: another number is the same shape, an object or a string in its place is not', () => {
    const at = (amount: unknown) => varied({ body: { amount } }, ['body.amount']);
    expect(at(5)).toEqual(at(1_000_000));
    expect(varied({ params: [1] }, ['params'])).toEqual(varied({ params: ['x', 2, null] }, ['params']));
    for (const other of [{ value: 5 }, [5], '5', true, null]) expect(at(other), JSON.stringify(other)).not.toEqual(at(5));
  });
});

describe('shapeDigest', () => {
  const base = held();
  it('is the same when only a vary path differs', () => {
    const other = held({ action: { ...base.action, input: { ...(base.action.input as object), params: ['delivered', 43] } as never } });
    expect(shape(other)).toBe(shape(base));
  });

  it('differs for another principal, the human acted for, connection, operation, input, facts, rules or terms', () => {
    const variants: RequestRecord[] = [
      held({ principal: agent('other-bot') }),
      held({ principal: agent('deploy-bot', 'bob') }),
      held({ connection: { ...base.connection, name: 'other-db' } }),
      held({ action: { ...base.action, operation: 'http.request' } }),
      held({ action: { ...base.action, input: { sql: 'DELETE FROM orders', params: ['shipped', 42] } as never } }),
      held({ facts: { ...base.facts, writes: false } }),
      held({ decision: { ...decision, rules: ['prod-writes', 'pii'] } }),
      held({ decision: { ...decision, grant: { ...terms, maxUses: 4 } } }),
      held({ decision: { ...decision, approvers: [{ rule: 'prod-writes', groups: ['sre'], principals: [], count: 2 }] } }),
    ];
    const digests = new Set([shape(base), ...variants.map((v) => shape(v))]);
    expect(digests.size).toBe(variants.length + 1);
  });

  it('differs once a holding rule requires step-up: a grant given without a passkey does not approve what now needs one', () => {
    expect(shape(held({ decision: { ...decision, stepUp: 'webauthn' } }))).not.toBe(shape(base));
  });

  it('is undefined when the decision permits no grant', () => {
    expect(shape(held({ decision: approveDecision() }))).toBeUndefined();
    expect(shape(held({ decision: { ...decision, effect: 'deny' } }))).toBeUndefined();
  });
});

describe('assertGrantOffer', () => {
  it('refuses a deny, a request whose rules permit none, and offers beyond the caps', () => {
    const ok = { uses: 5, seconds: 3600 };
    expect(code(() => assertGrantOffer(held(), 'approve', ok))).toBe('none');
    expect(code(() => assertGrantOffer(held(), 'deny', ok))).toBe('GRANT_NOT_ALLOWED');
    expect(code(() => assertGrantOffer(held({ decision: approveDecision() }), 'approve', ok))).toBe('GRANT_NOT_ALLOWED');
    // A statement of a PostgreSQL wire session ran in that session's state: never a grant for what comes next.
    expect(code(() => assertGrantOffer(held({ runsIn: 'session' }), 'approve', ok))).toBe('GRANT_NOT_ALLOWED');
    for (const bad of [{ uses: 6, seconds: 60 }, { uses: 0, seconds: 60 }, { uses: 1.5, seconds: 60 }, { uses: 1, seconds: 3601 }, { uses: 1, seconds: 0 }]) {
      expect(code(() => assertGrantOffer(held(), 'approve', bad))).toBe('GRANT_NOT_ALLOWED');
    }
  });
});

describe('grantOfApproval', () => {
  const now = new Date('2025-06-01T12:00:00.000Z');
  it('takes the fewest uses and the shortest time of the offers', () => {
    const r = held();
    const g = grantOfApproval(r, [{ ...reviewOf(r, human('alice')), grant: { uses: 3, seconds: 600 } }, { ...reviewOf(r, human('bob')), grant: { uses: 5, seconds: 300 } }], 'grt_1', now);
    expect(g).toMatchObject({ id: 'grt_1', requestId: r.id, uses: 3, used: 0, expiresAt: '2025-06-01T12:05:00.000Z', vary: ['params'], shape: shape(r), revoked: null });
    expect(g?.by.map((b) => b.id)).toEqual(['alice', 'bob']);
  });

  it('makes none when one counted approval offered none', () => {
    const r = held();
    expect(grantOfApproval(r, [{ ...reviewOf(r, human('alice')), grant: { uses: 3, seconds: 600 } }, reviewOf(r, human('bob'))], 'grt_2', now)).toBeUndefined();
    expect(grantOfApproval(r, [], 'grt_3', now)).toBeUndefined();
  });
});

describe('grantStatus and grantSeconds', () => {
  const r = held();
  const g = grantOfApproval(r, [{ ...reviewOf(r, human('alice')), grant: { uses: 2, seconds: 60 } }], 'grt_4', new Date('2025-06-01T12:00:00.000Z'))!;
  it('tells active, used up, expired and revoked apart', () => {
    expect(grantStatus(g, new Date('2025-06-01T12:00:30.000Z'))).toBe('active');
    expect(grantStatus({ ...g, used: 2 }, new Date('2025-06-01T12:00:30.000Z'))).toBe('used-up');
    expect(grantStatus(g, new Date('2025-06-01T12:01:00.000Z'))).toBe('expired');
    expect(grantStatus({ ...g, revoked: { by: 'alice', at: g.createdAt } }, new Date('2025-06-01T12:00:30.000Z'))).toBe('revoked');
  });
  it('reads durations as the config writes them', () => {
    expect([grantSeconds('30m'), grantSeconds('2h'), grantSeconds('45'), grantSeconds(90)]).toEqual([1800, 7200, 45, 90]);
    expect(code(() => grantSeconds('soon'))).toBe('INVALID_REQUEST');
  });
});

describe('assertMayRevokeGrant', () => {
  const r = held({ principal: agent('deploy-bot', 'carol') });
  const g = grantOfApproval(r, [{ ...reviewOf(r, human('alice', ['sre'])), grant: { uses: 2, seconds: 60 } }], 'grt_5', new Date())!;
  it('lets the giver, an approver of its request and an admin; never an agent, the requester side or an outsider', () => {
    expect(code(() => assertMayRevokeGrant(g, r, human('alice', ['sre']), [], dir))).toBe('none');
    expect(code(() => assertMayRevokeGrant(g, r, human('zoe'), ['admin'], dir))).toBe('none');
    expect(code(() => assertMayRevokeGrant(g, r, agent('deploy-bot', 'carol'), ['admin'], dir))).toBe('GRANT_NOT_ALLOWED');
    expect(code(() => assertMayRevokeGrant(g, r, human('carol', ['sre']), [], dir))).toBe('GRANT_NOT_ALLOWED');
    expect(code(() => assertMayRevokeGrant(g, r, human('dave', ['dev']), ['auditor'], dir))).toBe('GRANT_NOT_ALLOWED');
  });
});

describe('grantGiversCount', () => {
  const configured = (...people: Principal[]): HumanDirectory => ({ principal: (id) => people.find((p) => p.id === id), humanByEmail: () => undefined });
  const r = held();
  const granting = (...reviews: RequestRecord['reviews']) => ({ ...r, status: 'succeeded' as const, reviews });
  const offered = (who: Principal) => ({ ...reviewOf(r, who), grant: { uses: 2, seconds: 60 } });
  const at = new Date(Date.parse(r.createdAt) + 3600_000);

  it('holds while the reviewers who offered it would still approve the request', () => {
    expect(grantGiversCount(granting(offered(human('bob', ['sre']))), configured(human('bob', ['sre'])), undefined, at)).toBe(true);
  });

  it('fails once a giver left the approvers’ group or the configuration, or when no approval offered it', () => {
    expect(grantGiversCount(granting(offered(human('bob', ['sre']))), configured(human('bob', ['dev'])), undefined, at)).toBe(false);
    expect(grantGiversCount(granting(offered(human('bob', ['sre']))), configured(), undefined, at)).toBe(false);
    expect(grantGiversCount(granting(reviewOf(r, human('bob', ['sre']))), configured(human('bob', ['sre'])), undefined, at)).toBe(false);
  });

  it('fails once a giver is on the requester side: the human the agent acts for now', () => {
    // The request's agent acts for alice as recorded; the configuration now has it act for bob, who gave the grant.
    const now = configured(human('bob', ['sre']), { ...agent(r.principal.id), actsFor: 'bob' });
    expect(grantGiversCount(granting(offered(human('bob', ['sre']))), now, undefined, at)).toBe(false);
  });

  it('counts a giver who approved through an escalation rung only while the ladder in force still names it', () => {
    const rung = { key: `${r.decision.rules[0]}#1`, rule: r.decision.rules[0]!, afterSeconds: 900, groups: ['oncall'], principals: [] };
    const fired = { key: rung.key, rule: rung.rule, groups: rung.groups, principals: rung.principals, at: r.createdAt };
    const escalated = { ...granting(offered(human('erin', ['oncall']))), escalations: [fired] };
    const dir = configured(human('erin', ['oncall']));
    expect(grantGiversCount(escalated, dir, [rung], at)).toBe(true);
    expect(grantGiversCount(escalated, dir, [], at)).toBe(false);
    expect(grantGiversCount(escalated, dir, [{ ...rung, groups: ['managers'] }], at)).toBe(false);
  });
});
