/**
 * What submit refuses before it reads or writes anything: the deps are an
 * empty object, so a refusal that came later would fail on them instead.
 */
import { describe, expect, it } from 'vitest';
import { agent } from '../../test/support/fixtures.ts';
import type { Deps } from './deps.ts';
import { submitOnce } from './submit.ts';

describe('submitOnce', () => {
  for (const resume of [{ resume: true }, { resumeHeld: true }]) {
    it(`refuses an idempotency key together with ${Object.keys(resume)[0]}, touching nothing`, async () => {
      const cmd = { principal: agent(), connection: 'orders-db', input: { sql: 'select 1' }, reason: 'r', idempotencyKey: 'k-1', ...resume };
      await expect(submitOnce({} as Deps, cmd)).rejects.toMatchObject({ code: 'INVALID_REQUEST', message: 'an idempotency key cannot be combined with resuming a request by its digest' });
    });
  }
});
