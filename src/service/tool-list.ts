/**
 * The tools an agent is offered: every MCP connection's tools, each as its
 * upstream defines it — except a tool whose definition changed and is not yet
 * accepted, which is shown as accepted (its pin), so a changed description
 * never reaches the model unreviewed. Calls to it are held by the policy.
 * A tool the policy denies this principal whatever the arguments (a rule that
 * reads nothing else denies it, or no rule could let it through) is left out:
 * the model is not offered what it can never use.
 */
import { OPERATION_BY_KIND, parseInput, type Action } from '../core/action.ts';
import type { ToolDefinition } from '../core/mcp/tool.ts';
import { deniesAll } from '../core/policy/reach.ts';
import { policyVariables, toolFixedPaths } from '../core/policy/variables.ts';
import type { Principal } from '../core/principal.ts';
import type { Deps } from './deps.ts';
import { catalogOf, mcpConnections, syncTools } from './tool-sync.ts';

export interface OfferedTool {
  readonly connection: string;
  readonly definition: ToolDefinition;
  /** The upstream now shows another definition than the accepted one. */
  readonly changed: boolean;
}

/** Whether policy denies `principal` every call of `tool`, whatever its arguments, reason or moment. */
function deniedOutright(deps: Pick<Deps, 'connections' | 'policy' | 'clock'>, principal: Principal, connection: string, tool: string): boolean {
  const handle = deps.connections.get(connection);
  if (!handle) return true;
  let input;
  let facts;
  try {
    input = parseInput(handle.info.kind, { tool, arguments: {} });
    facts = handle.facts(input);
  } catch {
    return false; // not for this list to judge: the call says what is wrong
  }
  const action: Action = { connection: handle.info.name, operation: OPERATION_BY_KIND[handle.info.kind], input, reason: '' };
  const vars = policyVariables(principal, action, handle.info, facts, { time: deps.clock.now(), request: {} });
  return deniesAll(deps.policy(), vars, toolFixedPaths(principal));
}

/**
 * @example
 * const tools = await listOfferedTools(deps, { refresh: true, principal });
 */
export async function listOfferedTools(
  deps: Pick<Deps, 'connections' | 'store' | 'clock' | 'log' | 'policy'>,
  opts: { refresh: boolean; principal: Principal },
): Promise<OfferedTool[]> {
  const names = mcpConnections(deps);
  if (opts.refresh) {
    await Promise.all(
      names.map((name) =>
        // An upstream that cannot be listed now keeps its last listing; its calls fail on their own.
        syncTools(deps, name).catch((e: unknown) => deps.log.warn({ connection: name, err: e }, 'listing an MCP upstream failed')),
      ),
    );
  }
  return names.flatMap((connection) => {
    const catalog = catalogOf(deps, connection);
    const pins = new Map(catalog.pins().map((p) => [p.tool, p]));
    return catalog
      .tools()
      .filter((current) => !deniedOutright(deps, opts.principal, connection, current.name))
      .map((current): OfferedTool => {
        const pin = pins.get(current.name);
        const changed = !pin || pin.changed !== null;
        return { connection, definition: pin && changed ? pin.definition : current, changed };
      });
  });
}
