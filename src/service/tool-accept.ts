/**
 * Accept a changed tool definition: a human the connection names as an
 * acceptor (`pinning.acceptors`), having read the new definition, makes it
 * the pin. From then on calls to the tool are judged by the policy
 * alone again. The act is audited with who accepted which hash.
 */
import { assertMayAccept } from '../core/mcp/acceptors.ts';
import { acceptPin, type ToolPin } from '../core/mcp/pins.ts';
import type { Principal } from '../core/principal.ts';
import type { Deps } from './deps.ts';
import { catalogOf } from './tool-sync.ts';

/**
 * @example
 * await acceptToolChange(deps, alice, { connection: 'fs', tool: 'write_file', hash: 'sha256:…' });
 */
export async function acceptToolChange(
  deps: Pick<Deps, 'connections' | 'store' | 'clock' | 'log'>,
  by: Principal,
  cmd: { connection: string; tool: string; hash: string },
): Promise<ToolPin> {
  const catalog = catalogOf(deps, cmd.connection);
  assertMayAccept(catalog.acceptors, by, cmd.connection);
  const at = deps.clock.now().toISOString();
  const pin = await deps.store.mutateToolPins(cmd.connection, (current) => acceptPin(current.find((p) => p.tool === cmd.tool), cmd.hash, by.id, at));
  catalog.setPins(await deps.store.toolPins(cmd.connection));
  deps.log.info({ connection: cmd.connection, tool: cmd.tool, hash: cmd.hash, by: by.id }, 'changed MCP tool definition accepted');
  return pin;
}
