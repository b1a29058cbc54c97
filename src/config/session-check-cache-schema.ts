/**
 * A postgres connection's `sessionCheckCache:` option (README "Session check
 * cache"): off by default. `true` or `{ schema }` caches the wire listener's
 * session check verdict behind the DDL counter the operator installed in that
 * schema (`countersign` unless named) with `countersign connections
 * install-ddl-epoch`.
 */
import { z } from 'zod';

export const sessionCheckCacheSchema = z
  .union([
    z.literal(false),
    z.literal(true).transform(() => ({ schema: 'countersign' })),
    z.strictObject({ schema: z.string().regex(/^[a-z_][a-z0-9_$]*$/, 'a lower-case schema name').default('countersign') }),
  ])
  .default(false);
