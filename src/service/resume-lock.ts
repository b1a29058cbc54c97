/**
 * One submission at a time per principal and action digest, for submissions
 * that resume (submit.ts `resume`): between looking for the principal's request
 * of that digest and recording a new one, another submission of the same
 * action (a JSON-RPC batch that sends a held call twice, parallel retries)
 * would find none either, and hold a second request for one action: reviewers
 * asked twice, and the tool run twice if both were approved. Within one
 * process; held until the request is recorded, never through its run. Across
 * processes (replicas, workers) the store refuses a second live request of one
 * resume key (core/resume-key.ts), and the loser resumes the winner's.
 */
import type { Deps } from './deps.ts';

// Keyed by the store: every submission to one store, whatever surface built its deps, meets the same queue.
const queues = new WeakMap<object, Map<string, Promise<void>>>();

/**
 * Resolves, once every earlier holder of `key` has released it, to the release (safe to call more than once).
 *
 * @example
 * const release = await takeResumeLock(deps, `${principal.id}\n${digest}`);
 * try { … } finally { release(); }
 */
export async function takeResumeLock(deps: Deps, key: string): Promise<() => void> {
  let held = queues.get(deps.store);
  if (!held) queues.set(deps.store, (held = new Map()));
  const before = held.get(key);
  let release!: () => void;
  const mine = new Promise<void>((resolve) => {
    release = resolve;
  });
  const tail = (before ?? Promise.resolve()).then(() => mine);
  held.set(key, tail);
  await before;
  let done = false;
  return () => {
    if (done) return;
    done = true;
    release();
    if (held.get(key) === tail) held.delete(key);
  };
}
