/**
 * `countersign store adopt`: this config takes over the store and the audit
 * key directory it names, though they were made for another config file. The
 * only way to do so, and it says so: the move is an audit event
 * (`store.adopted`, with the config they belonged to), and every later open
 * by the other config is refused.
 */
import { hostname, userInfo } from 'node:os';
import { resolve } from 'node:path';
import { loadConfig } from '../config/load.ts';
import { configIdentity } from '../config/identity.ts';
import { openStoreForCommand, storeLocation } from '../main-store.ts';
import { keyDirOwner, setKeyDirOwner } from '../adapters/signer/key-owner.ts';
import { systemClock } from '../adapters/system.ts';
import { adoptStore } from '../service/store-owner.ts';
import { safe } from './output.ts';
import type { CliIo } from './io.ts';

export async function storeAdoptCommand(configPath: string, io: CliIo): Promise<number> {
  const config = loadConfig(configPath, io.env);
  const me = configIdentity(configPath);
  // Not checked for its owner: taking over another config's store is the point.
  const store = await openStoreForCommand(config, configPath, { owned: false, missing: '; there is nothing to adopt (a new store is made by starting the gateway)' });
  const where = storeLocation(config);
  try {
    const { from, changed } = await adoptStore({ store, clock: systemClock }, { config: me, by: `${userInfo().username}@${hostname()}` });
    io.stdout.write(safe(changed ? `store ${where}: now the store of ${me} (it was made for ${from ?? 'no recorded config'}); recorded as store.adopted in its audit log\n` : `store ${where}: already the store of ${me}\n`));
  } finally {
    await store.close();
  }
  const keysFrom = keyDirOwner(config.audit.keyDir);
  if (keysFrom !== me) setKeyDirOwner(config.audit.keyDir, me);
  io.stdout.write(safe(keysFrom !== me ? `audit keys ${resolve(config.audit.keyDir)}: now the keys of ${me} (they were made for ${keysFrom ?? 'no recorded config'})\n` : `audit keys ${resolve(config.audit.keyDir)}: already the keys of ${me}\n`));
  return 0;
}
