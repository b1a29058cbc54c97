/**
 * Tool pinning, the defence against "rug pulls": an upstream MCP server that
 * changes what a tool says or does after it was trusted. The first definition
 * seen is pinned; a later, different one is recorded as a change (and audited)
 * but not trusted until a human accepts it. Pure: the store keeps the pins,
 * these functions say what the next pins and audit events are.
 */
import type { AuditDraft } from '../audit.ts';
import { CountersignError } from '../errors.ts';
import { toolHash, type ToolDefinition } from './tool.ts';

export interface ToolPin {
  readonly connection: string;
  readonly tool: string;
  /** The accepted definition and its hash. */
  readonly hash: string;
  readonly definition: ToolDefinition;
  readonly pinnedAt: string;
  /** `first-sight`, or the human who accepted it. */
  readonly pinnedBy: string;
  /** A definition seen since that differs from the accepted one; null when the upstream matches its pin. */
  readonly changed: { readonly hash: string; readonly definition: ToolDefinition; readonly seenAt: string } | null;
}

/** What a change to the pins of one connection writes: the rows that change and their audit events. */
export interface PinChange<T> {
  readonly result: T;
  readonly next: readonly ToolPin[];
  readonly audit: readonly AuditDraft[];
}

/**
 * Compares what an upstream lists now with its pins: pins the tools seen for
 * the first time, records (once per new definition) a change, and clears a
 * change the upstream took back. Tools no longer listed keep their pins.
 *
 * @example
 * const { next, audit } = reconcilePins('fs', tools, pins, new Date().toISOString());
 */
export function reconcilePins(connection: string, current: readonly ToolDefinition[], pins: readonly ToolPin[], at: string): PinChange<readonly ToolPin[]> {
  const byTool = new Map(pins.map((p) => [p.tool, p]));
  const next: ToolPin[] = [];
  const audit: AuditDraft[] = [];
  const event = (type: string, data: Record<string, unknown>): AuditDraft => ({ type, time: at, requestId: null, actor: null, data: { connection, ...data } });
  for (const def of current) {
    const hash = toolHash(def);
    const pin = byTool.get(def.name);
    if (!pin) {
      next.push({ connection, tool: def.name, hash, definition: def, pinnedAt: at, pinnedBy: 'first-sight', changed: null });
      audit.push(event('mcp.tool.pinned', { tool: def.name, hash }));
    } else if (pin.hash === hash) {
      if (pin.changed) {
        next.push({ ...pin, changed: null });
        audit.push(event('mcp.tool.reverted', { tool: def.name, hash, withdrawn: pin.changed.hash }));
      }
    } else if (pin.changed?.hash !== hash) {
      next.push({ ...pin, changed: { hash, definition: def, seenAt: at } });
      audit.push(event('mcp.tool.changed', { tool: def.name, pinnedHash: pin.hash, hash, pinned: pin.definition, seen: def }));
    }
  }
  const changedByTool = new Map(next.map((p) => [p.tool, p]));
  return { result: pins.filter((p) => !changedByTool.has(p.tool)).concat(next), next, audit };
}

/**
 * A human accepts the changed definition of one tool, named by the hash they
 * read, so a definition that changed again meanwhile is not accepted unseen.
 *
 * @example
 * acceptPin(pin, 'sha256:…', 'alice', now); // the changed definition becomes the pin
 */
export function acceptPin(pin: ToolPin | undefined, hash: string, by: string, at: string): PinChange<ToolPin> {
  if (!pin) throw new CountersignError('UNKNOWN_TOOL', 'no such tool has been seen on this connection');
  if (!pin.changed) {
    throw new CountersignError('TOOL_DEFINITION_MISMATCH', `the definition of ${pin.tool} matches its pin; there is no change to accept`);
  }
  if (pin.changed.hash !== hash) {
    throw new CountersignError('TOOL_DEFINITION_MISMATCH', `the definition of ${pin.tool} changed again since you read it (now ${pin.changed.hash}); read it again`);
  }
  const next: ToolPin = { ...pin, hash, definition: pin.changed.definition, pinnedAt: at, pinnedBy: by, changed: null };
  return {
    result: next,
    next: [next],
    audit: [{ type: 'mcp.tool.accepted', time: at, requestId: null, actor: by, data: { connection: pin.connection, tool: pin.tool, previousHash: pin.hash, hash } }],
  };
}
