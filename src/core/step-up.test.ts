import { describe, expect, it } from 'vitest';
import { assertCounterAdvances, assertEnrolmentSignIn, assertRecentLogin, challengeOfClientData, checkChallenge, issueChallenge, passkeyRemoval, requiresStepUp, type ChallengeUse } from './step-up.ts';
import { agent, approveDecision, FIXTURE_TIME, human } from '../../test/support/fixtures.ts';

const use: ChallengeUse = { human: 'alice', purpose: 'approve', requestId: 'req_a', digest: 'sha256:aa' };
const later = (s: number) => new Date(FIXTURE_TIME.getTime() + s * 1000);
const refused = (f: () => unknown, why: RegExp) => expect(f).toThrow(expect.objectContaining({ code: 'STEP_UP_REQUIRED', message: expect.stringMatching(why) }));

describe('step-up challenges', () => {
  const issued = issueChallenge('c'.repeat(43), use, FIXTURE_TIME);

  it('accepts the challenge for exactly what it was issued for, within two minutes', () => {
    expect(checkChallenge(issued, use, later(119))).toBe(issued);
  });

  it('refuses one never issued or used already, and one expired', () => {
    refused(() => checkChallenge(undefined, use, FIXTURE_TIME), /no challenge/);
    refused(() => checkChallenge(issued, use, later(120)), /expired/);
  });

  it('is bound to the human, the purpose, the request and its digest', () => {
    refused(() => checkChallenge(issued, { ...use, human: 'bob' }, FIXTURE_TIME), /someone else/);
    refused(() => checkChallenge(issued, { ...use, purpose: 'confirm-register' }, FIXTURE_TIME), /another purpose/);
    refused(() => checkChallenge(issued, { ...use, requestId: 'req_b' }, FIXTURE_TIME), /another request/);
    refused(() => checkChallenge(issued, { ...use, digest: 'sha256:bb' }, FIXTURE_TIME), /another version/);
    const registering = issueChallenge('r'.repeat(43), { human: 'alice', purpose: 'register' }, FIXTURE_TIME);
    refused(() => checkChallenge(registering, { human: 'alice', purpose: 'register', requestId: 'req_a' }, FIXTURE_TIME), /another request/);
    expect(checkChallenge(registering, { human: 'alice', purpose: 'register' }, FIXTURE_TIME)).toBe(registering);
  });

  it('keeps approving and breaking the glass apart: a challenge for one is refused for the other', () => {
    const breaking = issueChallenge('b'.repeat(43), { ...use, purpose: 'break-glass' }, FIXTURE_TIME);
    expect(checkChallenge(breaking, { ...use, purpose: 'break-glass' }, FIXTURE_TIME)).toBe(breaking);
    refused(() => checkChallenge(breaking, use, FIXTURE_TIME), /another purpose \(break-glass\)/);
    refused(() => checkChallenge(issued, { ...use, purpose: 'break-glass' }, FIXTURE_TIME), /another purpose \(approve\)/);
    refused(() => checkChallenge(breaking, { ...use, purpose: 'break-glass', requestId: 'req_b' }, FIXTURE_TIME), /another request/);
    refused(() => checkChallenge(breaking, { ...use, purpose: 'break-glass', digest: 'sha256:bb' }, FIXTURE_TIME), /another version/);
  });
});

