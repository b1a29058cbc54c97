/**
 * Facts of an MCP tool call: the tool, its annotations and the arguments.
 * The annotations come from the upstream's own listing (pinned), never from
 * the agent; an absent hint takes the MCP spec's default, so a tool that says
 * nothing is treated as a write that may destroy and reaches the open world.
 */
import type { McpInput } from '../../../core/action.ts';
import { CountersignError } from '../../../core/errors.ts';
import { makeFacts, type Facts, type McpAnnotationFacts } from '../../../core/facts.ts';
import type { ToolAnnotations } from '../../../core/mcp/tool.ts';

/** MCP spec (2025-06-18, Tool annotations): readOnly false, destructive true, idempotent false, openWorld true. */
export function annotationFacts(a: ToolAnnotations = {}): McpAnnotationFacts {
  const readOnly = a.readOnlyHint === true;
  return {
    readOnlyHint: readOnly,
    // Meaningful only for a tool that writes (spec): a read-only tool destroys nothing.
    destructiveHint: !readOnly && a.destructiveHint !== false,
    idempotentHint: a.idempotentHint === true,
    openWorldHint: a.openWorldHint !== false,
  };
}

/**
 * @example
 * deriveMcpFacts('fs', { tool: 'read_file', arguments: { path: '/x' } }, { annotations: { readOnlyHint: true }, changed: false });
 */
export function deriveMcpFacts(connection: string, input: McpInput, tool: { annotations?: ToolAnnotations; changed: boolean } | undefined): Facts {
  if (!tool) throw new CountersignError('UNKNOWN_TOOL', `${connection} offers no tool named ${JSON.stringify(input.tool).slice(0, 100)}`);
  const annotations = annotationFacts(tool.annotations);
  return makeFacts('mcp', {
    writes: !annotations.readOnlyHint,
    mcp: { tool: input.tool, annotations, arguments: input.arguments, toolChanged: tool.changed },
  });
}
