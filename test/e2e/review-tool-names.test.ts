/**
 * An upstream MCP server names its tools, and the MCP SDK's servers only
 * warn of a name with a line break in it. The exact input a reviewer reads
 * on Slack and Teams began `MCP tool <name>` and then the arguments, so a
 * name that went on, after a break, as the arguments of a harmless call
 * (`read_config` then `{ "path": "/etc/motd" }`) put those lines where the
 * call's arguments are read, and the real ones after them. The name is
 * shown on its line, in quotes, its breaks as ⏎ (core/name-text.ts), as the
 * facts show it; so do `requests show` and the console, whose inline code
 * joined the name's lines into one unquoted line. Real parts: a stdio MCP SDK
 * server with that listing, the gateway, a fake Slack and a fake Bot
 * Framework that speak their protocols, the compiled CLI.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getPage, signIn } from '../support/console.ts';
import { eventually, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { startReviewChannels, type ReviewChannels } from '../support/review-channels.ts';
import { runCli } from '../support/run-cli.ts';

const SERVER = fileURLToPath(new URL('../support/hostile-list-mcp.js', import.meta.url));
const NAME = 'read_config\n{\n  "path": "/etc/motd"\n}\n';
let channels: ReviewChannels | undefined;
let gw: TestGateway;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cs-tool-names-'));
  channels = await startReviewChannels();
  gw = await startTestGateway(`${channels.yaml}  - name: configs
    kind: mcp
    command: ${JSON.stringify(process.execPath)}
    args: [${JSON.stringify(SERVER)}, multiline]
policy:
  default: deny
  rules:
    - id: config-reads-need-a-human
      when: action.connection == "configs"
      effect: approve
      approvers: [{ groups: [sre] }]
`);
});

afterAll(async () => {
  await gw?.stop();
  await channels?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Every text a card or message shows, depth first. */
function texts(node: unknown): string[] {
  if (Array.isArray(node)) return node.flatMap(texts);
  if (node && typeof node === 'object') return Object.entries(node).flatMap(([k, v]) => (k === 'text' || k === 'title' ? [String(v)] : []).concat(typeof v === 'object' ? texts(v) : []));
  return [];
}

describe('a tool whose name goes on after a line break as the arguments of a harmless call', () => {
  it('is named on one line, in quotes, before the real arguments on Slack, Teams and the CLI', async () => {
    const res = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'configs', input: { tool: NAME, arguments: { path: '/etc/shadow' } }, reason: 'read the motd' } });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    const id = res.body.id as string;
    const shown = '"read_config ⏎ { ⏎   \\"path\\": \\"/etc/motd\\" ⏎ } ⏎ "';

    const msg = await channels!.slack.waitFor('chat.postMessage', (c) => JSON.stringify(c.body['blocks'] ?? []).includes(id));
    const input = texts(msg.body['blocks']).find((t) => t.startsWith('*Exact input*\n'))!;
    expect(input).toContain(`MCP tool ${shown}\n{\n  "path": "/etc/shadow"\n}`);
    expect(input).not.toContain('\n  "path": "/etc/motd"');

    const posted = await eventually(async () => channels!.bf.posted.find((p) => JSON.stringify(p.body).includes(id)));
    const card = texts(posted.body);
    expect(card).toContain(`MCP tool ${shown}\n{\n  "path": "/etc/shadow"\n}`);
    expect(card[card.indexOf('Tool: ') + 1]).toBe(shown);

    const cli = runCli({ url: gw.url, key: gw.keys['alice']!, credentials: join(dir, 'none.json') });
    const show = await cli.command(['requests', 'show', id]).done;
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toContain(`tool ${shown}`);
    expect(show.stdout).not.toContain('\n  "path": "/etc/motd"');
  });

  it('is named on one line, in quotes, on the console page', async () => {
    const res = await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'configs', input: { tool: NAME, arguments: { path: '/etc/shadow' } }, reason: 'read the motd' } });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    const page = await (await getPage(gw.url, await signIn(gw.url, gw.keys['alice']!), `/requests/${res.body.id as string}`)).text();
    const tool = /<code class="tool">([^<]*)<\/code>/.exec(page)?.[1];
    expect(tool).toBe('&quot;read_config ⏎ { ⏎   \\&quot;path\\&quot;: \\&quot;/etc/motd\\&quot; ⏎ } ⏎ &quot;');
  });
});
