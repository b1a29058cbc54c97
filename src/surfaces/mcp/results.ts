/**
 * Requests as MCP tool results. The model reads these: a refusal or a wait
 * says why and what to do next in plain words, marked `isError` so a client
 * never takes it for the tool's own output. `_meta` carries the request id and
 * status for clients that act on them.
 */
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { RequestRecord } from '../../core/request.ts';
import { remainingApprovals } from '../../core/review.ts';
import { WAIT_TOOL } from '../../core/mcp/tool.ts';
import { approversOf } from '../../core/escalation.ts';

const meta = (r: RequestRecord) => ({ 'countersign/requestId': r.id, 'countersign/status': r.status });

function text(r: RequestRecord, message: string): CallToolResult {
  return { content: [{ type: 'text', text: message }], isError: true, _meta: meta(r) };
}

/** The upstream's own result, when the request ran as an MCP tool call. */
function toolResult(r: RequestRecord): CallToolResult | undefined {
  const out = r.result as { content?: unknown } | null;
  if (r.action.operation !== 'tools/call' || !out || !Array.isArray(out.content)) return undefined;
  return { ...(out as CallToolResult), _meta: { ...((out as CallToolResult)._meta ?? {}), ...meta(r) } };
}

/** What the model reads while a human has not decided yet. */
export function waitingMessage(r: RequestRecord): string {
  const needed = remainingApprovals(approversOf(r), r.reviews, r).reduce((n, x) => n + x.needed, 0);
  const state =
    r.status === 'pending'
      ? `is waiting for a human's approval (request ${r.id}; ${needed} approval${needed === 1 ? '' : 's'} still needed; expires ${r.expiresAt ?? 'never'})`
      : `was approved and is running now (request ${r.id})`;
  return [
    `This call ${state}. Nothing else is needed from you to ask for it: reviewers have been told.`,
    `To get the result, call the tool ${WAIT_TOOL} with {"requestId": "${r.id}"}, which waits for the decision and returns the tool's result;`,
    'or make this same call again later: it resumes the same request and is never submitted twice.',
  ].join(' ');
}

/**
 * @example
 * outcomeResult(record); // { content: [...], isError, _meta: { 'countersign/requestId': 'req_…' } }
 */
export function outcomeResult(r: RequestRecord): CallToolResult {
  switch (r.status) {
    case 'succeeded': {
      const own = toolResult(r);
      if (own) return own;
      return { content: [{ type: 'text', text: JSON.stringify(r.result) }], _meta: meta(r) };
    }
    case 'failed':
      return toolResult(r) ?? text(r, `The call ran and failed: ${r.error?.message ?? 'the target reported an error'} (request ${r.id}).`);
    case 'denied': {
      const by = r.error?.code === 'REVIEW_DENIED' ? 'a reviewer' : `the gateway's policy${r.decision.rules.length ? ` (rule ${r.decision.rules.join(', ')})` : ''}`;
      return text(r, `This call was denied by ${by}: ${r.error?.message ?? 'denied'}. It did not run; do not retry it unchanged (request ${r.id}).`);
    }
    case 'expired':
      return text(r, `No human decided on this call before it expired (request ${r.id}). It did not run. Make the call again if it is still needed.`);
    case 'cancelled':
      return text(r, `This call was withdrawn before a decision (request ${r.id}). It did not run.`);
    case 'pending':
    case 'approved':
    case 'executing':
      return text(r, waitingMessage(r));
  }
}
