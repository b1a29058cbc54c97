import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { agent, approveDecision, human, requestRecord, reviewOf } from '../../test/support/fixtures.ts';
import { CountersignError, type ErrorCode } from './errors.ts';
import type { ApproverRequirement } from './policy/decision.ts';
import type { Principal } from './principal.ts';
import type { HumanDirectory } from './human-identity.ts';
import { assertMayReview, currentReviewer, fills, isRequesterSide, quorumMet, remainingApprovals, type Review } from './review.ts';

// The request: deploy-bot asks, acting for alice; one sre must approve.
const request = requestRecord({ principal: agent('deploy-bot', 'alice'), decision: approveDecision(['sre'], 1) });
const carol = human('carol', ['sre']);
const dave = human('dave', ['sre', 'dba']);
const erin = human('erin', ['finance']);

function refusal(r: typeof request, reviewer: Principal): ErrorCode | 'allowed' {
  try {
    assertMayReview(r, reviewer);
    return 'allowed';
  } catch (e) {
    if (e instanceof CountersignError) return e.code;
    throw e;
  }
}

function req(groups: string[], count = 1, principals: string[] = [], rule = 'r'): ApproverRequirement {
  return { rule, groups, principals, count };
}

describe('assertMayReview', () => {
  it('lets an eligible human who has not reviewed yet review', () => {
    expect(refusal(request, carol)).toBe('allowed');
  });

  it('never lets an agent review, even one in the approver group', () => {
    expect(refusal(request, agent('other-bot', null, ['sre']))).toBe('AGENT_CANNOT_REVIEW');
  });

  it('never lets the requester review their own request', () => {
    const byCarol = requestRecord({ principal: carol });
    expect(refusal(byCarol, carol)).toBe('SELF_APPROVAL_FORBIDDEN');
  });

  it('never lets the human the agent acts for review', () => {
    expect(refusal(request, human('alice', ['sre']))).toBe('SELF_APPROVAL_FORBIDDEN');
  });

  it('refuses a human outside every approver group', () => {
    expect(refusal(request, erin)).toBe('NOT_AN_APPROVER');
  });

  it('lets a human named as an approver in, whatever their groups', () => {
    const named = requestRecord({ decision: { ...approveDecision(), approvers: [req([], 1, ['erin'])] } });
    expect(refusal(named, erin)).toBe('allowed');
  });

  it('counts each human once: a second review is refused', () => {
    const reviewed = { ...request, reviews: [reviewOf(request, carol, 'deny')] };
    expect(refusal(reviewed, carol)).toBe('ALREADY_REVIEWED');
    expect(refusal(reviewed, dave)).toBe('allowed');
  });

  it('counts a chat account once: after its email moved to another human, its second click is the same person', () => {
    const byAccount = (p: Principal, chatAccount: string): Principal => ({ ...p, chatAccount });
    const clicked = (p: Principal, chatAccount: string): Review => {
      const r = reviewOf(request, p, 'approve');
      return { ...r, reviewer: { ...r.reviewer, chatAccount } };
    };
    const reviewed = { ...request, reviews: [clicked(carol, 'slack:U1')] };
    expect(refusal(reviewed, byAccount(dave, 'slack:U1'))).toBe('ALREADY_REVIEWED');
    expect(refusal(reviewed, byAccount(dave, 'slack:U2'))).toBe('allowed');
    // And when counted: two approvals from one account are one approval.
    expect(quorumMet([req(['sre'], 2)], [clicked(carol, 'teams:a1'), clicked(dave, 'teams:a1')], request)).toBe(false);
    expect(quorumMet([req(['sre'], 2)], [clicked(carol, 'teams:a1'), clicked(dave, 'teams:a2')], request)).toBe(true);
  });
});

describe('fills', () => {
  it('is filled by a member of any listed group or a named principal', () => {
    expect(fills(req(['sre', 'dba']), dave)).toBe(true);
    expect(fills(req(['sre']), erin)).toBe(false);
    expect(fills(req(['sre'], 1, ['erin']), erin)).toBe(true);
  });

  it('is filled by any human when it names no group and no principal', () => {
    expect(fills(req([]), human('anyone'))).toBe(true);
  });
});

