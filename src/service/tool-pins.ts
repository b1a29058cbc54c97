/** Read the tool pins (for humans): what was accepted, and what changed since. */
import { CountersignError } from '../core/errors.ts';
import type { ToolPin } from '../core/mcp/pins.ts';
import type { Principal } from '../core/principal.ts';
import type { Deps } from './deps.ts';

/**
 * @example
 * const changed = (await listToolPins(deps, alice, {})).filter((p) => p.changed);
 */
export async function listToolPins(deps: Pick<Deps, 'store'>, viewer: Principal, opts: { connection?: string }): Promise<ToolPin[]> {
  if (viewer.kind !== 'human') throw new CountersignError('FORBIDDEN', 'tool pins are for humans to review');
  return deps.store.toolPins(opts.connection);
}
