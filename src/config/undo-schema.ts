/**
 * A postgres connection's `undo:` option (README "Undo"): on by default with
 * `maxRows: 1000`; an approved UPDATE or DELETE that would change more rows
 * is refused, nothing changed. `false` turns undo off for the connection.
 */
import { z } from 'zod';

export const undoSchema = z
  .union([z.literal(false), z.literal(true).transform(() => ({})), z.strictObject({ maxRows: z.number().int().min(0).max(100_000).optional() })])
  .default({});
