import { fileURLToPath } from 'node:url';
import { afterEach, expect, it } from 'vitest';
import { createMcpConnection } from './connection.ts';

const server = fileURLToPath(new URL('../../../../test/support/argv-echo-mcp.js', import.meta.url));
const opened: { close(): Promise<void> }[] = [];
const connect = () => {
  const c = createMcpConnection({ name: 'echo', command: process.execPath, args: [server, 'marker'], env: {}, tags: {}, timeoutMs: 30_000, waitSeconds: 5, acceptors: { groups: [], principals: [] } });
  opened.push(c);
  return c;
};
afterEach(async () => {
  for (const c of opened.splice(0)) await c.close();
});

it('runs the tool on first use: the upstream starts with the first call, not with the connection', async () => {
  const result = await connect().execute({ tool: 'whoami', arguments: {} }, { readOnly: true });
  expect(result).toMatchObject({ ok: true });
  expect(JSON.stringify(result.output)).toContain('started as: marker');
});

it('starts no upstream once closed, even one never used before the close', async () => {
  const c = connect();
  await c.close();
  const result = await c.execute({ tool: 'whoami', arguments: {} }, { readOnly: true });
  expect(result).toMatchObject({ ok: false, error: { code: 'EXECUTION_FAILED' } });
  expect(JSON.stringify(result.output)).toContain('could not be reached');
  await expect(c.catalog.refresh()).rejects.toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
});
