/** The `tool_pins` table: one row per (connection, tool), definitions kept as JSON. */
import type Database from 'better-sqlite3';
import type { ToolPin } from '../../../core/mcp/pins.ts';
import { pinOf, type PinRow } from '../rows.ts';

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
  return {
    read(connection?: string): ToolPin[] {
      return ((connection === undefined ? q.all.all() : q.of.all(connection)) as PinRow[]).map(pinOf);
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
