import { describe, expect, it } from 'vitest';
import { clientAllowed, issuedToClient } from './client-token.ts';

describe('a token issued to a client application', () => {
  it('is recognised by a subject that is its client id, or by the marks providers put on it', () => {
    expect(issuedToClient({ sub: 'svc', client_id: 'svc' })).toBe(true);
    expect(issuedToClient({ sub: '0oa1', cid: '0oa1' })).toBe(true);
    expect(issuedToClient({ sub: 'app', azp: 'app' })).toBe(true);
    expect(issuedToClient({ sub: 'app', appid: 'app' })).toBe(true);
    expect(issuedToClient({ sub: 'nb7@clients', azp: 'nb7' })).toBe(true);
    expect(issuedToClient({ sub: 'x', gty: 'client-credentials' })).toBe(true);
    expect(issuedToClient({ sub: 'x', idtyp: 'app' })).toBe(true);
    expect(issuedToClient({ sub: 'sp1', oid: 'sp1', azp: 'app', azpacr: '1' })).toBe(true);
    expect(issuedToClient({ sub: 'sp1', oid: 'sp1', appid: 'app', appidacr: '2' })).toBe(true);
    expect(issuedToClient({ sub: 'u-uuid', azp: 'agent', clientHost: '10.0.0.7', clientAddress: '10.0.0.7' })).toBe(true);
  });

  it('is not a person’s token issued through a client, nor one without a client claim', () => {
    expect(issuedToClient({ sub: '00u1alice', cid: '0oa1cli', client_id: '0oa1cli', azp: '0oa1cli' })).toBe(false);
    expect(issuedToClient({ sub: 'alice', gty: 'password', idtyp: 'user' })).toBe(false);
    expect(issuedToClient({ sub: 'alice' })).toBe(false);
    expect(issuedToClient({ sub: '', client_id: '' })).toBe(false);
    // Entra delegated (pairwise sub, scp) and Azure AD B2C (sub is the oid, no client authentication).
    expect(issuedToClient({ sub: 'pw1', oid: 'u1', azp: 'app', azpacr: '0', scp: 'Notes.Write' })).toBe(false);
    expect(issuedToClient({ sub: 'u1', oid: 'u1', azp: 'app', azpacr: '0', scp: 'Notes.Write' })).toBe(false);
    expect(issuedToClient({ sub: 'u2', oid: 'u2', tfp: 'B2C_1_signin' })).toBe(false);
  });
});

describe('the application a token was issued through', () => {
  const clients = ['countersign-cli', '0oa1cli'];

  it('is allowed when every claim naming one names a listed client', () => {
    expect(clientAllowed({ sub: 'alice', client_id: 'countersign-cli' }, clients)).toBe(true);
    expect(clientAllowed({ sub: 'alice', cid: '0oa1cli' }, clients)).toBe(true);
    expect(clientAllowed({ sub: 'alice', client_id: 'countersign-cli', azp: 'countersign-cli' }, clients)).toBe(true);
  });

  it('is refused when one names another client, is not a string, or none is named', () => {
    expect(clientAllowed({ sub: 'alice', azp: 'agent-web-app' }, clients)).toBe(false);
    expect(clientAllowed({ sub: 'alice', client_id: 'countersign-cli', azp: 'agent-web-app' }, clients)).toBe(false);
    expect(clientAllowed({ sub: 'alice', client_id: ['countersign-cli'] }, clients)).toBe(false);
    expect(clientAllowed({ sub: 'alice', appid: null }, clients)).toBe(false);
    expect(clientAllowed({ sub: 'alice' }, clients)).toBe(false);
  });
});
