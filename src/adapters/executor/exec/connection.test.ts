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
  ])('%s', async (_name, script) => {
    const { r, text } = await run(script);
    expect(r.ok).toBe(true);
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(Buffer.from(SECRET).toString('base64').slice(0, 20));
    expect(text).not.toContain(Buffer.from(SECRET).toString('hex').slice(0, 20));
    expect(text).toMatch(/\[redacted\]|\[withheld/);
  });

  it('leaves output without a secret as it was', async () => {
    const { r } = await run('printf "hello %s" world');
    expect(r.output).toMatchObject({ exitCode: 0, stdout: 'hello world', stderr: '' });
  });
});
