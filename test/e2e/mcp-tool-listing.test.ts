/**
 * An upstream whose tools/list cannot be pinned as it stands: one name listed
 * twice (only one definition can be its pin, yet both would reach the model,
 * the other unreviewed), two names that are one once Unicode-normalised (a
 * reviewer cannot tell which was pinned), or cursors without end (a listing
 * that never finishes and grows until the gateway runs out of memory). Each
 * listing is refused whole, as for a server that could not be listed: the
 * gateway still starts, no tool of it is offered, a call names an unknown
 * tool, and the log says why.
 */
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { httpAgent } from '../support/mcp.ts';

const SERVER = fileURLToPath(new URL('../support/hostile-list-mcp.js', import.meta.url));
let gw: TestGateway;
const logs: Record<string, unknown>[] = [];

beforeAll(async () => {
  const connection = (mode: string) => `  - name: ${mode}
    kind: mcp
    command: ${JSON.stringify(process.execPath)}
    args: [${JSON.stringify(SERVER)}, ${mode}]
`;
  gw = await startTestGateway(`connections:
${connection('duplicate')}${connection('homoglyph')}${connection('endless')}policy:
  rules:
    - { id: all, when: "true", effect: allow }
`, { logger: pino({ level: 'warn' }, { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) }) });
});

afterAll(async () => {
  await gw?.stop();
});

describe('a tools/list the gateway refuses', () => {
  for (const [mode, tool, why] of [
    ['duplicate', 'greet', 'lists the tool "greet" twice'],
    ['homoglyph', 'greet', 'lists tools "greet" and "gr\uFF45et", one name once normalised'],
    ['endless', 'greet_0', 'more than 100 pages'],
  ] as const) {
    it(`${mode}: offers none of its tools and refuses a call, saying why`, async () => {
      const agent = await httpAgent(gw.url, gw.keys['deploy-bot']!);
      try {
        const { tools } = await agent.listTools(undefined, { timeout: 60_000 });
        expect(tools.filter((t) => t.name.startsWith(`${mode}__`))).toEqual([]);
        const res = await gw.as('deploy-bot', '/v1/actions', { body: { connection: mode, input: { tool, arguments: {} }, reason: 'try it' } });
        expect(res.body.error?.code).toBe('UNKNOWN_TOOL');
        expect(logs.filter((l) => l['connection'] === mode).map((l) => String((l['err'] as { details?: { cause?: unknown } }).details?.cause))).toContainEqual(expect.stringContaining(why));
      } finally {
        await agent.close();
      }
    }, 90_000);
  }
});
