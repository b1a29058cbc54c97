/**
 * Waits one principal may hold open at once: long-polls, event streams and
 * held MCP calls each keep a socket, a timer and a subscription until they
 * end, so an agent that opened them without bound would take the gateway
 * from every other agent and reviewer. Past the cap a wait is refused with
 * TOO_MANY_WAITS (429) and counted; a slot frees the moment its wait ends.
 * Counted per process: with `server.workers` or replicas, per serving process.
 * Counted per principal as core/visibility.ts samePrincipal tells them apart:
 * two issuers' workloads of one unconfigured id are two, and neither uses up
 * the other's waits.
 */
import { CountersignError } from '../core/errors.ts';
import type { Log, Metrics } from '../core/ports.ts';
import type { HumanDirectory } from '../core/human-identity.ts';
import type { Principal } from '../core/principal.ts';
import { ownerKey } from '../core/visibility.ts';
import type { Deps } from './deps.ts';

export interface WaitSlots {
  /** Takes one of the principal's slots for a wait on `surface`: the function that gives it back (once; later calls do nothing). */
  take(principal: Principal, surface: string): () => void;
}

/**
 * @example
 * const waits = createWaitSlots(32, { metrics, log });
 * const release = waits.take(bot, 'rest');
 * try { await waitForChange(…); } finally { release(); }
 */
export function createWaitSlots(
  perPrincipal: number,
  report: { readonly metrics: Pick<Metrics, 'waitRefused'>; readonly log: Log; readonly identity?: Pick<HumanDirectory, 'principal'> },
): WaitSlots {
  const open = new Map<string, number>();
  const ownerOf = (p: Principal) => (report.identity ? ownerKey(p, report.identity) : p.id);
  return {
    take(principal, surface) {
      const owner = ownerOf(principal);
      const n = open.get(owner) ?? 0;
      if (n >= perPrincipal) {
        report.metrics.waitRefused(surface);
        report.log.warn({ principal: principal.id, surface, maxWaits: perPrincipal }, 'wait refused: the principal holds the most waits allowed');
        throw new CountersignError('TOO_MANY_WAITS', `${principal.id} already holds ${perPrincipal} waits open (server.maxWaitsPerPrincipal); end one, or poll without wait`, { maxWaits: perPrincipal });
      }
      open.set(owner, n + 1);
      let held = true;
      return () => {
        if (!held) return;
        held = false;
        const left = (open.get(owner) ?? 1) - 1;
        if (left > 0) open.set(owner, left);
        else open.delete(owner);
      };
    },
  };
}

const NO_CAP: WaitSlots = { take: () => () => {} };

/** The slots of `deps` (none configured: no cap, as in use-case tests that build their own deps). */
export const waitSlots = (deps: Deps): WaitSlots => deps.waits ?? NO_CAP;
