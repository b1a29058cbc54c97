/** The tools the gateway offers over MCP: each upstream tool under its namespaced name, and countersign_wait. */
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { namespacedTool, WAIT_TOOL } from '../../core/mcp/tool.ts';
import type { OfferedTool } from '../../service/tool-list.ts';

export const WAIT_TOOL_DEFINITION: Tool = {
  name: WAIT_TOOL,
  title: 'Wait for a human decision',
  description:
    'Waits for the decision on a tool call that Countersign held for human approval, then returns that call\'s result ' +
    '(or says it was denied or expired). Use the requestId from the held call\'s message. If no decision comes within ' +
    'the wait, it says so; call it again to keep waiting.',
  inputSchema: {
    type: 'object',
    properties: { requestId: { type: 'string', description: 'The request id the held call returned (req_…).' } },
    required: ['requestId'],
    additionalProperties: false,
  },
  annotations: { readOnlyHint: true, openWorldHint: false },
};

/**
 * @example
 * toMcpTool({ connection: 'fs', definition: { name: 'read_file', inputSchema: { type: 'object' } }, changed: false }).name; // 'fs__read_file'
 */
export function toMcpTool(t: OfferedTool): Tool {
  const d = t.definition;
  return {
    name: namespacedTool(t.connection, d.name),
    ...(d.title !== undefined ? { title: d.title } : {}),
    ...(d.description !== undefined ? { description: d.description } : {}),
    inputSchema: d.inputSchema as Tool['inputSchema'],
    ...(d.outputSchema !== undefined ? { outputSchema: d.outputSchema as Tool['outputSchema'] } : {}),
    ...(d.annotations !== undefined ? { annotations: d.annotations } : {}),
  };
}
