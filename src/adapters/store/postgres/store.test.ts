/**
 * The store contract suites against PostgreSQL: one throw-away database per
 * file, migrated once, emptied before each test so no test sees another's rows.
 */
import { afterAll, beforeAll, describe } from 'vitest';
import type { OutboxRouter } from '../../../core/outbox.ts';
import { storeContract } from '../../../../test/contract/store.ts';
import { treeContract } from '../../../../test/contract/store-tree.ts';
import { searchContract } from '../../../../test/contract/store-search.ts';
import { sessionContract } from '../../../../test/contract/store-sessions.ts';
import { outboxContract } from '../../../../test/contract/store-outbox.ts';
import { createTestDatabase } from '../../../../test/support/postgres.ts';
import { createPostgresStore } from './index.ts';
import { emptyStore } from './test-support.ts';

const db = await createTestDatabase();

describe.skipIf(!db)('postgres store', () => {
  beforeAll(async () => {
    // Migrated once; each test then starts from empty tables.
    await (await createPostgresStore({ url: db!.url })).close();
  });
  afterAll(() => db?.drop());

  async function fresh(outbox?: OutboxRouter) {
    await emptyStore(db!.url);
    const store = await createPostgresStore({ url: db!.url, poolSize: 4, ...(outbox ? { outbox } : {}) });
    return { store, cleanup: () => store.close() };
  }

  storeContract('postgres store', () => fresh());
  treeContract('postgres store', () => fresh());
  searchContract('postgres store', () => fresh());
  sessionContract('postgres store', () => fresh());
  outboxContract('postgres store', (router) => fresh(router));
});

