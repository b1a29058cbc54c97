/**
 * The shell's PWD and OLDPWD (the directory the gateway was started from, and
 * the one before) match the `pwd` of secret names (`MYSQL_PWD`), but name a
 * place, not a credential: held as secrets, they took the gateway's own
 * directory out of every exec output, so `/bin/pwd` run there answered
 * `[redacted]` (and the logs lost it too). A real secret-named variable
 * of the gateway is still scrubbed. So too a connection whose name reads like
 * a secret's (`token-tool`): the command and directory written for it are a
 * place, not its credential, and were taken out of every output.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';

const STRAY = 'stray-db-Pw7Qx2Lm9Z';

let dir: string;
let gw: TestGateway;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cs-exec-pwd-'));
  mkdirSync(join(dir, 'sub'));
  gw = await startTestGateway(
    `connections:
  - name: where
    kind: exec
    command: /bin/pwd
    cwd: ${JSON.stringify(dir)}
  - name: echo
    kind: exec
    command: /bin/echo
  - name: token-tool
    kind: exec
    command: /bin/pwd
    cwd: ${JSON.stringify(join(dir, 'sub'))}
policy:
  default: allow
`,
    { env: { PWD: dir, OLDPWD: join(dir, 'before'), MYSQL_PWD: STRAY } },
  );
});

afterAll(async () => {
  await gw?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const run = (connection: string, args: string[]) => gw.as('deploy-bot', '/v1/actions', { body: { connection, input: { args }, reason: 'where' } });

describe("the gateway's working directory in exec output", () => {
  it('/bin/pwd in the directory PWD names prints it', async () => {
    const res = await run('where', []);
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('succeeded');
    expect(res.body.result.stdout).toBe(`${dir}\n`);
  });

  it('OLDPWD is printed as written', async () => {
    const res = await run('echo', [join(dir, 'before')]);
    expect(res.body.result.stdout).toBe(`${join(dir, 'before')}\n`);
  });

  it('a connection named like a secret (token-tool) prints its directory and command', async () => {
    const res = await run('token-tool', []);
    expect(res.body.status).toBe('succeeded');
    expect(res.body.result.stdout).toBe(`${join(dir, 'sub')}\n`);
    expect((await run('echo', ['/bin/pwd'])).body.result.stdout).toBe('/bin/pwd\n');
  });

  it('a secret-named variable (MYSQL_PWD) is still taken out', async () => {
    const res = await run('echo', [STRAY]);
    expect(res.body.status).toBe('succeeded');
    expect(res.body.result.stdout).not.toContain(STRAY);
  });
});