describe('removing a passkey', () => {
  const removing: ChallengeUse = { human: 'alice', purpose: 'remove-passkey', credentialId: 'cred_a' };
  const issuedFor = issueChallenge('r'.repeat(43), removing, FIXTURE_TIME);

  it('binds its challenge to the human, its own purpose and the credential being removed', () => {
    expect(checkChallenge(issuedFor, removing, FIXTURE_TIME)).toBe(issuedFor);
    refused(() => checkChallenge(issuedFor, { ...removing, credentialId: 'cred_b' }, FIXTURE_TIME), /remove another passkey/);
    refused(() => checkChallenge(issuedFor, { human: 'alice', purpose: 'remove-passkey' }, FIXTURE_TIME), /remove another passkey/);
    refused(() => checkChallenge(issuedFor, { ...removing, human: 'bob' }, FIXTURE_TIME), /someone else/);
    refused(() => checkChallenge(issuedFor, { human: 'alice', purpose: 'confirm-register' }, FIXTURE_TIME), /another purpose \(remove-passkey\)/);
    refused(() => checkChallenge(issuedFor, removing, later(120)), /expired/);
    // A challenge for anything else does not remove a passkey.
    const registering = issueChallenge('g'.repeat(43), { human: 'alice', purpose: 'confirm-register' }, FIXTURE_TIME);
    refused(() => checkChallenge(registering, removing, FIXTURE_TIME), /another purpose \(confirm-register\)/);
  });

  it('is one’s own (with a passkey), or an administrator’s for another human; never another human’s or an agent’s', () => {
    expect(passkeyRemoval(human('alice'), [], 'alice')).toBe('own');
    expect(passkeyRemoval(human('root'), ['admin'], 'alice')).toBe('admin');
    // The role does not spare an administrator the confirmation for their own passkey.
    expect(passkeyRemoval(human('root'), ['admin'], 'root')).toBe('own');
    expect(() => passkeyRemoval(human('bob'), [], 'alice')).toThrow(expect.objectContaining({ code: 'ROLE_REQUIRED' }));
    expect(() => passkeyRemoval(human('audra'), ['auditor'], 'alice')).toThrow(expect.objectContaining({ code: 'ROLE_REQUIRED' }));
    expect(() => passkeyRemoval(agent('bot', 'root'), ['admin'], 'alice')).toThrow(expect.objectContaining({ code: 'AGENT_CANNOT_SIGN_IN' }));
    expect(() => passkeyRemoval(agent('bot', null), [], 'bot')).toThrow(expect.objectContaining({ code: 'AGENT_CANNOT_SIGN_IN' }));
  });
});

describe('step-up rules', () => {
  it('enrols a first passkey under `sso` only from an identity-provider sign-in; under `any-sign-in` from either', () => {
    expect(() => assertEnrolmentSignIn('any-sign-in', 'api-key')).not.toThrow();
    expect(() => assertEnrolmentSignIn('any-sign-in', 'oidc')).not.toThrow();
    expect(() => assertEnrolmentSignIn('sso', 'oidc')).not.toThrow();
    refused(() => assertEnrolmentSignIn('sso', 'api-key'), /identity provider/);
    refused(() => assertEnrolmentSignIn('sso', ''), /identity provider/);
  });

  it('applies where the decision asks for webauthn', () => {
    expect(requiresStepUp({ decision: { ...approveDecision(), stepUp: 'webauthn' } })).toBe(true);
    expect(requiresStepUp({ decision: approveDecision() })).toBe(false);
  });

  it('lets a first passkey be registered only from a sign-in of the last ten minutes', () => {
    expect(() => assertRecentLogin(FIXTURE_TIME.toISOString(), later(600))).not.toThrow();
    refused(() => assertRecentLogin(FIXTURE_TIME.toISOString(), later(601)), /last 10 minutes/);
  });

  it('refuses a counter that does not advance, unless the authenticator keeps none', () => {
    expect(() => assertCounterAdvances(0, 0)).not.toThrow();
    expect(() => assertCounterAdvances(4, 5)).not.toThrow();
    refused(() => assertCounterAdvances(5, 5), /cloned/);
    refused(() => assertCounterAdvances(5, 0), /cloned/);
  });

  it('reads the challenge out of clientDataJSON, and nothing out of anything else', () => {
    const data = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    expect(challengeOfClientData(data({ type: 'webauthn.get', challenge: 'x'.repeat(43) }))).toBe('x'.repeat(43));
    expect(challengeOfClientData(data({ challenge: 'short' }))).toBeUndefined();
    expect(challengeOfClientData(data({ challenge: 'a/b'.repeat(10) }))).toBeUndefined();
    expect(challengeOfClientData('not base64url!')).toBeUndefined();
    expect(challengeOfClientData(42)).toBeUndefined();
  });
});
