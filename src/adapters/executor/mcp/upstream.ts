/**
 * The gateway's side of one upstream MCP server, through the SDK's real
 * Client: a child process over stdio, or a streamable HTTP endpoint. One
 * client is shared by every call (JSON-RPC multiplexes them); if the process
 * dies or the connection drops, the next call connects again.
 */
import { StringDecoder } from 'node:string_decoder';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CallToolResultSchema, ToolListChangedNotificationSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { CountersignError } from '../../../core/errors.ts';
import { listingProblem, type ToolDefinition } from '../../../core/mcp/tool.ts';
import { createIsolatingFetch } from './isolating-fetch.ts';

export type UpstreamTarget =
  | { readonly command: string; readonly args: readonly string[]; readonly env: Readonly<Record<string, string>>; readonly cwd?: string }
  | { readonly url: string; readonly headers: Readonly<Record<string, string>> };

export interface Upstream {
  listTools(): Promise<ToolDefinition[]>;
  /**
   * `verify`: given when the call must run on the definition it was judged by. A connection made since the last
   * listing (the process started again, the session made anew) may be another server, which tells nothing of what it
   * changed, and with `relist` (a call that waited for a human) any server may have changed silently meanwhile (a
   * stateless one has no stream to say it on), and so may one that said its list changed since the catalog's last
   * listing (the catalog's new listing may not have come back yet): its tools are then listed first, `verify`
   * throws to stop the call, and the catalog is told to list them again.
   */
  callTool(tool: string, args: Readonly<Record<string, unknown>>, timeoutMs: number, verify?: (tools: readonly ToolDefinition[]) => void, relist?: boolean): Promise<CallToolResult>;
  close(): Promise<void>;
}

const CONNECT_TIMEOUT_MS = 30_000;
/** Pages of one tools/list followed at most: a server that always sends a cursor would otherwise never let a listing end. */
export const MAX_LIST_PAGES = 100;
const STDERR_TAIL = 2048;

/**
 * The last `max` characters of `text`, from a line's start: a cut through a line may fall inside a secret the server
 * printed, and leave its end, which no scrubber knows as the secret (a few characters of it match nothing). Without a
 * line break in what is kept, nothing is kept.
 */
export function tailOf(text: string, max: number): string {
  if (text.length <= max) return text;
  const kept = text.slice(-max);
  const line = kept.indexOf('\n');
  return line === -1 ? '' : kept.slice(line + 1);
}

function definitionOf(t: Record<string, unknown> & { name: string; inputSchema: Record<string, unknown> }): ToolDefinition {
  return {
    name: t.name,
    ...(typeof t['title'] === 'string' ? { title: t['title'] } : {}),
    ...(typeof t['description'] === 'string' ? { description: t['description'] } : {}),
    inputSchema: t.inputSchema,
    ...(t['outputSchema'] && typeof t['outputSchema'] === 'object' ? { outputSchema: t['outputSchema'] as Record<string, unknown> } : {}),
    ...(t['annotations'] && typeof t['annotations'] === 'object' ? { annotations: t['annotations'] as ToolDefinition['annotations'] } : {}),
  };
}

/**
 * @example
 * const fs = createUpstream('fs', { command: 'npx', args: ['@modelcontextprotocol/server-filesystem', '/srv'], env: {} }, () => {}, (text) => text);
 * await fs.listTools();
 *
 * `clean` makes what the upstream says about a failure (its stderr, an HTTP refusal's body in the SDK's message) safe
 * to log: a server that prints its credential, or echoes the one it was sent, must not put it in the gateway's log.
 */
