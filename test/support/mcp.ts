/**
 * MCP in tests: the real filesystem server from the registry as an upstream,
 * and the SDK's real Client as the agent, over streamable HTTP (/mcp) or over
 * stdio through `countersign mcp --connect` or `countersign mcp --config`.
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** @modelcontextprotocol/server-filesystem, run with this Node (no download at run time). */
export const FILESYSTEM_SERVER = join(ROOT, 'node_modules/@modelcontextprotocol/server-filesystem/dist/index.js');

/** An `mcp` connection that starts the filesystem server on `dir`. */
export function filesystemConnection(name: string, dir: string, extra = ''): string {
  return `  - name: ${name}
    kind: mcp
    command: ${JSON.stringify(process.execPath)}
    args: [${JSON.stringify(FILESYSTEM_SERVER)}, ${JSON.stringify(dir)}]
${extra}`;
}

/** An agent's MCP client on the gateway's /mcp, authenticated with its key. */
export async function httpAgent(gatewayUrl: string, key: string): Promise<Client> {
  const client = new Client({ name: 'test-agent', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL('/mcp', gatewayUrl), { requestInit: { headers: { authorization: `Bearer ${key}` } } }));
  return client;
}

/** An agent's MCP client that launches `countersign mcp --connect` over stdio, as Claude Desktop would. */
export async function stdioAgent(gatewayUrl: string, key: string): Promise<Client> {
  const client = new Client({ name: 'test-agent', version: '1.0.0' });
  await client.connect(
    new StdioClientTransport({
      command: process.execPath,
      args: [join(ROOT, 'bin/countersign.js'), 'mcp', '--connect', gatewayUrl],
      env: { PATH: process.env['PATH'] ?? '', COUNTERSIGN_KEY: key },
      stderr: 'inherit',
    }),
  );
  return client;
}

/**
 * An agent's MCP client that launches `countersign mcp --config` over stdio:
 * the gateway's MCP side in that child process, on the store of `configFile`.
 */
export async function localAgent(configFile: string, key: string, env: Record<string, string> = {}): Promise<Client> {
  const client = new Client({ name: 'test-agent', version: '1.0.0' });
  await client.connect(
    new StdioClientTransport({
      command: process.execPath,
      args: [join(ROOT, 'bin/countersign.js'), 'mcp', '--config', configFile],
      env: { PATH: process.env['PATH'] ?? '', COUNTERSIGN_KEY: key, ...env },
      stderr: 'inherit',
    }),
  );
  return client;
}

/** The text of a tool result's content. */
export function textOf(result: { content?: unknown }): string {
  return ((result.content as { type: string; text?: string }[] | undefined) ?? []).map((c) => c.text ?? '').join('\n');
}