describe('remainingApprovals and quorumMet', () => {
  const twoSreOneDba = [req(['sre'], 2, [], 'prod'), req(['dba'], 1, [], 'schema')];

  it('counts what each requirement still needs', () => {
    expect(remainingApprovals(twoSreOneDba, [], request).map((r) => [r.rule, r.needed])).toEqual([['prod', 2], ['schema', 1]]);
    const one = [reviewOf(request, dave)];
    expect(remainingApprovals(twoSreOneDba, one, request).map((r) => r.needed)).toEqual([1, 0]);
    expect(quorumMet(twoSreOneDba, one, request)).toBe(false);
    expect(quorumMet(twoSreOneDba, [...one, reviewOf(request, carol)], request)).toBe(true);
  });

  it('does not count denials, the requester side, or the same human twice', () => {
    const reviews = [
      reviewOf(request, carol),
      reviewOf(request, carol),
      reviewOf(request, dave, 'deny'),
      reviewOf(request, human('alice', ['sre'])),
      reviewOf(request, human('deploy-bot', ['sre'])),
    ];
    expect(remainingApprovals([req(['sre'], 2)], reviews, request)[0]?.needed).toBe(1);
  });

  it('counts only approvals given for the request’s digest', () => {
    const forAnother = { ...reviewOf(request, dave), digest: `sha256:${'e'.repeat(64)}` };
    expect(quorumMet([req(['sre'], 1)], [forAnother], request)).toBe(false);
    expect(quorumMet([req(['sre'], 2)], [forAnother, reviewOf(request, carol)], request)).toBe(false);
    expect(quorumMet([req(['sre'], 1)], [reviewOf(request, carol)], request)).toBe(true);
  });

  it('counts humans by canonical identity: emails differing in case are one person and one vote', () => {
    const byEmail = requestRecord({ principal: agent('deploy-bot', 'alice@example.com'), decision: approveDecision(['sre'], 2) });
    expect(refusal(byEmail, human('ALICE@Example.com', ['sre']))).toBe('SELF_APPROVAL_FORBIDDEN');
    const twice = [reviewOf(byEmail, human('dana@example.com', ['sre'])), reviewOf(byEmail, human('Dana@EXAMPLE.com', ['sre']))];
    expect(remainingApprovals([req(['sre'], 2)], twice, byEmail)[0]?.needed).toBe(1);
    expect(refusal({ ...byEmail, reviews: twice.slice(0, 1) }, human('DANA@example.com', ['sre']))).toBe('ALREADY_REVIEWED');
  });

  it('knows one person under another id by their email or their token identity', () => {
    // Submitted while alice was known only by her email; she is configured as `alice` by the time she reviews.
    const byEmail = requestRecord({ principal: agent('deploy-bot', 'alice@example.com'), decision: approveDecision(['sre'], 2) });
    expect(refusal(byEmail, { ...human('alice', ['sre']), email: 'Alice@example.com' })).toBe('SELF_APPROVAL_FORBIDDEN');
    const idp = { issuer: 'https://idp.example.com', subject: '00u-erin' };
    const first = { ...reviewOf(byEmail, human('erin@example.com', ['sre'])), reviewer: { id: 'erin@example.com', kind: 'human' as const, groups: ['sre'], identity: idp } };
    const sameToken = { ...reviewOf(byEmail, human('erin', ['sre'])), reviewer: { id: 'erin', kind: 'human' as const, groups: ['sre'], identity: idp } };
    const sameEmail = { ...reviewOf(byEmail, human('e.r', ['sre'])), reviewer: { id: 'e.r', kind: 'human' as const, groups: ['sre'], email: 'ERIN@example.com' } };
    expect(remainingApprovals([req(['sre'], 2)], [first, sameToken, sameEmail], byEmail)[0]?.needed).toBe(1);
    const erin: Principal = { id: 'erin', kind: 'human', actsFor: null, groups: ['sre'], email: null, issuer: idp.issuer, claims: { sub: idp.subject } };
    // (For a human the agent names by id: one it names by email could be erin, known by her token's id claim alone.)
    expect(refusal({ ...byEmail, principal: agent('deploy-bot', 'alice'), reviews: [first] }, erin)).toBe('ALREADY_REVIEWED');
    expect(refusal({ ...byEmail, reviews: [first] }, erin)).toBe('SELF_APPROVAL_FORBIDDEN');
    // A human requester who reviews under another id with the same token identity.
    const byHuman = requestRecord({ principal: erin });
    expect(refusal(byHuman, { ...erin, id: 'erin@example.com' })).toBe('SELF_APPROVAL_FORBIDDEN');
  });

  it('fills the requirements of one rule with distinct humans: one human in both groups is one of the two people', () => {
    // "a dba AND a security person": two people, whoever is in both groups.
    const dbaAndSecurity = [req(['dba'], 1, [], 'schema'), req(['security'], 1, [], 'schema')];
    const both = human('frank', ['dba', 'security']);
    const alone = [reviewOf(request, both)];
    expect(quorumMet(dbaAndSecurity, alone, request)).toBe(false);
    expect(remainingApprovals(dbaAndSecurity, alone, request).map((r) => r.needed)).toEqual([0, 1]);
    // A second human completes it: dave (a dba) takes the dba place, frank moves to security.
    expect(quorumMet(dbaAndSecurity, [...alone, reviewOf(request, dave)], request)).toBe(true);
    expect(remainingApprovals(dbaAndSecurity, [...alone, reviewOf(request, dave)], request).map((r) => r.needed)).toEqual([0, 0]);
    // Counts are places too: two sre and a dba of one rule are three people.
    const twoSreAndDba = [req(['sre'], 2, [], 'schema'), req(['dba'], 1, [], 'schema')];
    expect(quorumMet(twoSreAndDba, [reviewOf(request, dave), reviewOf(request, carol)], request)).toBe(false);
    expect(remainingApprovals(twoSreAndDba, [reviewOf(request, dave), reviewOf(request, carol)], request).reduce((n, r) => n + r.needed, 0)).toBe(1);
    expect(quorumMet(twoSreAndDba, [reviewOf(request, dave), reviewOf(request, carol), reviewOf(request, human('gina', ['sre']))], request)).toBe(true);
    // A named principal and a group of one rule: the named human is not also the group's member.
    const namedAndGroup = [req([], 1, ['frank'], 'schema'), req(['dba'], 1, [], 'schema')];
    expect(quorumMet(namedAndGroup, alone, request)).toBe(false);
  });

  it('keeps the rules apart: one human may meet one rule\'s requirement and another rule\'s', () => {
    const twoRules = [req(['dba'], 1, [], 'schema'), req(['security'], 1, [], 'pii')];
    expect(quorumMet(twoRules, [reviewOf(request, human('frank', ['dba', 'security']))], request)).toBe(true);
  });

  it('is met with no requirements at all', () => {
    expect(quorumMet([], [], request)).toBe(true);
  });
});