export function createUpstream(name: string, target: UpstreamTarget, onListChanged: () => void, clean: (text: string) => string): Upstream {
  let current: Promise<Client> | undefined;
  let closed = false;
  let stderrTail = '';
  /** The client the last complete listing (the catalog's) came from: a call on any other verifies its tool first. */
  let listedClient: Client | undefined;
  /**
   * tools/list_changed notifications heard, and how many had been when the catalog's last complete listing was asked:
   * a call made while they differ was judged on definitions the upstream has said are out of date.
   */
  let heard = 0;
  let listedHeard = 0;
  // One per upstream, across reconnections: a standing stream it cut stays refused.
  const upstreamFetch = createIsolatingFetch();

  function unavailable(e: unknown): CountersignError {
    return new CountersignError('UPSTREAM_UNAVAILABLE', `the MCP server of connection ${name} could not be reached`, {
      cause: clean(e instanceof Error ? e.message : String(e)),
      ...(stderrTail ? { stderr: clean(stderrTail) } : {}),
    });
  }

  function connect(): Promise<Client> {
    if (closed) return Promise.reject(unavailable('the connection is closed'));
    if (current) return current;
    const client = new Client({ name: 'countersign', version: '0.1.0' }, { capabilities: {} });
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      heard += 1;
      onListChanged();
    });
    let transport: StdioClientTransport | StreamableHTTPClientTransport;
    if ('command' in target) {
      // Only the SDK's safe default variables (PATH, HOME, …) and the configured ones: never the gateway's own secrets.
      const stdio = new StdioClientTransport({
        command: target.command,
        args: [...target.args],
        env: { ...getDefaultEnvironment(), ...target.env },
        ...(target.cwd ? { cwd: target.cwd } : {}),
        stderr: 'pipe',
      });
      // One decoder for the stream: a character split between chunks is read whole, as the scrubber must see it.
      const decoder = new StringDecoder('utf8');
      stdio.stderr?.on('data', (chunk: Buffer) => {
        stderrTail = tailOf(stderrTail + decoder.write(chunk), STDERR_TAIL);
      });
      transport = stdio;
    } else {
      transport = new StreamableHTTPClientTransport(new URL(target.url), { requestInit: { headers: { ...target.headers } }, fetch: upstreamFetch });
    }
    const attempt = client.connect(transport, { timeout: CONNECT_TIMEOUT_MS }).then(
      () => client,
      async (e: unknown) => {
        await client.close().catch(() => {});
        throw unavailable(e);
      },
    );
    current = attempt;
    client.onclose = () => {
      if (current === attempt) current = undefined;
    };
    attempt.catch(() => {
      if (current === attempt) current = undefined;
    });
    return attempt;
  }

  async function listOn(client: Client): Promise<ToolDefinition[]> {
    const tools: ToolDefinition[] = [];
    let cursor: string | undefined;
    try {
      for (let pages = 0; ; ) {
        if (++pages > MAX_LIST_PAGES) throw new Error(`tools/list went on for more than ${MAX_LIST_PAGES} pages`);
        const page = await client.listTools(cursor ? { cursor } : undefined, { timeout: CONNECT_TIMEOUT_MS });
        tools.push(...page.tools.map((t) => definitionOf(t as Parameters<typeof definitionOf>[0])));
        cursor = page.nextCursor;
        if (!cursor) break;
      }
    } catch (e) {
      throw unavailable(e);
    }
    // Refused whole: a listing that cannot be pinned tool by tool offers none of its tools.
    const problem = listingProblem(tools);
    if (problem) throw unavailable(`tools/list ${problem}`);
    return tools;
  }

  return {
    async listTools() {
      const client = await connect();
      const asked = heard;
      const tools = await listOn(client);
      listedClient = client;
      listedHeard = asked;
      return tools;
    },
    async callTool(tool, args, timeoutMs, verify, relist = false) {
      const client = await connect();
      // Said to have changed since the catalog's listing was asked (its next one may not have come back yet, or was one
      // asked before, which a sync took for its own): as for a new connection.
      const unlisted = client !== listedClient || heard !== listedHeard;
      if (verify && (relist || unlisted)) {
        const tools = await listOn(client);
        // A new connection, or a tool found changed, is listed again by the catalog, and the change recorded (tool-sync.ts).
        try {
          verify(tools);
        } catch (e) {
          onListChanged();
          throw e;
        }
        if (unlisted) onListChanged();
      }
      return (await client.callTool({ name: tool, arguments: { ...args } }, CallToolResultSchema, { timeout: timeoutMs })) as CallToolResult;
    },
    async close() {
      closed = true;
      const c = current;
      current = undefined;
      if (c) await c.then((client) => client.close()).catch(() => {});
    },
  };
}
