import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createExecConnection } from './connection.ts';

const SECRET = 'kube_token_9f8e7d6c5b4a';

function shell(env: Record<string, string> = { API_TOKEN: SECRET }) {
  return createExecConnection({ name: 'ops', command: '/bin/sh', env, tags: {}, timeoutMs: 10_000 });
}

async function run(script: string) {
  const r = await shell().execute({ args: ['-c', script] }, { readOnly: false });
  return { r, text: JSON.stringify(r) };
}

describe('an exec connection never hands back its env values', () => {
  it.each([
    ['as written, on stdout', 'printf "token=%s" "$API_TOKEN"'],
    ['on stderr', 'printf "%s" "$API_TOKEN" >&2'],
    ['in base64', 'printf "%s" "$API_TOKEN" | base64'],
    ['in hex', 'printf "%s" "$API_TOKEN" | od -An -tx1 | tr -d " \\n"'],
    ['JSON-escaped', 'printf "%s" "$API_TOKEN" | sed "s/_/\\\\u005f/g"'],
    ['from printenv', 'env'],
    ['in UTF-16 (a NUL after each character)', 'printf "%s" "$API_TOKEN" | iconv -t UTF-16LE'],
    ['in UTF-32', 'printf "environ: %s" "$API_TOKEN" | iconv -t UTF-32BE'],
  ])('%s', async (_name, script) => {
    const { r, text } = await run(script);
    expect(r.ok).toBe(true);
    expect(text).not.toContain(SECRET);
    expect(text.replaceAll('\\u0000', '')).not.toContain(SECRET);
    expect(text).not.toContain(Buffer.from(SECRET).toString('base64').slice(0, 20));
    expect(text).not.toContain(Buffer.from(SECRET).toString('hex').slice(0, 20));
    expect(text).toMatch(/\[redacted\]|\[withheld/);
  });

  it('leaves output without a secret as it was', async () => {
    const { r } = await run('printf "hello %s" world');
    expect(r.output).toMatchObject({ exitCode: 0, stdout: 'hello world', stderr: '' });
  });
});

describe('an exec connection’s argv', () => {
  it('reaches the binary exactly as written, one entry each, never through a shell: metacharacters, globs, newlines and option-like text stay text', async () => {
    const printf = createExecConnection({ name: 'p', command: '/usr/bin/printf', env: {}, tags: {}, timeoutMs: 10_000 });
    const args = ['%s|', 'a;b', '$(id)', '`id`', '*', 'x\ny', '--help', '-exec', 'A=1'];
    const r = await printf.execute({ args }, { readOnly: false });
    expect(r.output).toMatchObject({ exitCode: 0, stdout: 'a;b|$(id)|`id`|*|x\ny|--help|-exec|A=1|' });
    expect(printf.facts({ args }).exec).toEqual({ argv: ['/usr/bin/printf', ...args], command: 'printf', subcommand: '%s|' });
  });
});

describe('an exec connection at its time bound', () => {
  /** Whether a process of this id still runs. */
  const alive = (pid: number): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };

  it('ends the run with everything it started: a background child holding the output open is killed too, and the run says it timed out', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cs-exec-'));
    try {
      const pidFile = join(dir, 'pid');
      const ops = createExecConnection({ name: 'ops', command: '/bin/sh', env: {}, tags: {}, timeoutMs: 500 });
      // The background sleep inherits stdout: waiting for the output to close would wait for it, past the run's deadline.
      const r = await ops.execute({ args: ['-c', `sleep 300 & echo $! > ${pidFile}; wait`] }, { readOnly: false });
      expect(r).toMatchObject({ ok: false, error: { code: 'EXECUTION_FAILED', message: 'ops timed out' } });
      const pid = Number(readFileSync(pidFile, 'utf8'));
      for (let i = 0; alive(pid) && i < 250; i++) await new Promise((done) => setTimeout(done, 20));
      expect(alive(pid)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);

  it('a command that exits in time leaving a child with the output open is stopped at the bound too', async () => {
    const ops = createExecConnection({ name: 'ops', command: '/bin/sh', env: {}, tags: {}, timeoutMs: 500 });
    const r = await ops.execute({ args: ['-c', 'sleep 300 & echo left'] }, { readOnly: false });
    expect(r).toMatchObject({ ok: false, error: { message: 'ops timed out' } });
  }, 30_000);
});