describe('isRequesterSide: taken widely where it only refuses', () => {
  const sso = { issuer: 'https://idp.example.com', subject: '00u-x' };
  const forDee = { principal: { ...agent('dee-bot', 'dee@example.com') } };
  it('puts a person known by an issuer’s id claim alone beside a human the agent names by email, only when it refuses', () => {
    const unlinked = { id: '00u-x', identity: sso };
    expect(isRequesterSide(forDee, unlinked)).toBe(true);
    expect(isRequesterSide(forDee, unlinked, undefined, { self: false, wide: false })).toBe(false);
    // A linked person is compared exactly: another address is another person.
    expect(isRequesterSide(forDee, { id: 'erin@example.com', email: 'erin@example.com', identity: sso })).toBe(false);
  });
  it('puts a sub-address of the requester side’s mailbox on that side, only when it refuses', () => {
    expect(isRequesterSide(forDee, { id: 'dee+ops@example.com', email: 'dee+ops@example.com' })).toBe(true);
    expect(isRequesterSide(forDee, { id: 'dee+ops@example.com', email: 'dee+ops@example.com' }, undefined, { self: false, wide: false })).toBe(false);
  });
});

describe('currentReviewer: eligibility as the configuration in force sees it', () => {
  const configured: Principal[] = [human('carol', ['dba']), { ...agent('dana@example.com', null) }];
  const dir: HumanDirectory = { principal: (id) => configured.find((p) => p.id === id), humanByEmail: () => undefined };
  const sso = { issuer: 'https://idp.example.com', subject: '00u-x' };

  it('a configured reviewer has the configured groups now; one no longer configured counts for nothing', () => {
    expect(currentReviewer({ id: 'carol', kind: 'human', groups: ['sre'] }, dir)?.groups).toEqual(['dba']);
    expect(currentReviewer({ id: 'bob', kind: 'human', groups: ['sre'] }, dir)).toBeUndefined();
  });

  it('a reviewer from a token keeps only the groups the token granted, plus the configured ones now', () => {
    expect(currentReviewer({ id: 'carol', kind: 'human', groups: ['sre', 'okta'], identity: sso, tokenGroups: ['okta'] }, dir)?.groups).toEqual(['dba', 'okta']);
    expect(currentReviewer({ id: 'erin@example.com', kind: 'human', email: 'erin@example.com', groups: ['sre', 'okta'], identity: sso, tokenGroups: ['okta'] }, dir)?.groups).toEqual(['okta']);
    // Recorded before token groups were kept apart: none.
    expect(currentReviewer({ id: 'erin@example.com', kind: 'human', email: 'erin@example.com', groups: ['sre'], identity: sso }, dir)?.groups).toEqual([]);
  });

  it('a reviewer known by a token’s id claim alone counts for nothing once that issuer is no longer the one place humans come from', () => {
    const unlinked = { id: '00u-x', kind: 'human' as const, groups: ['okta'], identity: sso, tokenGroups: ['okta'] };
    expect(currentReviewer(unlinked, { ...dir, unlinkedAllowed: (i) => i === sso.issuer })?.groups).toEqual(['okta']);
    expect(currentReviewer(unlinked, { ...dir, unlinkedAllowed: () => false })).toBeUndefined();
  });

  it('a reviewer from a token of an issuer no longer taken for humans keeps nothing it gave', () => {
    const gone = { ...dir, issuesHumans: (i: string) => i !== sso.issuer };
    expect(currentReviewer({ id: 'carol', kind: 'human', groups: ['dba', 'okta'], identity: sso, tokenGroups: ['okta'] }, gone)?.groups).toEqual(['dba']);
    expect(currentReviewer({ id: 'erin@example.com', kind: 'human', email: 'erin@example.com', groups: ['okta'], identity: sso, tokenGroups: ['okta'] }, gone)).toBeUndefined();
  });

  it('a reviewer from a token keeps a token group only while the mapping in force grants it', () => {
    // The mapping in force: the provider's idp-dba grants dba (idp-sre, which granted sre, was taken out).
    const maps = (issuer: string, named: readonly string[] | undefined, group: string) =>
      issuer === sso.issuer && group === 'dba' && (named === undefined || named.includes('idp-dba'));
    const mapped = { ...dir, mapsGroup: maps };
    const erin = { id: 'erin@example.com', kind: 'human' as const, email: 'erin@example.com', groups: ['sre', 'dba'], identity: sso, tokenGroups: ['sre', 'dba'] };
    expect(currentReviewer({ ...erin, providerGroups: ['idp-sre', 'idp-dba'] }, mapped)?.groups).toEqual(['dba']);
    expect(currentReviewer({ ...erin, providerGroups: ['idp-sre'] }, mapped)?.groups).toEqual([]);
    // Recorded before the provider's names were kept: only a group the mapping still grants to someone.
    expect(currentReviewer(erin, mapped)?.groups).toEqual(['dba']);
  });

  it('a reviewer whose id is now a configured agent counts for nothing', () => {
    expect(currentReviewer({ id: 'dana@example.com', kind: 'human', email: 'dana@example.com', groups: [], identity: sso, tokenGroups: [] }, dir)).toBeUndefined();
  });
});

