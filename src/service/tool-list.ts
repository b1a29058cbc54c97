/**
 * The tools an agent is offered: every MCP connection's tools, each as its
 * upstream defines it — except a tool whose definition changed and is not yet
 * accepted, which is shown as accepted (its pin), so a changed description
 * never reaches the model unreviewed. Calls to it are held by the policy.
 */
import type { ToolDefinition } from '../core/mcp/tool.ts';
import type { Deps } from './deps.ts';
import { catalogOf, mcpConnections, syncTools } from './tool-sync.ts';

export interface OfferedTool {
  readonly connection: string;
  readonly definition: ToolDefinition;
  /** The upstream now shows another definition than the accepted one. */
  readonly changed: boolean;
}

/**
 * @example
 * const tools = await listOfferedTools(deps, { refresh: true });
 */
export async function listOfferedTools(deps: Pick<Deps, 'connections' | 'store' | 'clock' | 'log'>, opts: { refresh: boolean }): Promise<OfferedTool[]> {
  const names = mcpConnections(deps);
  if (opts.refresh) {
    await Promise.all(
      names.map((name) =>
        // An upstream that cannot be listed now keeps its last listing; its calls fail on their own.
        syncTools(deps, name).catch((e: unknown) => deps.log.warn({ connection: name, err: e instanceof Error ? e.message : String(e) }, 'listing an MCP upstream failed')),
      ),
    );
  }
  return names.flatMap((connection) => {
    const catalog = catalogOf(deps, connection);
    const pins = new Map(catalog.pins().map((p) => [p.tool, p]));
    return catalog.tools().map((current): OfferedTool => {
      const pin = pins.get(current.name);
      const changed = !pin || pin.changed !== null;
      return { connection, definition: pin && changed ? pin.definition : current, changed };
    });
  });
}
