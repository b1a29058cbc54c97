/**
 * An exec argument reaches the binary as UTF-8 bytes. An argument that has no
 * such form, or whose form the kernel will not pass, must be refused when it
 * is submitted, with a stable code — not judged and shown as one thing and run
 * as another, and not approved only to fail at the run:
 * - a lone UTF-16 surrogate (`"\ud800"`, valid in JSON) has no UTF-8 form:
 *   Node hands the binary U+FFFD (EF BF BD) instead, while the policy, the
 *   reviewers and the audit log see the surrogate;
 * - Linux refuses an argument of more than 128 KiB (MAX_ARG_STRLEN) with E2BIG,
 *   which 65,536 characters of `€` (three bytes each) are;
 * - and arguments that together pass the kernel's total (ARG_MAX) fail at the
 *   run, which must say so (`could not start (E2BIG)`), not fail as internal.
 * Each run is real: /usr/bin/printf prints its arguments back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { storeCounts } from '../support/store-view.ts';

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway(
    `connections:
  - name: printf
    kind: exec
    command: /usr/bin/printf
policy:
  default: allow
`,
    { server: 'bodyLimitBytes: 16777216' },
  );
});

afterAll(async () => {
  await gw?.stop();
});

const run = (args: string[]) => gw.as('deploy-bot', '/v1/actions', { body: { connection: 'printf', input: { args }, reason: 'print it back' } });

/** Submits, expects 400 INVALID_INPUT naming the argument, and that nothing was recorded. */
async function refused(args: string[], field: string, says: RegExp) {
  const before = await storeCounts(gw.deps.store);
  const res = await run(args);
  expect(res.status).toBe(400);
  expect(res.body.error.code).toBe('INVALID_INPUT');
  expect(res.body.error.message).toContain(field);
  expect(res.body.error.message).toMatch(says);
  expect(await storeCounts(gw.deps.store)).toEqual(before);
}

describe('an argument with no UTF-8 form', () => {
  it.each([
    ['a lone high surrogate', 'a\ud800b'],
    ['a lone low surrogate', '\udc00'],
    ['a pair in the wrong order', '\ude00\ud83d'],
  ])('%s → 400 INVALID_INPUT at submit, nothing recorded or run', async (_name, arg) => {
    await refused(['%s', arg], 'args.1', /surrogate/);
  });

  it('a well-formed pair (an emoji) runs, and the binary gets exactly its bytes', async () => {
    const res = await run(['%s', 'a\u{1F600}b']);
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('succeeded');
    expect(res.body.result.stdout).toBe('a\u{1F600}b');
  });
});

describe('an argument past the kernel limit of 128 KiB (MAX_ARG_STRLEN)', () => {
  it('65,536 characters of € (196,608 bytes) → 400 INVALID_INPUT at submit, nothing recorded', async () => {
    await refused(['%s', '€'.repeat(65_536)], 'args.1', /131,071 bytes/);
  });

  it('131,071 bytes (the most Linux passes) runs and comes back whole', async () => {
    const arg = `${'€'.repeat(43_690)}x`;
    expect(Buffer.byteLength(arg)).toBe(131_071);
    const res = await run(['%s', arg]);
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('succeeded');
    expect(res.body.result.stdout).toBe(arg);
  });
});

describe('arguments together past the kernel total (ARG_MAX)', () => {
  it('the run fails EXECUTION_FAILED saying it could not start (E2BIG), not as an internal error', async () => {
    // 100 arguments of 64 KiB: 6.25 MiB, past ARG_MAX (a quarter of the stack limit: 2 MiB at the usual 8 MiB;
    // never more than 6 MiB, even with the stack unlimited).
    const res = await run(Array.from({ length: 100 }, () => 'x'.repeat(65_535)));
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('failed');
    expect(res.body.error.code).toBe('EXECUTION_FAILED');
    expect(res.body.error.message).toBe('printf: could not start (E2BIG)');
  }, 60_000);
});
