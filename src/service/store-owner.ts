/**
 * A store and its audit chain belong to the configuration they were made
 * for. Two configs that name the same files (the demo's and a first real one,
 * both writing to ./.countersign/ by default) would otherwise share pending
 * requests, one audit chain and its keys without anyone saying so. Every
 * process that opens a store with a config file checks the config the store
 * names; only `countersign store adopt` moves a store to another config, and
 * the move is an audit event.
 *
 * "The same configuration" is the same config file (its real path): the
 * gateway, `countersign mcp --config` and the CLI commands reading that file
 * all agree; its policy, connections and principals may change freely.
 */
import type { AuditDraft } from '../core/audit.ts';
import { CountersignError } from '../core/errors.ts';
import type { Store } from '../core/ports.ts';

/** The meta key naming the config file a store was made for. */
export const STORE_CONFIG_KEY = 'store.config';

/** What a config file is called when a gateway runs a config built in memory (tests, embedding). */
export const IN_MEMORY_CONFIG = '(in memory)';

/**
 * The refusal, naming what was made for which config and the two ways out.
 * `where` is the store's location without secrets (a database URL without its
 * password); `storeSetting` the setting that names the store.
 *
 * @example
 * throw refuseForeign('the store', '/srv/.countersign/countersign.db', '/srv/.countersign/demo/demo.yaml', '/srv/countersign.yaml', 'store.sqlite.path');
 */
export function refuseForeign(what: string, where: string, madeFor: string, config: string, storeSetting = 'store.sqlite.path'): CountersignError {
  return new CountersignError(
    'STORE_OF_ANOTHER_CONFIG',
    `${what} at ${where} was made for the configuration ${madeFor}, not for ${config}. ` +
      `Point this configuration at its own (${storeSetting}, audit.keyDir); or, for ${config} to take over that store, its audit chain and its keys, stop the gateway running ${madeFor} and run: countersign store adopt --config ${config}`,
    { madeFor, config },
  );
}

/**
 * Checks that `store` was made for `config` (a config file's real path); a
 * store that names none yet is claimed for it when `claim` (the gateway
 * opening or creating its store), else left as it is (a process joining it).
 * A store from before stores named their config is known by the file of its
 * last `policy.loaded` event.
 *
 * @example
 * await checkStoreOwner({ store }, { config: '/srv/countersign.yaml', where: '/srv/.countersign/countersign.db', claim: true, identify: realpath });
 */
export async function checkStoreOwner(
  deps: { readonly store: Pick<Store, 'getMeta' | 'claimMeta' | 'searchAudit'> },
  o: { readonly config: string; readonly where: string; readonly setting?: string; readonly claim: boolean; readonly identify: (file: string) => string },
): Promise<void> {
  let madeFor = await deps.store.getMeta(STORE_CONFIG_KEY);
  if (madeFor === undefined) {
    const loaded = (await deps.store.searchAudit({ types: ['policy.loaded'], limit: 10_000 })).at(-1);
    const file = loaded?.data['file'];
    if (typeof file === 'string' && file !== IN_MEMORY_CONFIG && o.identify(file) !== o.config) madeFor = o.identify(file);
    else if (o.claim) madeFor = await deps.store.claimMeta(STORE_CONFIG_KEY, o.config);
  }
  if (madeFor !== undefined && madeFor !== o.config) throw refuseForeign('the store', o.where, madeFor, o.config, o.setting);
}

/**
 * `countersign store adopt`: the store now belongs to `config`; the move is
 * recorded in its audit chain with the config it belonged to.
 *
 * @example
 * const { from } = await adoptStore({ store, clock }, { config: '/srv/countersign.yaml', by: 'ops@host' });
 */
export async function adoptStore(
  deps: { readonly store: Pick<Store, 'getMeta' | 'appendAudit'>; readonly clock: { now(): Date } },
  o: { readonly config: string; readonly by: string },
): Promise<{ from: string | null; changed: boolean }> {
  const from = (await deps.store.getMeta(STORE_CONFIG_KEY)) ?? null;
  if (from === o.config) return { from, changed: false };
  const event: AuditDraft = { type: 'store.adopted', time: deps.clock.now().toISOString(), requestId: null, actor: o.by, data: { from, config: o.config } };
  await deps.store.appendAudit([event], { [STORE_CONFIG_KEY]: o.config });
  return { from, changed: true };
}
