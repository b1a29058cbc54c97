import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isLoopbackRedirect, parseCliLoginRequest, verifierMatches } from './cli-login.ts';

describe('isLoopbackRedirect (RFC 8252 §7.3, §8.3)', () => {
  it('takes the loopback IP literals with a port and the /callback path', () => {
    expect(isLoopbackRedirect('http://127.0.0.1:53121/callback')).toBe(true);
    expect(isLoopbackRedirect('http://[::1]:53121/callback')).toBe(true);
  });

  it('refuses any other host, scheme, path, a missing port, a query, a fragment or credentials', () => {
    for (const uri of [
      'http://localhost:53121/callback',
      'https://127.0.0.1:53121/callback',
      'http://127.0.0.2:53121/callback',
      'http://127.0.0.1/callback',
      'http://127.0.0.1:53121/callback/',
      'http://127.0.0.1:53121/other',
      'http://127.0.0.1:53121/callback?next=https://agent.example',
      'http://127.0.0.1:53121/callback#x',
      'http://user@127.0.0.1:53121/callback',
      'http://127.0.0.1.agent.example:53121/callback',
      'http://0x7f000001:53121/callback',
      'javascript:alert(1)',
      '',
    ]) {
      expect(isLoopbackRedirect(uri), uri).toBe(false);
    }
  });
});

describe('parseCliLoginRequest', () => {
  const ok = { redirect_uri: 'http://127.0.0.1:9/callback', state: 'a'.repeat(16), code_challenge: 'b'.repeat(43), code_challenge_method: 'S256' };
  it('takes an S256 challenge, a state and a loopback address', () => {
    expect(parseCliLoginRequest(ok)).toEqual({ ok: true, request: { redirectUri: ok.redirect_uri, state: ok.state, codeChallenge: ok.code_challenge } });
  });
  it('refuses plain PKCE, no challenge, a short state', () => {
    expect(parseCliLoginRequest({ ...ok, code_challenge_method: 'plain' }).ok).toBe(false);
    expect(parseCliLoginRequest({ ...ok, code_challenge: undefined }).ok).toBe(false);
    expect(parseCliLoginRequest({ ...ok, state: 'short' }).ok).toBe(false);
  });
});

describe('verifierMatches (RFC 7636 §4.6)', () => {
  const verifier = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  it('matches the RFC 7636 appendix B example', () => {
    expect(challenge).toBe('E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
    expect(verifierMatches(verifier, challenge)).toBe(true);
  });
  it('refuses another verifier, none, or one that is not a verifier', () => {
    expect(verifierMatches(`${verifier.slice(0, -1)}Y`, challenge)).toBe(false);
    expect(verifierMatches(undefined, challenge)).toBe(false);
    expect(verifierMatches(challenge.slice(0, 10), challenge)).toBe(false);
  });
});
