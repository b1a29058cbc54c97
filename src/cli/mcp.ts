/**
 * `countersign mcp tools` and `countersign mcp accept`: a human reviews and
 * accepts changed tool definitions over the gateway's API. (Serving MCP on
 * stdio is in mcp-serve.ts: it loads the gateway, which these two need not.)
 */
import { createClient, type ToolPinView } from '../surfaces/sdk/client.ts';
import { safe, safeJson } from './output.ts';
import { UsageError, type RemoteOptions } from './requests.ts';
import type { CliIo } from './io.ts';

function definitionText(d: ToolPinView['definition']): string {
  return [
    // Quoted, so a title that reads "(none)" is not taken for none: the hash covers it, and models are shown it.
    `    title        ${d.title === undefined ? '(none)' : JSON.stringify(d.title)}`,
    // Each further line behind a gutter: the upstream's text cannot pass for a line of ours (a second "accept it with").
    `    description  ${(d.description ?? '').replace(/\r\n?/g, '\n').split('\n').join('\n               │ ')}`,
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
    `  accept it with: countersign mcp accept ${p.connection} ${p.tool} --hash ${p.changed.hash}`,
  ].join('\n');
}

export async function mcpToolsCommand(o: RemoteOptions & { connection?: string; changed?: boolean }, io: CliIo): Promise<void> {
  if (!o.key) throw new UsageError('no API key: pass --key or set COUNTERSIGN_KEY');
  const pins = await createClient({ url: o.url, key: o.key }).mcpTools({ ...(o.connection ? { connection: o.connection } : {}), ...(o.changed ? { changed: true } : {}) });
  io.stdout.write(o.json ? `${safeJson(pins)}\n` : `${pins.length ? safe(pins.map(pinText).join('\n')) : 'No tools.'}\n`);
}

/**
 * Accepts the change the human read: `hash` is the one `mcp tools` showed them, and the gateway refuses it
 * (TOOL_DEFINITION_MISMATCH) if the upstream has changed the tool again since. Without it nothing is accepted: the
 * change seen now may not be the one read, and accepting it would lift the hold on a definition nobody reviewed.
 */
export async function mcpAcceptCommand(connection: string, tool: string, o: RemoteOptions & { hash?: string }, io: CliIo): Promise<void> {
  if (!o.key) throw new UsageError('no API key: pass --key or set COUNTERSIGN_KEY');
  const cs = createClient({ url: o.url, key: o.key });
  const pin = (await cs.mcpTools({ connection })).find((p) => p.tool === tool);
  if (!pin) throw new UsageError(`no tool ${tool} has been seen on connection ${connection}`);
  if (!pin.changed) {
    io.stdout.write(safe(`${connection}__${tool} matches its pin (${pin.hash}); nothing to accept.\n`));
    return;
  }
  if (o.hash === undefined) {
    throw new UsageError(
      safe(`name the definition you read: --hash <sha256:…> as \`countersign mcp tools --changed --connection ${connection}\` shows it (the change seen now is ${pin.changed.hash}); nothing was accepted`),
    );
  }
  const accepted = await cs.acceptTool(connection, tool, o.hash);
  io.stdout.write(o.json ? `${safeJson(accepted)}\n` : safe(`Accepted the new definition of ${connection}__${tool} (${accepted.hash}).\n`));
}
