/**
 * A postgres connection's `undo:` option (README "Undo"): on by default with
 * `maxRows: 1000`; an approved UPDATE or DELETE that would change more rows
 * is refused, nothing changed. `false` turns undo off for the connection.
 */
import { z } from 'zod';

/**
 * A policy rule's `undo: false`: an action the rule allows or holds runs
 * without a before-image (so no row limit either), when every matching rule of
 * the deciding effect says so (README "Undo").
 */
export const ruleUndoSchema = z.literal(false);

export const undoSchema = z
  .union([z.literal(false), z.literal(true).transform(() => ({})), z.strictObject({ maxRows: z.number().int().min(0).max(100_000).optional() })])
  .default({});