// ---- Properties: quorum against a plain reference implementation ----

const GROUPS = ['sre', 'dba', 'finance', 'security'] as const;
const PEOPLE = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'bot-1', 'bot-2'] as const;
const REQUESTER = 'bot-1';
const ACTS_FOR = 'alice';
const isAgent = (id: string) => id.startsWith('bot-');

const requirementArb = fc.record({
  rule: fc.constantFrom('a', 'b', 'c'),
  groups: fc.subarray([...GROUPS]),
  principals: fc.subarray([...PEOPLE], { maxLength: 2 }),
  count: fc.integer({ min: 1, max: 3 }),
});

// Each person has fixed random groups for the whole run.
const worldArb: fc.Arbitrary<World> = fc.record({
  requirements: fc.array(requirementArb, { minLength: 1, maxLength: 4 }),
  groupsOf: fc.tuple(...PEOPLE.map(() => fc.subarray([...GROUPS]))),
  votes: fc.array(fc.record({ who: fc.integer({ min: 0, max: PEOPLE.length - 1 }), approve: fc.boolean() }), { maxLength: 20 }),
});

interface World {
  requirements: ApproverRequirement[];
  groupsOf: string[][];
  votes: { who: number; approve: boolean }[];
}

function reviewsOf(w: World): Review[] {
  const r = requestRecord({ principal: agent(REQUESTER, ACTS_FOR) });
  return w.votes.map(({ who, approve }) => {
    const id = PEOPLE[who] ?? 'nobody';
    const base = reviewOf(r, { id, groups: w.groupsOf[who] ?? [] }, approve ? 'approve' : 'deny');
    // An agent's review can never be recorded through assertMayReview; forge one to prove quorum ignores it anyway.
    return isAgent(id) ? { ...base, reviewer: { ...base.reviewer, kind: 'agent' as unknown as 'human' } } : base;
  });
}

