/**
 * Rows both stores keep alike (the same columns on SQLite and PostgreSQL):
 * how each becomes a value of the core, one decoder per row, so a rule such
 * as "a damaged audit row is still returned as stored" holds on both; and the
 * one encoding of a request's record.
 */
import type { AuditEvent } from '../../core/audit.ts';
import type { ToolPin } from '../../core/mcp/pins.ts';
import type { ToolDefinition } from '../../core/mcp/tool.ts';
import type { OutboxDelivery } from '../../core/outbox.ts';
import type { RequestRecord } from '../../core/request.ts';

export type AuditRow = { seq: number; body: string; hash: string };
export type OutboxRow = { id: number; channel: string; event: string; request_id: string | null; payload: string; created_at: string; attempts: number; next_attempt_at: string; last_error: string | null };
export type PinRow = { connection: string; tool: string; hash: string; definition: string; pinned_at: string; pinned_by: string; changed: string | null };

/** An audit row as an event; a damaged row is still returned as stored, so the verifier can name it. */
export function auditEventOf(r: AuditRow): AuditEvent {
  let b: Omit<AuditEvent, 'body' | 'hash'>;
  try {
    b = JSON.parse(r.body) as Omit<AuditEvent, 'body' | 'hash'>;
  } catch {
    b = { seq: r.seq, time: '', type: '(unreadable)', requestId: null, actor: null, data: {}, prev: '' };
  }
  return { ...b, seq: r.seq, body: r.body, hash: r.hash };
}

export const deliveryOf = (r: OutboxRow): OutboxDelivery => ({
  id: String(r.id),
  channel: r.channel,
  event: r.event,
  requestId: r.request_id,
  payload: JSON.parse(r.payload) as Record<string, unknown>,
  createdAt: r.created_at,
  attempts: r.attempts,
  nextAttemptAt: r.next_attempt_at,
  lastError: r.last_error,
});

export const pinOf = (r: PinRow): ToolPin => ({
  connection: r.connection,
  tool: r.tool,
  hash: r.hash,
  definition: JSON.parse(r.definition) as ToolDefinition,
  pinnedAt: r.pinned_at,
  pinnedBy: r.pinned_by,
  changed: r.changed === null ? null : (JSON.parse(r.changed) as ToolPin['changed']),
});

/**
 * The JSON a request row keeps of its record: all of it but the reviews, which have their own rows. (A spread with
 * `reviews: undefined`, which JSON leaves out, copies faster than a rest pattern.)
 */
export function recordJson(r: RequestRecord): string {
  return JSON.stringify({ ...r, reviews: undefined });
}
