import { describe, expect, it } from 'vitest';
import { issuedToClient } from './client-token.ts';

describe('a token issued to a client application', () => {
  it('is recognised by a subject that is its client id, or by the marks providers put on it', () => {
    expect(issuedToClient({ sub: 'svc', client_id: 'svc' })).toBe(true);
    expect(issuedToClient({ sub: '0oa1', cid: '0oa1' })).toBe(true);
    expect(issuedToClient({ sub: 'app', azp: 'app' })).toBe(true);
    expect(issuedToClient({ sub: 'app', appid: 'app' })).toBe(true);
    expect(issuedToClient({ sub: 'nb7@clients', azp: 'nb7' })).toBe(true);
    expect(issuedToClient({ sub: 'x', gty: 'client-credentials' })).toBe(true);
    expect(issuedToClient({ sub: 'x', idtyp: 'app' })).toBe(true);
  });

  it('is not a person’s token issued through a client, nor one without a client claim', () => {
    expect(issuedToClient({ sub: '00u1alice', cid: '0oa1cli', client_id: '0oa1cli', azp: '0oa1cli' })).toBe(false);
    expect(issuedToClient({ sub: 'alice', gty: 'password', idtyp: 'user' })).toBe(false);
    expect(issuedToClient({ sub: 'alice' })).toBe(false);
    expect(issuedToClient({ sub: '', client_id: '' })).toBe(false);
  });
});
