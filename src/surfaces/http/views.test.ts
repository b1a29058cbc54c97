import { describe, expect, it } from 'vitest';
import { agent, at, human, requestRecord } from '../../../test/support/fixtures.ts';
import type { Principal } from '../../core/principal.ts';
import { requestView } from './views.ts';

describe('requestView: the impact preview', () => {
  const preview = { status: 'previewed' as const, statements: [{ command: 'DELETE', table: 'salaries', rows: 3 }], at: at(1) };
  // deploy-bot acts for carol@example.test.
  const r = requestRecord({ principal: agent('deploy-bot', 'carol@example.test'), preview });

  it('is shown to a reviewer', () => {
    expect(requestView(r, human('alice'))['preview']).toEqual(preview);
  });

  it('is withheld from the agent and from the human it acts for, under any of her names', () => {
    expect(requestView(r, agent('deploy-bot', 'carol@example.test'))['preview']).toBeUndefined();
    expect(requestView(r, human('carol'))['preview']).toBeUndefined();
    // Carol signed in through a provider that names her by a subject, her email verified.
    const bySubject: Principal = { id: '00u7carol', kind: 'human', actsFor: null, groups: [], email: 'carol@example.test', issuer: 'https://idp.example.test', claims: { sub: '00u7carol' } };
    expect(requestView(r, bySubject)['preview']).toBeUndefined();
  });
});
