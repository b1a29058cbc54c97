/**
 * The composition root's local MCP half: `countersign mcp --config` builds
 * the gateway's dependencies (main.ts createDeps) in the process an MCP
 * client launches and serves MCP on the transport it is given.
 */
import type { Logger } from 'pino';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { Config } from './config/schema.ts';
import { CountersignError, isCountersignError } from './core/errors.ts';
import type { Principal } from './core/principal.ts';
import { createAuthenticator } from './service/authenticate.ts';
import { mcpConnections, reloadPins, watchTools } from './service/tool-sync.ts';
import { createGatewayMcpServer } from './surfaces/mcp/server.ts';
import { createDeps } from './main-deps.ts';
import { configGeneration } from './config/generation.ts';
import { CONFIG_GENERATION_KEY } from './service/config-in-force.ts';

/** How often `countersign mcp --config` reads the tool pins again (acceptances happen at the gateway). */
const PIN_RELOAD_MS = 2000;

export interface LocalMcpOptions {
  /** The agent's API key or token: the principal every call is made as. */
  readonly key: string;
  /** The config file's path, recorded with a policy change. */
  readonly configFile: string;
  readonly logger: Logger;
  /** Seconds between progress notifications of a held call. */
  readonly progressEverySeconds?: number;
}

/**
 * `countersign mcp --config`: the gateway's MCP side in the process an MCP
 * client launches. This process opens the store and the upstreams of the
 * config and serves MCP on the transport it is given (stdio in the CLI), so a
 * tool call crosses no HTTP hop on the way in. It joins the gateway that
 * serves the same config: it opens that gateway's store and audit key and
 * creates neither, holds no signing key, and serves only while its policy and
 * its principals are the ones that gateway runs (checked at start and before
 * every request, with the key authenticated again each time). Reviews, approved calls,
 * deliveries, sweeps and checkpoints stay with the gateway.
 *
 * @example
 * const local = await startLocalMcp(loadConfig('countersign.yaml'), new StdioServerTransport(), { key, configFile, logger });
 * await local.closed;
 */
export async function startLocalMcp(config: Config, transport: Transport, opts: LocalMcpOptions): Promise<{ closed: Promise<void>; close(): Promise<void> }> {
  const joined = await createDeps(config, { logger: opts.logger, configFile: opts.configFile, joinGateway: true }).catch((e: unknown) => {
    if (!isCountersignError(e, 'CONFIG_INVALID')) throw e;
    throw new CountersignError(
      'CONFIG_INVALID',
      `${e.message}: countersign mcp --config joins the gateway that serves this config and opens what it made; start that gateway first (relative paths in the config are read from the config's own directory)`,
    );
  });
  const authenticate = createAuthenticator(joined);
  const generation = configGeneration(config, joined.policy().hash);
  /** The principal as it stands now, under the policy the gateway runs now. */
  const recheck = async (): Promise<Principal> => {
    const principal = await authenticate(opts.key, { surface: 'mcp-stdio' });
    const [inForce, generationInForce] = await Promise.all([joined.store.getMeta('policy.hash'), joined.store.getMeta(CONFIG_GENERATION_KEY)]);
    if (inForce !== joined.policy().hash) {
      throw new CountersignError(
        'POLICY_NOT_IN_FORCE',
        `the policy of ${opts.configFile} (${joined.policy().hash}) is not the one the gateway serving its store runs (${inForce ?? 'none yet: start the gateway'}); run the config that gateway runs`,
      );
    }
    // The generation too: principals (a key revoked, a group changed) decide as much as the policy does.
    if (generationInForce !== generation) {
      throw new CountersignError(
        'POLICY_NOT_IN_FORCE',
        `the config of ${opts.configFile} (its policy, principals, roles, identity or how its connections are judged) is not the one the gateway serving its store runs; run the config that gateway runs`,
      );
    }
    return principal;
  };
  try {
    const principal = await recheck();
    await watchTools(joined);
    // Acceptances happen at the gateway: pins are read again, so an accepted tool is not held here for long.
    const pinReload = setInterval(() => {
      for (const name of mcpConnections(joined)) void reloadPins(joined, name);
    }, PIN_RELOAD_MS);
    pinReload.unref();
    const running = new Set<Promise<unknown>>();
    const server = createGatewayMcpServer(joined, principal, {
      context: { transport: 'stdio' },
      recheck,
      track: (work) => {
        const done: Promise<unknown> = work.catch(() => {}).finally(() => running.delete(done));
        running.add(done);
      },
      ...(opts.progressEverySeconds !== undefined ? { progressEverySeconds: opts.progressEverySeconds } : {}),
    });
    const closed = new Promise<void>((resolve) => {
      server.onclose = () => resolve();
    });
    await server.connect(transport);
    return {
      closed,
      async close() {
        clearInterval(pinReload);
        // Closing the server ends the waits; a call already running upstream finishes, and its outcome is recorded.
        await server.close();
        await Promise.all(running);
        await joined.close();
      },
    };
  } catch (e) {
    await joined.close();
    throw e;
  }
}
