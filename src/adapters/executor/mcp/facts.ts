/**
 * Facts of an MCP tool call: the tool, its annotations and the arguments.
 * The annotations come from the upstream's own listing (pinned), never from
 * the agent; an absent hint takes the MCP spec's default, so a tool that says
 * nothing is treated as a write that may destroy and reaches the open world.
 */
import type { McpInput } from '../../../core/action.ts';
import { CountersignError } from '../../../core/errors.ts';
import { makeFacts, type Facts, type McpAnnotationFacts } from '../../../core/facts.ts';
import { foldKey, jsonKeyClash, protoKeyAt } from '../../../core/json-keys.ts';
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
 * The stricter of two sets of hints, one by one: a tool that writes, destroys,
 * repeats unsafely or reaches the open world by either account does so.
 *
 * @example
 * strictestAnnotations(annotationFacts({ readOnlyHint: false }), annotationFacts({ readOnlyHint: true })).readOnlyHint; // false
 */
export function strictestAnnotations(a: McpAnnotationFacts, b: McpAnnotationFacts): McpAnnotationFacts {
  return {
    readOnlyHint: a.readOnlyHint && b.readOnlyHint,
    destructiveHint: a.destructiveHint || b.destructiveHint,
    idempotentHint: a.idempotentHint && b.idempotentHint,
    openWorldHint: a.openWorldHint || b.openWorldHint,
  };
}

/**
 * `pinnedAnnotations`: those of the accepted definition, given while the
 * upstream shows another one; policy then sees the stricter hint of the two,
 * so an unaccepted change can never make a tool look safer than it was.
 *
 * @example
 * deriveMcpFacts('fs', { tool: 'read_file', arguments: { path: '/x' } }, { annotations: { readOnlyHint: true }, changed: false, hash: 'sha256:…' });
 */
export function deriveMcpFacts(
  connection: string,
  input: McpInput,
  tool: { annotations?: ToolAnnotations; changed: boolean; hash: string; pinnedAnnotations?: ToolAnnotations } | undefined,
): Facts {
  if (!tool) throw new CountersignError('UNKNOWN_TOOL', `${connection} offers no tool named ${JSON.stringify(input.tool).slice(0, 100)}`);
  // Go's encoding/json (and .NET, Jackson) match argument keys in any case, the last match winning: policy would judge another value.
  const clash = jsonKeyClash(JSON.stringify(input.arguments), foldKey);
  if (clash) throw new CountersignError('INPUT_UNPARSEABLE', `arguments have keys ${JSON.stringify(clash.first.slice(0, 100))} and ${JSON.stringify(clash.second.slice(0, 100))} in one object: upstreams that match keys in any case read them as one`);
  const proto = protoKeyAt(input.arguments, 'arguments');
  if (proto !== null) throw new CountersignError('INPUT_UNPARSEABLE', `arguments have a key "__proto__" at ${proto.slice(0, 200)}: an upstream in JavaScript that copies the object by assignment reads what it holds as the object's own values`);
  const live = annotationFacts(tool.annotations);
  const annotations = tool.pinnedAnnotations ? strictestAnnotations(live, annotationFacts(tool.pinnedAnnotations)) : live;
  return makeFacts('mcp', {
    writes: !annotations.readOnlyHint,
    mcp: { tool: input.tool, annotations, arguments: input.arguments, toolChanged: tool.changed, definitionHash: tool.hash },
  });
}
