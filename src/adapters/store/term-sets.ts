/**
 * Term sets, as both stores keep them: a request row holds one small integer,
 * the id of its set of terms (effect, rules, tags: core/request-terms.ts), and
 * each distinct set is stored once with a row per term. Writing a request is
 * then one indexed integer, not a row per term; most requests share one of a
 * handful of sets.
 *
 * This is the cache of key → id each store keeps in memory. It only ever
 * holds ids of sets whose creation has committed: a set seen for the first
 * time is created in a transaction of its own (insert-if-absent, so processes
 * and replicas racing to create it agree on one id) that commits before any
 * request refers to it. A rolled-back batch, a savepoint rolled back or a
 * batch run again can then never leave the cache holding an id that does not
 * exist. Sets are never deleted, so a cached id stays true for the life of
 * the store. A set created for a request whose own write then fails is left
 * unused: a few rows, at most one per distinct set.
 */
import type { RequestRecord } from '../../core/request.ts';
import { requestTerms, termSetKey } from '../../core/request-terms.ts';

export interface TermSet {
  readonly key: string;
  readonly terms: readonly string[];
}

/**
 * Sets already derived, by the connection's tags object and then by effect and rules. Only tags frozen all the way
 * down (the loaded configuration's) are keys: such an object cannot change, so the set derived from it stays true.
 * Deriving one (collecting, sorting and serialising the terms) was a few µs of every request written.
 */
const derived = new WeakMap<object, Map<string, TermSet>>();
/** Per tags object: effect and rule combinations are bounded by the policy; this is only a backstop. */
const MAX_DERIVED = 1_000;

const frozenDeep = (tags: object): boolean => Object.isFrozen(tags) && Object.values(tags).every((v) => typeof v !== 'object' || v === null || Object.isFrozen(v));

/** The term set of a request (its terms without repeats, and their key). */
export function termSetOf(r: Pick<RequestRecord, 'decision' | 'connection'>): TermSet {
  const tags = r.connection.tags;
  let sets = derived.get(tags);
  if (sets === undefined && frozenDeep(tags)) derived.set(tags, (sets = new Map()));
  // JSON: unambiguous whatever a rule id holds.
  const key = sets && JSON.stringify([r.decision.effect, r.decision.rules]);
  const known = key === undefined ? undefined : sets?.get(key);
  if (known) return known;
  const terms = requestTerms(r);
  const set: TermSet = { key: termSetKey(terms), terms };
  if (sets && key !== undefined) {
    Object.freeze(terms);
    Object.freeze(set);
    if (sets.size >= MAX_DERIVED) sets.clear();
    sets.set(key, set);
  }
  return set;
}

export interface TermSetCache {
  /** The id of a set known committed, if this store has seen it. */
  cached(set: TermSet): number | undefined;
  /** The id of the set, committed: from the cache, or created by `create` (which must commit it) and then cached. */
  committed(set: TermSet): number | Promise<number>;
}

/** Distinct sets are bounded by the configuration (effects × rules × connections' tags); this is only a backstop. */
const MAX_CACHED = 10_000;

/**
 * @example
 * const sets = createTermSetCache((set) => write(() => ensure(set)));
 * const id = await sets.committed(termSetOf(request));
 */
export function createTermSetCache(create: (set: TermSet) => Promise<number>): TermSetCache {
  const ids = new Map<string, number>();
  // Requests arriving together with one new set wait for one creation, not one each.
  const creating = new Map<string, Promise<number>>();
  return {
    cached: (set) => ids.get(set.key),
    committed(set) {
      const id = ids.get(set.key);
      if (id !== undefined) return id;
      let pending = creating.get(set.key);
      if (!pending) {
        pending = create(set)
          .then((created) => {
            // Set only once `create` resolved: its transaction committed.
            if (ids.size >= MAX_CACHED) ids.clear();
            ids.set(set.key, created);
            return created;
          })
          .finally(() => creating.delete(set.key));
        creating.set(set.key, pending);
      }
      return pending;
    },
  };
}
