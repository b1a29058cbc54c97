/** The `tool_pins` table in PostgreSQL: one row per (connection, tool), definitions kept as JSON text. */
import type { ToolPin } from '../../../core/mcp/pins.ts';
import { pinOf, type PinRow } from '../rows.ts';
import type { Run } from './pool.ts';

const ALL = { name: 'cs_pins_all', text: 'SELECT * FROM tool_pins ORDER BY connection, tool' };
const OF = { name: 'cs_pins_of', text: 'SELECT * FROM tool_pins WHERE connection = $1 ORDER BY tool' };
/** Under the write transaction's lock on the audit head, which every pin change takes first. */
const OF_FOR_UPDATE = { name: 'cs_pins_of_for_update', text: 'SELECT * FROM tool_pins WHERE connection = $1 ORDER BY tool FOR UPDATE' };
const UPSERT = {
  name: 'cs_pins_upsert',
  text: `INSERT INTO tool_pins (connection, tool, hash, definition, pinned_at, pinned_by, changed)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (connection, tool) DO UPDATE SET hash = excluded.hash, definition = excluded.definition,
           pinned_at = excluded.pinned_at, pinned_by = excluded.pinned_by, changed = excluded.changed`,
};

export const pins = {
  async read(run: Run, connection?: string, forUpdate = false): Promise<ToolPin[]> {
    const { rows } = connection === undefined ? await run<PinRow>(ALL) : await run<PinRow>(forUpdate ? OF_FOR_UPDATE : OF, [connection]);
    return rows.map(pinOf);
  },
  async upsert(run: Run, p: ToolPin): Promise<void> {
    await run(UPSERT, [p.connection, p.tool, p.hash, JSON.stringify(p.definition), p.pinnedAt, p.pinnedBy, p.changed === null ? null : JSON.stringify(p.changed)]);
  },
};
