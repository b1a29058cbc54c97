/**
 * An exec connection's output is cut at 1 MiB. An agent that controls how
 * much a tool prints before the tool prints its credential (a tool that
 * echoes its arguments, then a diagnostic line) can make the cut land inside
 * the credential: what is left of it must not come back either.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';

// Short enough that no 10-character run of it counts as a piece of it on its own.
const SECRET = 'Pw0rd-4u-9z';
const MiB = 1_048_576;

let dir: string;
let gw: TestGateway;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cs-exec-cut-'));
  const tool = join(dir, 'tool');
  writeFileSync(tool, '#!/bin/sh\nprintf \'%s\\n\' "$@"\nprintf \'%s\\n\' "$API_TOKEN" >&2\nprintf \'%s\\n\' "$API_TOKEN"\n');
  chmodSync(tool, 0o755);
  gw = await startTestGateway(
    `connections:
  - name: tool
    kind: exec
    command: ${JSON.stringify(tool)}
    env: { API_TOKEN: "\${TOOL_TOKEN}" }
policy:
  default: allow
`,
    { env: { TOOL_TOKEN: SECRET }, server: 'bodyLimitBytes: 4194304' },
  );
});

afterAll(async () => {
  await gw?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Arguments whose echo (one line each) fills stdout to `before` characters. */
function argsFilling(before: number): string[] {
  const args: string[] = [];
  let left = before;
  while (left > 0) {
    const line = Math.min(left, 65_536);
    args.push('x'.repeat(line - 1));
    left -= line;
  }
  return args;
}

describe('output cut at 1 MiB inside the credential', () => {
  it.each([3, 6, SECRET.length - 1])('with %i of its characters before the cut: none of them comes back, in the answer or the stored request', async (k) => {
    const res = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'tool', input: { args: argsFilling(MiB - k) }, reason: 'cut' } });
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('failed');
    expect(res.body.error.message).toMatch(/exceeded 1 MiB/);
    const stdout = res.body.result.stdout as string;
    // Cut where the credential began, or before: only the echoed arguments remain.
    expect(stdout.length).toBeGreaterThan(MiB - 4096);
    expect(stdout).toMatch(/x\n?$/);
    expect(stdout.endsWith(SECRET.slice(0, k))).toBe(false);
    expect(JSON.stringify(res.body)).not.toContain(SECRET.slice(0, k));
    const stored = await gw.as('deploy-bot', `/v1/requests/${res.body.id}`);
    expect(stored.status).toBe(200);
    expect(stored.body.result.stdout).toBe(stdout);
  });
});
