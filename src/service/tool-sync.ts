/**
 * Tool sync: list an MCP connection's tools again and compare them with their
 * pins. New tools are pinned, changed ones recorded (an audit event each), and
 * the catalog learns the pins so facts say which tools changed.
 */
import { CountersignError } from '../core/errors.ts';
import { reconcilePins, type ToolPin } from '../core/mcp/pins.ts';
import type { ToolCatalog } from '../core/ports.ts';
import type { Deps } from './deps.ts';

export function catalogOf(deps: Pick<Deps, 'connections'>, connection: string): ToolCatalog {
  const catalog = deps.connections.get(connection)?.catalog;
  if (!catalog) throw new CountersignError('UNKNOWN_CONNECTION', `no mcp connection named ${JSON.stringify(connection).slice(0, 80)}`);
  return catalog;
}

/** Names of the connections that have a tool catalog (kind mcp). */
export function mcpConnections(deps: Pick<Deps, 'connections'>): string[] {
  return deps.connections
    .list()
    .filter((c) => deps.connections.get(c.name)?.catalog)
    .map((c) => c.name);
}

/**
 * Gives the catalog the pins as stored, before its first listing (so a known
 * tool is not taken for a changed one). Pins that cannot be read are none:
 * the catalog forgets the ones it had, so every tool of the connection counts
 * as changed (held or refused as `pinning.onChange` says) until they can be
 * read again; a stale pin is never taken for an accepted one. Then it throws.
 */
export async function loadPins(deps: Pick<Deps, 'connections' | 'store'>, connection: string): Promise<void> {
  const catalog = catalogOf(deps, connection);
  let pins: readonly ToolPin[];
  try {
    pins = await deps.store.toolPins(connection);
  } catch (e) {
    catalog.setPins([]);
    throw e;
  }
  catalog.setPins(pins);
}

/**
 * Reads the pins again where acceptances happen in another process
 * (`countersign mcp --config`): a failure is logged with its stack, and
 * leaves the connection's tools unaccepted (see loadPins).
 *
 * @example
 * setInterval(() => void reloadPins(deps, 'fs'), 2000);
 */
export async function reloadPins(deps: Pick<Deps, 'connections' | 'store' | 'log'>, connection: string): Promise<void> {
  await loadPins(deps, connection).catch((e: unknown) =>
    deps.log.error({ connection, err: e }, 'the MCP tool pins could not be read: every tool of this connection counts as changed until they can'),
  );
}

/**
 * @example
 * const pins = await syncTools(deps, 'fs'); // throws UPSTREAM_UNAVAILABLE when the server cannot be listed
 */
export async function syncTools(deps: Pick<Deps, 'connections' | 'store' | 'clock' | 'log'>, connection: string): Promise<readonly ToolPin[]> {
  const catalog = catalogOf(deps, connection);
  const tools = await catalog.refresh();
  const at = deps.clock.now().toISOString();
  // Most listings change nothing: a read settles that, and only a change takes the write lock (and is read again under it).
  let pins: readonly ToolPin[];
  try {
    const stored = await deps.store.toolPins(connection);
    const unchanged = reconcilePins(connection, tools, stored, at).next.length === 0;
    pins = unchanged ? stored : await deps.store.mutateToolPins(connection, (current) => reconcilePins(connection, tools, current, at));
  } catch (e) {
    catalog.setPins([]); // as loadPins: pins that cannot be read accept nothing
    throw e;
  }
  catalog.setPins(pins);
  for (const p of pins) {
    if (p.changed?.seenAt === at) deps.log.warn({ connection, tool: p.tool, pinned: p.hash, seen: p.changed.hash }, 'an MCP tool definition changed since it was pinned');
  }
  return pins;
}

/**
 * Lists every MCP upstream's tools and checks them against their pins, and
 * does so again whenever an upstream says its list changed. An upstream that
 * cannot be reached now does not stop the start: it is listed again on the
 * next tools/list, and its calls fail with UPSTREAM_UNAVAILABLE meanwhile.
 *
 * @example
 * await watchTools(deps); // at start, before anything derives MCP facts
 */
export async function watchTools(deps: Pick<Deps, 'connections' | 'store' | 'clock' | 'log'>): Promise<void> {
  await Promise.all(
    mcpConnections(deps).map(async (name) => {
      const warn = (e: unknown) => deps.log.warn({ connection: name, err: e }, 'listing an MCP upstream failed');
      await loadPins(deps, name);
      // One sync at a time, and at most one more after it for whatever notifications came meanwhile: a server that
      // floods list_changed must not make a pending sync (and then a store read) of each one.
      let running = false;
      let again = false;
      const sync = (): void => {
        if (running) {
          again = true;
          return;
        }
        running = true;
        void syncTools(deps, name)
          .catch(warn)
          .finally(() => {
            running = false;
            if (again) {
              again = false;
              sync();
            }
          });
      };
      deps.connections.get(name)?.catalog?.onListChanged(sync);
      await syncTools(deps, name).catch(warn);
    }),
  );
}
