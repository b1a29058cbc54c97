/**
 * One config in force across the processes on a store. Replicas (and
 * workers) each read their config file at start; when the file changes and
 * one is restarted with it, the others would go on deciding under what they
 * read before — another policy, other approvers — for as long as they run.
 * So the generation of the config the last gateway started with is kept in
 * the store, and a process whose own differs takes no action, no review and
 * runs nothing (POLICY_NOT_IN_FORCE) until it is restarted with that config.
 *
 * Reviews, break-glass and runs after approval read the stored generation
 * each time; a submission, and every call that brings a credential or a
 * console session (a key the new config removed must not read either), trusts
 * a reading at most IN_FORCE_MAX_AGE_MS old, and a gateway that changes the
 * generation waits longer than that before it serves: once it answers, no
 * process of another config decides or answers anything.
 */
import { CountersignError } from '../core/errors.ts';
import type { MetaCondition, Store } from '../core/ports.ts';
import type { AuditDraft } from '../core/audit.ts';

export const CONFIG_GENERATION_KEY = 'config.generation';
/** How old a reading of the stored generation a submission may go by. */
export const IN_FORCE_MAX_AGE_MS = 1000;

export interface ConfigInForce {
  /** This process's generation (config/generation.ts). */
  readonly generation: string;
  /**
   * Throws POLICY_NOT_IN_FORCE unless the stored generation is this process's, read no more than `maxAgeMs` ago
   * (0: read now).
   */
  check(maxAgeMs: number): Promise<void>;
  /**
   * The condition of a write that must hold only under this config (a run's claim, the record of an action allowed
   * outright), in the write's own transaction:
   * a check before it leaves a moment in which another gateway takes over.
   */
  readonly condition: MetaCondition;
}

/**
 * @example
 * const inForce = configInForce(store, configGeneration(config, policy.hash));
 * await inForce.check(0); // before a review
 */
export function configInForce(store: Pick<Store, 'getMeta'>, generation: string, now: () => number = () => performance.now()): ConfigInForce {
  let stored: string | undefined;
  let readAt = -Infinity;
  let reading: Promise<string | undefined> | undefined;
  const read = async (): Promise<string | undefined> => {
    const started = now();
    const value = await store.getMeta(CONFIG_GENERATION_KEY);
    // A reading counts from when it was asked for: what changed while it was on its way may not be in it.
    if (started >= readAt) {
      stored = value;
      readAt = started;
    }
    return value;
  };
  const refuse = (found: string | undefined) =>
    new CountersignError(
      'POLICY_NOT_IN_FORCE',
      found === undefined
        ? 'this gateway does not find its config recorded as the one in force in its store; restart it'
        : "another gateway on this store started with a newer version of the config (another policy or other principals); this one decides nothing until it is restarted with the config file as it is now",
    );
  return {
    generation,
    condition: { key: CONFIG_GENERATION_KEY, value: generation, refuse },
    async check(maxAgeMs) {
      let value: string | undefined;
      if (maxAgeMs > 0 && now() - readAt <= maxAgeMs) value = stored;
      else if (maxAgeMs > 0) {
        // Concurrent submissions share one reading.
        reading ??= read().finally(() => {
          reading = undefined;
        });
        value = await reading;
      } else value = await read();
      if (value !== generation) throw refuse(value);
    },
  };
}

/**
 * Records `generation` as the one in force. Returns whether another was in force before (the caller then waits
 * longer than IN_FORCE_MAX_AGE_MS before serving, so that every process of the other has stopped deciding).
 *
 * @example
 * if (await takeConfigInForce(store, generation)) await sleep(IN_FORCE_MAX_AGE_MS + 500);
 */
export async function takeConfigInForce(store: Pick<Store, 'getMeta' | 'appendAudit'>, generation: string, loaded?: ConfigLoaded): Promise<boolean> {
  const before = await store.getMeta(CONFIG_GENERATION_KEY);
  if (before === generation) return false;
  // A change (not the first start, which policy.loaded records): who may approve and what decides may have changed with
  // the policy's hash the same, so the trail says when, by whom, and the principals now configured (never their keys).
  const audit: AuditDraft[] =
    before !== undefined && loaded
      ? [{ type: 'config.loaded', time: loaded.time, requestId: null, actor: loaded.actor, data: { old: before, new: generation, file: loaded.file, principals: loaded.principals } }]
      : [];
  await store.appendAudit(audit, { [CONFIG_GENERATION_KEY]: generation });
  return before !== undefined;
}

/** What `config.loaded` tells of the config taking over: when, who started it, its file, its principals (id, kind, groups). */
export interface ConfigLoaded {
  readonly time: string;
  readonly actor: string;
  readonly file: string;
  readonly principals: readonly { readonly id: string; readonly kind: string; readonly groups: readonly string[] }[];
}