/**
 * The reference, by brute force: for every rule, some way to give each place of its requirements (a requirement of
 * count n is n places) its own distinct eligible human who approved; a human may hold a place in several rules.
 */
function referenceQuorum(w: World): boolean {
  const approvers = new Set<number>();
  for (const v of w.votes) {
    const id = PEOPLE[v.who] ?? '';
    if (v.approve && !isAgent(id) && id !== REQUESTER && id !== ACTS_FOR) approvers.add(v.who);
  }
  const eligible = (rq: ApproverRequirement, who: number) => {
    const groups = w.groupsOf[who] ?? [];
    const anyone = rq.groups.length === 0 && rq.principals.length === 0;
    return anyone || rq.principals.includes(PEOPLE[who] ?? '') || rq.groups.some((g) => groups.includes(g));
  };
  const rules = [...new Set(w.requirements.map((rq) => rq.rule))];
  return rules.every((rule) => {
    const places = w.requirements.filter((rq) => rq.rule === rule).flatMap((rq) => Array.from({ length: rq.count }, () => rq));
    const place = (i: number, taken: Set<number>): boolean => {
      if (i === places.length) return true;
      for (const who of approvers) {
        if (taken.has(who) || !eligible(places[i]!, who)) continue;
        taken.add(who);
        if (place(i + 1, taken)) return true;
        taken.delete(who);
      }
      return false;
    };
    return places.length <= approvers.size && place(0, new Set());
  });
}

const principalOf = { principal: agent(REQUESTER, ACTS_FOR), digest: requestRecord().digest };

describe('quorum properties', () => {
  it('is met exactly when each rule\'s places can be given to distinct eligible human approvers', () => {
    fc.assert(
      fc.property(worldArb, (w) => {
        expect(quorumMet(w.requirements, reviewsOf(w), principalOf)).toBe(referenceQuorum(w));
      }),
      { numRuns: 500 },
    );
  });

  it('cannot be reached by repeating reviews: duplicates of the same human never change the result', () => {
    fc.assert(
      fc.property(worldArb, fc.array(fc.nat(), { minLength: 1, maxLength: 10 }), (w, picks) => {
        const reviews = reviewsOf(w);
        fc.pre(reviews.length > 0);
        const repeated = [...reviews, ...picks.map((p) => reviews[p % reviews.length] as Review)];
        expect(quorumMet(w.requirements, repeated, principalOf)).toBe(quorumMet(w.requirements, reviews, principalOf));
      }),
      { numRuns: 500 },
    );
  });

  it('is never met by the requester, the human acted for and agents alone, however many they send', () => {
    fc.assert(
      fc.property(worldArb, (w) => {
        const sideOnly = { ...w, votes: w.votes.filter((v) => [REQUESTER, ACTS_FOR, 'bot-2'].includes(PEOPLE[v.who] ?? '')) };
        expect(quorumMet(w.requirements, reviewsOf(sideOnly), principalOf)).toBe(false);
      }),
      { numRuns: 300 },
    );
  });
});
