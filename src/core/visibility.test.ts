import { describe, expect, it } from 'vitest';
import { agent, approveDecision, human, requestRecord, reviewOf } from '../../test/support/fixtures.ts';
import { emailKey, type HumanDirectory } from './human-identity.ts';
import type { Principal } from './principal.ts';
import { isOwnSide, maySeeRequest, samePrincipal } from './visibility.ts';

const configured: Principal[] = [human('alice', ['sre']), human('bob', ['sre']), human('dave', ['dev']), human('erin', []), agent('deploy-bot', 'alice')];
const dir: HumanDirectory = {
  principal: (id) => configured.find((p) => p.id === id),
  humanByEmail: (key) => configured.find((p) => p.kind === 'human' && p.email !== null && emailKey(p.email) === key),
};
const who = (id: string) => configured.find((p) => p.id === id)!;

describe('maySeeRequest', () => {
  // deploy-bot acts for alice; one sre approves.
  const r = requestRecord({ principal: agent('deploy-bot', 'alice'), decision: approveDecision(['sre']) });

  it('shows every request to an auditor or admin, whatever concerns them', () => {
    expect(maySeeRequest(who('dave'), ['auditor'], r, dir)).toBe(true);
    expect(maySeeRequest(who('erin'), ['admin'], r, dir)).toBe(true);
  });

  it('shows a human without a role what acts for them and what they may review, and nothing else', () => {
    expect(maySeeRequest(who('alice'), [], r, dir)).toBe(true); // acts for her
    expect(maySeeRequest(who('bob'), [], r, dir)).toBe(true); // sre: may review
    expect(maySeeRequest(who('dave'), [], r, dir)).toBe(false);
    expect(maySeeRequest(who('erin'), [], r, dir)).toBe(false);
  });

  it('keeps a request open to its eligible reviewers once it is decided', () => {
    expect(maySeeRequest(who('bob'), [], { ...r, status: 'denied' }, dir)).toBe(true);
    expect(maySeeRequest(who('dave'), [], { ...r, status: 'succeeded' }, dir)).toBe(false);
  });

  it('shows a request to whoever reviewed it, by canonical identity, even once no longer eligible', () => {
    const reviewed = { ...r, reviews: [reviewOf(r, human('dave', ['sre']))] }; // dave was sre then
    expect(maySeeRequest(who('dave'), [], reviewed, dir)).toBe(true);
    // The same person under a token (a verified email equal to the recorded one) is the same reviewer.
    const token: Principal = { id: 'dave@example.test', kind: 'human', actsFor: null, groups: [], email: 'dave@example.test', issuer: 'https://idp', claims: { sub: 'x1' } };
    expect(maySeeRequest(token, [], { ...reviewed, reviews: [{ ...reviewed.reviews[0]!, reviewer: { ...reviewed.reviews[0]!.reviewer, email: 'dave@example.test' } }] }, dir)).toBe(true);
    expect(maySeeRequest(who('erin'), [], reviewed, dir)).toBe(false);
  });

  it('judges eligibility by the configuration in force, not by groups a credential claims', () => {
    // A configured human's groups are the configured ones: a principal claiming sre for dave counts as dev.
    expect(maySeeRequest({ ...who('dave'), groups: ['sre'] }, [], r, dir)).toBe(false);
  });

  it('never shows an agent another principal’s request, whatever roles are passed, nor one acting for the same human', () => {
    expect(maySeeRequest(agent('deploy-bot', 'alice'), ['admin'], r, dir)).toBe(true);
    expect(maySeeRequest(agent('other-bot', 'alice'), ['admin'], r, dir)).toBe(false);
  });

  it('shows a request with no approvers (allowed or denied outright) only to its requester side and role holders', () => {
    const allowed = { ...r, decision: { ...r.decision, effect: 'allow' as const, approvers: [] } };
    expect(maySeeRequest(who('bob'), [], allowed, dir)).toBe(false);
    expect(maySeeRequest(who('alice'), [], allowed, dir)).toBe(true);
    expect(maySeeRequest(who('bob'), ['auditor'], allowed, dir)).toBe(true);
  });
});

describe('samePrincipal and isOwnSide', () => {
  const tokenAgent = (id: string, issuer: string): Principal => ({ ...agent(id), issuer, claims: { sub: id } });
  const mine = requestRecord({ principal: tokenAgent('worker', 'https://a'), decision: approveDecision(['sre']) });

  it('takes an unconfigured agent id as its issuer’s: the same id of another issuer, or with an API key, is another principal', () => {
    expect(samePrincipal(tokenAgent('worker', 'https://a'), mine.principal, dir)).toBe(true);
    expect(samePrincipal(tokenAgent('worker', 'https://b'), mine.principal, dir)).toBe(false);
    expect(samePrincipal(agent('worker'), mine.principal, dir)).toBe(false);
    expect(maySeeRequest(tokenAgent('worker', 'https://b'), [], mine, dir)).toBe(false);
  });

  it('takes a configured agent as one principal whatever credential names it', () => {
    const r = requestRecord({ principal: tokenAgent('deploy-bot', 'https://a'), decision: approveDecision(['sre']) });
    expect(samePrincipal(agent('deploy-bot', 'alice'), r.principal, dir)).toBe(true);
    expect(samePrincipal(tokenAgent('deploy-bot', 'https://b'), r.principal, dir)).toBe(true);
  });

  it('never takes a principal of the other kind with the same id as the requester', () => {
    const namesake: Principal = { id: 'worker', kind: 'human', actsFor: null, groups: [], email: null, issuer: 'https://people', claims: { sub: 'worker' } };
    expect(isOwnSide(mine, namesake, dir)).toBe(false);
    expect(maySeeRequest(namesake, [], mine, dir)).toBe(false);
    const byHuman = requestRecord({ principal: namesake, decision: approveDecision(['sre']) });
    expect(samePrincipal(tokenAgent('worker', 'https://people'), byHuman.principal, dir)).toBe(false);
  });

  it('keeps the human an agent acts for on its side', () => {
    const r = requestRecord({ principal: agent('deploy-bot', 'alice'), decision: approveDecision(['sre']) });
    expect(isOwnSide(r, who('alice'), dir)).toBe(true);
    expect(isOwnSide(r, who('bob'), dir)).toBe(false);
  });
});
