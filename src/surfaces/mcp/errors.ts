/**
 * Error codes → JSON-RPC errors, at the MCP surface only. Policy outcomes are
 * not errors here (they are tool results the model reads); these are calls
 * the gateway could not take at all. The stable code rides in `data.code`.
 */
import { ErrorCode as JsonRpc, McpError } from '@modelcontextprotocol/sdk/types.js';
import { isCountersignError, type ErrorCode } from '../../core/errors.ts';

const INVALID_PARAMS: ReadonlySet<ErrorCode> = new Set([
  'UNKNOWN_TOOL',
  'UNKNOWN_CONNECTION',
  'INVALID_INPUT',
  'INVALID_REQUEST',
  'INPUT_TOO_DEEP',
  'INPUT_UNPARSEABLE',
  'SQL_SETTING_REFUSED',
  'NOT_FOUND',
  'FORBIDDEN',
]);

/**
 * @example
 * throw toMcpError(new CountersignError('UNKNOWN_TOOL')); // McpError -32602, data { code: 'UNKNOWN_TOOL' }
 */
export function toMcpError(e: unknown, log: { error(obj: Record<string, unknown>, msg: string): void }): McpError {
  if (e instanceof McpError) return e;
  if (isCountersignError(e)) {
    const code = INVALID_PARAMS.has(e.code) ? JsonRpc.InvalidParams : JsonRpc.InternalError;
    if (code === JsonRpc.InternalError) log.error({ code: e.code, ...e.details }, e.message);
    const requestId = typeof e.details['requestId'] === 'string' ? { requestId: e.details['requestId'] } : {};
    return new McpError(code, e.message, { code: e.code, ...requestId });
  }
  log.error({ err: e }, 'unhandled error in an MCP call');
  return new McpError(JsonRpc.InternalError, 'an unexpected error occurred; nothing ran because of it', { code: 'INTERNAL' });
}
