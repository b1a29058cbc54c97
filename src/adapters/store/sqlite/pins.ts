/** The `tool_pins` table: one row per (connection, tool), definitions kept as JSON. */
import type Database from 'better-sqlite3';
import type { ToolPin } from '../../../core/mcp/pins.ts';
import type { ToolDefinition } from '../../../core/mcp/tool.ts';

type PinRow = { connection: string; tool: string; hash: string; definition: string; pinned_at: string; pinned_by: string; changed: string | null };

export function createPinTable(db: Database.Database) {
  const q = {
    all: db.prepare('SELECT * FROM tool_pins ORDER BY connection, tool'),
    of: db.prepare('SELECT * FROM tool_pins WHERE connection = ? ORDER BY tool'),
    upsert: db.prepare(
      `INSERT INTO tool_pins (connection, tool, hash, definition, pinned_at, pinned_by, changed)
       VALUES (@connection, @tool, @hash, @definition, @pinned_at, @pinned_by, @changed)
       ON CONFLICT (connection, tool) DO UPDATE SET hash = excluded.hash, definition = excluded.definition,
         pinned_at = excluded.pinned_at, pinned_by = excluded.pinned_by, changed = excluded.changed`,
    ),
  };
  const fromRow = (r: PinRow): ToolPin => ({
    connection: r.connection,
    tool: r.tool,
    hash: r.hash,
    definition: JSON.parse(r.definition) as ToolDefinition,
    pinnedAt: r.pinned_at,
    pinnedBy: r.pinned_by,
    changed: r.changed === null ? null : (JSON.parse(r.changed) as ToolPin['changed']),
  });
  return {
    read(connection?: string): ToolPin[] {
      return ((connection === undefined ? q.all.all() : q.of.all(connection)) as PinRow[]).map(fromRow);
    },
    upsert(p: ToolPin): void {
      q.upsert.run({
        connection: p.connection,
        tool: p.tool,
        hash: p.hash,
        definition: JSON.stringify(p.definition),
        pinned_at: p.pinnedAt,
        pinned_by: p.pinnedBy,
        changed: p.changed === null ? null : JSON.stringify(p.changed),
      });
    },
  };
}
