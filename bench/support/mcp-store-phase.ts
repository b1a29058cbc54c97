/**
 * The MCP bench's store phase: what the two writes of an allowed tool call
 * cost on their own, in this process, on a SQLite file like the gateway's —
 * the request with its `request.submitted` event (whose decision says allow),
 * committed before the upstream is called (fail closed), then the outcome
 * with `request.succeeded`. One write at a time, as with one call in flight.
 */
import { join } from 'node:path';
import { createSqliteStore } from '../../src/adapters/store/sqlite/index.ts';
import type { AuditDraft } from '../../src/core/audit.ts';
import { makeFacts } from '../../src/core/facts.ts';
import { transition, type RequestRecord } from '../../src/core/request.ts';

export interface StoreTimes {
  /** Milliseconds of each write, sorted. */
  readonly record: number[];
  readonly outcome: number[];
}

/** A request as the gateway records an allowed MCP call of `greet`. */
function allowedCall(id: string, at: string): RequestRecord {
  const input = { tool: 'greet', arguments: { name: id } };
  const annotations = { readOnlyHint: true, destructiveHint: false, idempotentHint: false, openWorldHint: false };
  return {
    id,
    status: 'executing',
    principal: { id: 'bench-bot', kind: 'agent', actsFor: null, groups: [], email: null },
    action: { connection: 'up', operation: 'tools/call', input, reason: 'MCP call of up__greet' },
    connection: { name: 'up', kind: 'mcp', tags: {} },
    facts: makeFacts('mcp', { writes: false, mcp: { tool: 'greet', annotations, arguments: input.arguments, toolChanged: false, definitionHash: `sha256:${'a'.repeat(64)}` } }),
    digest: `sha256:${'b'.repeat(64)}`,
    decision: { effect: 'allow', rules: ['reads'], approvers: [], message: null, policyHash: `sha256:${'c'.repeat(64)}`, ttlSeconds: null, errors: [] },
    createdAt: at,
    updatedAt: at,
    expiresAt: null,
    reviews: [],
    context: { surface: 'mcp', transport: 'stdio' },
    result: null,
    error: null,
    runDeadline: at,
    version: 1,
  };
}

/**
 * @example
 * const t = await timeStoreWrites('/tmp/dir', 5); // t.record[t.record.length >> 1]: p50 ms
 */
export async function timeStoreWrites(dir: string, seconds: number): Promise<StoreTimes> {
  const store = createSqliteStore({ path: join(dir, 'store-phase.db') });
  const times: StoreTimes = { record: [], outcome: [] };
  try {
    for (let n = 0, end = performance.now() + seconds * 1000; performance.now() < end; n++) {
      const at = new Date().toISOString();
      const r = allowedCall(`req_${n}`, at);
      const submitted: AuditDraft = { type: 'request.submitted', time: at, requestId: r.id, actor: r.principal.id, data: { action: r.action, facts: r.facts, decision: r.decision, context: r.context } };
      let t = performance.now();
      await store.insertRequest(r, [submitted]);
      times.record.push(performance.now() - t);
      t = performance.now();
      await store.mutateRequest(r.id, (current) => {
        const next = transition(current, 'succeeded', new Date(), { runDeadline: null, result: { content: [{ type: 'text', text: `hello, ${r.id}` }] } });
        return { result: next, next, audit: [{ type: 'request.succeeded', time: at, requestId: r.id, actor: null, data: { summary: { isError: false, items: 1, bytes: 40 } } }] };
      });
      times.outcome.push(performance.now() - t);
    }
  } finally {
    await store.close();
  }
  times.record.sort((a, b) => a - b);
  times.outcome.sort((a, b) => a - b);
  return times;
}
