import { describe, expect, it } from 'vitest';
import { agent, human } from '../../test/support/fixtures.ts';
import type { HumanDirectory } from './human-identity.ts';
import type { Principal } from './principal.ts';
import { requesterGone } from './requester.ts';

describe('requesterGone: whether the configuration in force still knows who asked', () => {
  const configured: Principal[] = [agent('deploy-bot', 'carol'), human('carol', ['sre'])];
  const dir: HumanDirectory = {
    principal: (id) => configured.find((p) => p.id === id),
    humanByEmail: () => undefined,
    takesTokensOf: (issuer, kind) => issuer === 'https://ci.example.com' && kind === 'agent',
    holdsKey: (id, ref) => id === 'deploy-bot' && ref === 'ref-new',
  };

  it('knows a configured principal of the same kind, and a token principal of an issuer configured for its kind', () => {
    expect(requesterGone(agent('deploy-bot', 'carol'), dir)).toBeUndefined();
    expect(requesterGone({ ...agent('etl-job', null), issuer: 'https://ci.example.com' }, dir)).toBeUndefined();
  });

  it('does not know one taken out of the configuration, made another kind, or whose issuer is gone', () => {
    expect(requesterGone(agent('old-bot', null), dir)).toMatch(/old-bot is no longer configured/);
    expect(requesterGone({ ...human('deploy-bot', []) }, dir)).toMatch(/configured as an agent/);
    expect(requesterGone({ ...agent('etl-job', null), issuer: 'https://gone.example.com' }, dir)).toMatch(/no longer configured for agents/);
    expect(requesterGone({ ...human('zoe@example.com', []), issuer: 'https://ci.example.com' }, dir)).toMatch(/no longer configured for humans/);
  });

  it('does not know a key-holding principal whose key the configuration no longer lists; knows it with a listed one', () => {
    expect(requesterGone({ ...agent('deploy-bot', 'carol'), keyRef: 'ref-new' }, dir)).toBeUndefined();
    expect(requesterGone({ ...agent('deploy-bot', 'carol'), keyRef: 'ref-leaked' }, dir)).toMatch(/API key deploy-bot asked with is no longer one of its apiKeys/);
  });
});
