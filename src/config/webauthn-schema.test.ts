import { describe, expect, it } from 'vitest';
import { relyingPartyOf, webauthnSchema } from './webauthn-schema.ts';

describe('console.webauthn', () => {
  it('refuses an IP address as the RP id, and anything that is not a host name', () => {
    for (const rpId of ['10.0.0.1', '::1', '[::1]', 'https://cs.example.com', 'cs.example.com/x', '']) {
      expect(webauthnSchema.safeParse({ rpId }).success, rpId).toBe(false);
    }
    expect(webauthnSchema.parse({ rpId: 'countersign.example.com' })).toEqual({ rpId: 'countersign.example.com', rpName: 'Countersign', enrolment: 'any-sign-in' });
  });

  it('enrols first passkeys from any sign-in unless told `sso`; nothing else is accepted', () => {
    expect(webauthnSchema.parse({}).enrolment).toBe('any-sign-in');
    expect(webauthnSchema.parse({ enrolment: 'sso' }).enrolment).toBe('sso');
    expect(webauthnSchema.safeParse({ enrolment: 'api-key' }).success).toBe(false);
  });

  it('derives the relying party from the public address, a loopback IP becoming localhost', () => {
    expect(relyingPartyOf(undefined, 'http://127.0.0.1:8700')).toEqual({ rpId: 'localhost', rpName: 'Countersign', origins: ['http://localhost:8700'] });
    expect(relyingPartyOf(undefined, 'https://cs.example.com/')).toEqual({ rpId: 'cs.example.com', rpName: 'Countersign', origins: ['https://cs.example.com'] });
    const configured = webauthnSchema.parse({ rpId: 'example.com', origins: ['https://cs.example.com'] });
    expect(relyingPartyOf(configured, 'http://10.1.2.3:8700')).toEqual({ rpId: 'example.com', rpName: 'Countersign', origins: ['https://cs.example.com'] });
  });
});
