/**
 * `countersign run` pointed at something that is not a Countersign gateway: a
 * wrong --url, a proxy's answer, an impostor. A pipeline gates on the exit
 * code (`countersign run … && deploy`), so an answer that is not a request
 * must never end in 0, and text from such a server never reaches the terminal
 * raw. (A server that fakes a whole well-formed "succeeded" request cannot be
 * told from the gateway: TLS to the gateway's own name is the defence.) Nor
 * is a URL holding a password, or a key no header can carry, sent anywhere or
 * quoted back.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RUN_EXIT } from '../../src/cli/run-exit.ts';
import { runCli } from '../support/run-cli.ts';
import { startUpstream, type RecordedCall, type Upstream } from '../support/upstream.ts';

const KEY = 'cs_impostor_test_key_0123456789abcdef';
let dir: string;
let server: Upstream | undefined;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cs-run-impostor-'));
});
afterEach(async () => {
  await server?.close();
  server = undefined;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function impostor(respond: (call: RecordedCall) => { status?: number; body?: unknown }) {
  server = await startUpstream(respond);
  return runCli({ url: server.url, key: KEY, credentials: join(dir, 'none.json') });
}

const SQL = ['orders-db', '--sql', 'delete from orders', '--reason', 'cleanup'];

describe('countersign run against a server that is not the gateway', { timeout: 60_000 }, () => {
  it('a 200 answer that is not a request is a refusal (exit 1), not a success', async () => {
    const cli = await impostor(() => ({ status: 200, body: { ok: true } }));
    const end = await cli.run(SQL);
    expect(end.code).toBe(RUN_EXIT.refused);
    expect(end.stderr).toContain('INVALID_RESPONSE');
    expect(end.stdout).toBe('');
  });

  it('a request in a status the gateway never gives is a refusal, when submitted and while waiting', async () => {
    const view = (status: string) => ({
      id: 'req_fake',
      status,
      principal: { id: 'deploy-bot', kind: 'agent', actsFor: null, groups: [] },
      connection: { name: 'orders-db', kind: 'postgres', tags: {} },
      action: { connection: 'orders-db', operation: 'sql', input: { sql: 'delete from orders' }, reason: 'cleanup' },
      facts: { writes: true },
      digest: 'x',
      decision: { effect: 'approve', rules: ['r'], message: null, policyHash: 'h', approvers: [] },
      approvals: { needed: 1, remaining: [{ rule: 'r', groups: ['sre'], principals: [], needed: 1 }] },
      reviews: [],
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
      expiresAt: null,
      result: null,
      error: null,
    });
    let cli = await impostor(() => ({ status: 200, body: view('done') }));
    let end = await cli.run(SQL);
    expect(end.code).toBe(RUN_EXIT.refused);
    expect(end.stderr).toContain('INVALID_RESPONSE');
    await server!.close();

    // Held first, then a status no gateway has: not a success, and not a wait that ends in 0 either.
    cli = await impostor((call) => (call.method === 'POST' ? { status: 202, body: view('pending') } : { status: 200, body: view('ok') }));
    end = await cli.run([...SQL, '--timeout', '5']);
    expect(end.code).toBe(RUN_EXIT.refused);
    expect(end.stderr).toContain('INVALID_RESPONSE');
    expect(end.stdout).toBe('');
  });

  it('an error answer’s text is shown with its escapes named, never sent raw to the terminal', async () => {
    const message = 'no\u001b[2J\u001b]0;pwned\u0007 such connection';
    const cli = await impostor(() => ({ status: 404, body: { error: { code: 'UNKNOWN_CONNECTION', message } } }));
    const run = await cli.run(SQL);
    expect(run.code).toBe(RUN_EXIT.refused);
    expect(run.stderr).toContain('UNKNOWN_CONNECTION');
    expect(run.stderr).not.toContain('\u001b');
    expect(run.stderr).not.toContain('\u0007');
    // Other commands end in the CLI's shared error handler: the same holds there.
    const list = await cli.command(['requests', 'list']).done;
    expect(list.code).toBe(1);
    expect(list.stderr).toContain('UNKNOWN_CONNECTION');
    expect(list.stderr).not.toContain('\u001b');
    expect(list.stderr).not.toContain('\u0007');
  });

  it('a URL holding a password, or a key a header cannot carry, is a usage error that quotes neither, and nothing is sent', async () => {
    const cli = await impostor(() => ({ status: 200, body: {} }));
    const withPassword = server!.url.replace('http://', 'http://agent:hunter2@');
    const url = await cli.run(SQL, { env: { COUNTERSIGN_URL: withPassword } });
    expect(url.code).toBe(RUN_EXIT.usage);
    expect(url.stderr).toContain('user or password');
    expect(url.stderr).not.toContain('hunter2');
    const key = await cli.run(SQL, { key: `${KEY}\nX-Injected: 1` });
    expect(key.code).toBe(RUN_EXIT.usage);
    expect(key.stderr).toContain('API key');
    expect(key.stderr).not.toContain(KEY);
    expect(server!.calls).toEqual([]);
  });
});
