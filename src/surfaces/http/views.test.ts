import { describe, expect, it } from 'vitest';
import { agent, at, human, requestRecord } from '../../../test/support/fixtures.ts';
import type { HumanDirectory } from '../../core/human-identity.ts';
import type { Principal } from '../../core/principal.ts';
import { requestView } from './views.ts';

const none: HumanDirectory = { principal: () => undefined, humanByEmail: () => undefined };

describe('requestView: the impact preview', () => {
  const preview = { status: 'previewed' as const, statements: [{ command: 'DELETE', table: 'salaries', rows: 3 }], at: at(1) };
  // deploy-bot acts for carol@example.test.
  const r = requestRecord({ principal: agent('deploy-bot', 'carol@example.test'), preview });

  it('is shown to a reviewer', () => {
    expect(requestView(r, human('alice'), none)['preview']).toEqual(preview);
  });

  it('is withheld from the agent and from the human it acts for, under any of her names', () => {
    expect(requestView(r, agent('deploy-bot', 'carol@example.test'), none)['preview']).toBeUndefined();
    expect(requestView(r, human('carol'), none)['preview']).toBeUndefined();
    // Carol signed in through a provider that names her by a subject, her email verified.
    const bySubject: Principal = { id: '00u7carol', kind: 'human', actsFor: null, groups: [], email: 'carol@example.test', issuer: 'https://idp.example.test', claims: { sub: '00u7carol' } };
    expect(requestView(r, bySubject, none)['preview']).toBeUndefined();
  });
});

describe('requestView: the impact preview, as the configuration names the requesting side', () => {
  const preview = { status: 'previewed' as const, statements: [{ command: 'UPDATE', table: 'payroll', rows: 40 }], at: at(1) };
  // deploy-bot is configured to act for carol; it came with a token whose actsFor claim named dave instead.
  const configured = [agent('deploy-bot', 'carol'), human('carol'), human('dave'), human('alice')];
  const dir: HumanDirectory = { principal: (id) => configured.find((p) => p.id === id), humanByEmail: () => undefined };
  const r = requestRecord({ principal: { ...agent('deploy-bot', 'dave'), issuer: 'https://ci.example.test', claims: { sub: 'deploy-bot' } }, preview });

  it('is withheld from the human the configuration says the agent acts for, whoever the token named', () => {
    expect(requestView(r, human('carol'), dir)['preview']).toBeUndefined();
    expect(requestView(r, human('dave'), dir)['preview']).toBeUndefined();
    expect(requestView(r, human('alice'), dir)['preview']).toEqual(preview);
  });
});
