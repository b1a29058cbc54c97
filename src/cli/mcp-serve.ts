/**
 * `countersign mcp` without a subcommand: an MCP server on stdio (what an MCP
 * client launches) that relays to a gateway (--connect) or runs the gateway's
 * MCP side in this process against a config (--config).
 */
import { dirname, resolve } from 'node:path';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { Logger } from 'pino';
import { exitOnCrash } from './crash.ts';
import { UsageError } from './usage-error.ts';

// Each mode imports what it runs when it runs: a relay (--connect) loads no gateway, the gateway's MCP side
// (--config) no relay client.

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
  const { startRelay } = await import('../surfaces/mcp/relay.ts');
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
  const [{ loadConfig }, { createLogger }, { heldSecrets }, { startLocalMcp }] = await Promise.all([import('../config/load.ts'), import('../adapters/logger.ts'), import('../config/held-secrets.ts'), import('../main-mcp.ts')]);
  const config = loadConfig(file);
  const key = o.key;
  // The log goes to stderr, which MCP clients keep as the server's log.
  const logger = createLogger(config.log.level, 2, heldSecrets(config));
  await serveStdio((transport) => startLocalMcp(config, transport, { key, configFile: file, logger }), logger);
}
