/**
 * The composition root's store half: which store a config names, opened
 * with the adapter for it, and the checks that a store and its audit keys
 * belong to the config opening them, and the origin of the log it keeps.
 * The gateway (main.ts) and the CLI's store commands open stores only
 * through here.
 */
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import type { Config } from './config/schema.ts';
import { configIdentity } from './config/identity.ts';
import { CountersignError } from './core/errors.ts';
import type { OutboxRouter } from './core/outbox.ts';
import type { Store } from './core/ports.ts';
import { createSqliteStore } from './adapters/store/sqlite/index.ts';
import { claimKeyDir } from './adapters/signer/key-owner.ts';
import { checkStoreOwner, refuseForeign } from './service/store-owner.ts';

/**
 * Refuses (STORE_OF_ANOTHER_CONFIG) the audit key directory of `config` when
 * it was made for another config file than `configFile`; claims it when
 * `claim`. A config built in memory (no file) is not checked.
 */
export function checkKeyOwner(config: Config, configFile: string | undefined, opts: { claim: boolean }): void {
  if (configFile === undefined) return;
  const owner = configIdentity(configFile);
  const madeFor = claimKeyDir(config.audit.keyDir, owner, opts);
  if (madeFor !== undefined && madeFor !== owner) throw refuseForeign('the audit key directory', resolve(config.audit.keyDir), madeFor, owner, storeSetting(config));
}

/**
 * Opens the store of `config` and checks, with its key directory, that both
 * were made for `configFile` (claiming them when `claim`): see
 * service/store-owner.ts. Nothing is opened for another config's store.
 *
 * @example
 * const store = await openOwnedStore(config, 'countersign.yaml', { claim: false, mustExist: true });
 */
export async function openOwnedStore(config: Config, configFile: string | undefined, opts: { claim: boolean; mustExist: boolean; outbox?: OutboxRouter }): Promise<Store> {
  checkKeyOwner(config, configFile, { claim: false });
  const store = await openStore(config, opts);
  if (configFile === undefined) return store;
  try {
    await checkStoreOwner({ store }, { config: configIdentity(configFile), where: storeLocation(config), setting: storeSetting(config), claim: opts.claim, identify: configIdentity });
    checkKeyOwner(config, configFile, { claim: opts.claim });
  } catch (e) {
    await store.close();
    throw e;
  }
  return store;
}

/**
 * The store a CLI command reads or writes: the one the gateway serving
 * `configFile` made (nothing is created or migrated), refused when it was made
 * for another config; `owned: false` skips that check (only `store adopt`).
 * A missing SQLite file is named with its setting and `missing` (the hint).
 *
 * @example
 * const store = await openStoreForCommand(config, 'countersign.yaml');
 */
export async function openStoreForCommand(config: Config, configFile: string, opts: { owned?: boolean; missing?: string } = {}): Promise<Store> {
  if (!config.store.postgres && !existsSync(config.store.sqlite.path)) {
    throw new CountersignError('CONFIG_INVALID', `${configFile}: store.sqlite.path: ${config.store.sqlite.path} does not exist${opts.missing ?? ' (has the gateway run?)'}`);
  }
  if (opts.owned === false) return openStore(config, { mustExist: true });
  return openOwnedStore(config, configFile, { claim: false, mustExist: true });
}

/** The setting that names the store, for messages telling where to point a config. */
export function storeSetting(config: Config): string {
  return config.store.postgres ? 'store.postgres.url' : 'store.sqlite.path';
}

/** The store the config names: PostgreSQL when `store.postgres` is set, else the SQLite file. */
async function openStore(config: Config, opts: { mustExist: boolean; outbox?: OutboxRouter }): Promise<Store> {
  const pg = config.store.postgres;
  if (pg) {
    // Loaded only here: a gateway on SQLite does not hold pg and the PostgreSQL store's modules.
    const { createPostgresStore } = await import('./adapters/store/postgres/index.ts');
    return createPostgresStore({
      url: pg.url,
      poolSize: pg.poolSize,
      statementTimeoutMs: pg.statementTimeout * 1000,
      connectTimeoutMs: pg.connectTimeout * 1000,
      ...(pg.ssl !== undefined ? { ssl: pg.ssl } : {}),
      mustExist: opts.mustExist,
      ...(opts.outbox ? { outbox: opts.outbox } : {}),
    });
  }
  return createSqliteStore({ path: config.store.sqlite.path, synchronous: config.store.sqlite.synchronous, mustExist: opts.mustExist, ...(opts.outbox ? { outbox: opts.outbox } : {}) });
}

/** Where the store is, for messages: the SQLite file's path, or the database's host, port and name (never its password). */
export function storeLocation(config: Config): string {
  const pg = config.store.postgres;
  if (!pg) return resolve(config.store.sqlite.path);
  try {
    const u = new URL(pg.url);
    return `postgres://${u.hostname}${u.port ? `:${u.port}` : ''}${u.pathname}`;
  } catch {
    return 'postgres://(unparseable URL)';
  }
}

/** The store's record of the origin its log is signed under, when none is configured. */
const ORIGIN_META = 'audit.origin';

/**
 * The origin the store's log is signed and verified under: the configured one; else the one the store keeps, taken
 * by the first gateway on it (`claim`) — or, for a log signed before it was kept, its newest checkpoint's. The
 * default names the host, so replicas on machines of their own signed one log under several names, and `audit
 * verify` on any machine refused the checkpoints of every other.
 *
 * @example
 * const origin = await storeAuditOrigin(config, store, { claim: true }); // 'countersign/replica-a' on every replica
 */
export async function storeAuditOrigin(config: Config, store: Pick<Store, 'getMeta' | 'claimMeta' | 'checkpoints'>, opts: { claim: boolean }): Promise<string> {
  if (config.audit.origin) return config.audit.origin;
  const kept = await store.getMeta(ORIGIN_META);
  if (kept) return kept;
  const [latest] = await store.checkpoints({ latest: true });
  const origin = latest?.note.split('\n')[0] || auditOrigin(config);
  return opts.claim ? store.claimMeta(ORIGIN_META, origin) : origin;
}

/** The log's origin: configured, else `countersign/<host name>` (a key name: no spaces or +). */
export function auditOrigin(config: Config): string {
  return config.audit.origin ?? `countersign/${hostname().replace(/[^A-Za-z0-9._-]/g, '-') || 'gateway'}`;
}
