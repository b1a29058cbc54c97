/**
 * `countersign mcp`: the MCP gateway from the command line. Without a
 * subcommand it is an MCP server on stdio (what an MCP client launches) that
 * relays to a gateway (--connect) or runs the gateway's MCP side in this
 * process against a config (--config); `tools` and `accept` let a human
 * review and accept changed tool definitions.
 */
import { dirname, resolve } from 'node:path';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { loadConfig } from '../config/load.ts';
import type { Logger } from 'pino';
import { createLogger } from '../main.ts';
import { startLocalMcp } from '../main-mcp.ts';
import { exitOnCrash } from './crash.ts';
import { startRelay } from '../surfaces/mcp/relay.ts';
import { createClient, type ToolPinView } from '../surfaces/sdk/client.ts';
import { safe } from './output.ts';
import { UsageError, type RemoteOptions } from './requests.ts';

/**
 * Serves MCP on stdio until the client goes: it closes our stdin (the SDK's
 * stdio transport does not notice that by itself) or sends SIGTERM/SIGINT.
 * Either way the server is closed properly, so upstream children are
 * stopped and nothing in flight is cut off mid-write.
 */
async function serveStdio(start: (transport: StdioServerTransport) => Promise<{ closed: Promise<void>; close(): Promise<void> }>, logger?: Logger): Promise<void> {
  // stdout carries the protocol: nothing else may be written to it.
  const transport = new StdioServerTransport();
  const served = await start(transport);
  if (logger) exitOnCrash(logger, () => served.close());
  const end = () => void transport.close();
  process.stdin.once('end', end);
  process.once('SIGTERM', end);
  process.once('SIGINT', end);
  await served.closed;
  await served.close();
}

export async function mcpRelayCommand(o: { connect: string; key?: string }): Promise<void> {
  if (!o.key) throw new UsageError('no API key: pass --key or set COUNTERSIGN_KEY');
  const key = o.key;
  await serveStdio((transport) => startRelay({ url: o.connect, key }, transport));
}

/**
 * MCP clients start commands in a directory of their own choosing: the config
 * is read as the gateway reads it when started from the config's directory,
 * so its relative paths (the store, the audit keys) name the same files.
 */
export async function mcpLocalCommand(o: { config: string; key?: string }): Promise<void> {
  if (!o.key) throw new UsageError('no API key: pass --key or set COUNTERSIGN_KEY');
  const file = resolve(o.config);
  process.chdir(dirname(file));
  const config = loadConfig(file);
  const key = o.key;
  // The log goes to stderr, which MCP clients keep as the server's log.
  const logger = createLogger(config.log.level, 2);
  await serveStdio((transport) => startLocalMcp(config, transport, { key, configFile: file, logger }), logger);
}

function definitionText(d: ToolPinView['definition']): string {
  return [
    `    description  ${(d.description ?? '').split('\n').join('\n                 ')}`,
    `    annotations  ${JSON.stringify(d.annotations ?? {})}`,
    `    inputSchema  ${JSON.stringify(d.inputSchema)}`,
    ...(d.outputSchema ? [`    outputSchema ${JSON.stringify(d.outputSchema)}`] : []),
  ].join('\n');
}

function pinText(p: ToolPinView): string {
  const head = `${p.connection}__${p.tool}  ${p.state}  (pinned ${p.pinnedAt} by ${p.pinnedBy}, ${p.hash})`;
  if (!p.changed) return head;
  return [
    head,
    '  accepted definition:',
    definitionText(p.definition),
    `  changed definition, seen ${p.changed.seenAt} (${p.changed.hash}):`,
    definitionText(p.changed.definition),
    `  accept it with: countersign mcp accept ${p.connection} ${p.tool}`,
  ].join('\n');
}

export async function mcpToolsCommand(o: RemoteOptions & { connection?: string; changed?: boolean }): Promise<void> {
  if (!o.key) throw new UsageError('no API key: pass --key or set COUNTERSIGN_KEY');
  const pins = await createClient({ url: o.url, key: o.key }).mcpTools({ ...(o.connection ? { connection: o.connection } : {}), ...(o.changed ? { changed: true } : {}) });
  process.stdout.write(o.json ? `${JSON.stringify(pins, null, 2)}\n` : `${pins.length ? safe(pins.map(pinText).join('\n')) : 'No tools.'}\n`);
}

/** Accepts the change as `show` would display it now: the hash sent is the one fetched, so a newer change is refused. */
export async function mcpAcceptCommand(connection: string, tool: string, o: RemoteOptions): Promise<void> {
  if (!o.key) throw new UsageError('no API key: pass --key or set COUNTERSIGN_KEY');
  const cs = createClient({ url: o.url, key: o.key });
  const pin = (await cs.mcpTools({ connection })).find((p) => p.tool === tool);
  if (!pin) throw new UsageError(`no tool ${tool} has been seen on connection ${connection}`);
  if (!pin.changed) {
    process.stdout.write(safe(`${connection}__${tool} matches its pin (${pin.hash}); nothing to accept.\n`));
    return;
  }
  const accepted = await cs.acceptTool(connection, tool, pin.changed.hash);
  process.stdout.write(o.json ? `${JSON.stringify(accepted, null, 2)}\n` : safe(`Accepted the new definition of ${connection}__${tool} (${accepted.hash}).\n`));
}
