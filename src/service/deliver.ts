/**
 * Deliver: the outbox worker's one pass. Claims what is due, hands each
 * delivery to its channel with the request as it stands now, and records the
 * outcome: made, retried later with backoff, or set aside when the channel
 * says retrying cannot help. Nothing here runs on the decision path.
 */
import { PermanentDeliveryError, type Channel, type DeliveryContext } from '../core/channel.ts';
import { backoffMs, type OutboxDelivery } from '../core/outbox.ts';
import { isCountersignError } from '../core/errors.ts';
import { CONFIG_GENERATION_KEY, IN_FORCE_MAX_AGE_MS } from './config-in-force.ts';
import type { Deps } from './deps.ts';

export interface DeliverOptions {
  readonly channels: ReadonlyMap<string, Channel>;
  /** The console's page of a request. */
  readonly requestUrl: (id: string) => string;
  /** How long a claimed delivery is held before another worker may take it again. */
  readonly leaseMs?: number;
  readonly random?: () => number;
}

/** The email of a human the gateway knows: configured, else met at sign-in. */
export async function emailOfHuman(deps: Pick<Deps, 'identity' | 'store'>, id: string): Promise<string | null> {
  const p = deps.identity.principal(id);
  if (p?.email) return p.email;
  return (await deps.store.knownHumanById(id))?.email ?? null;
}

async function deliverOne(deps: Deps, opts: DeliverOptions, d: OutboxDelivery): Promise<void> {
  const channel = opts.channels.get(d.channel);
  const now = () => deps.clock.now();
  if (!channel) {
    // A channel removed from the config: keep the row (it says what was owed) but stop trying.
    await deps.store.failDelivery(d.id, 'channel is not configured', null);
    return;
  }
  const request = d.requestId ? await deps.store.getRequest(d.requestId) : undefined;
  const ctx: DeliveryContext = {
    request,
    messages: d.requestId ? await deps.store.channelMessages(d.requestId, d.channel) : [],
    remember: async (ref) => {
      if (d.requestId) await deps.store.addChannelMessage({ requestId: d.requestId, channel: d.channel, ref, createdAt: now().toISOString() });
    },
    emailOf: (id) => emailOfHuman(deps, id),
    requestUrl: opts.requestUrl,
  };
  try {
    // The lease was taken under this process's config, but the request and its messages were read since: a gateway
    // that took over meanwhile with the channel moved or removed must not see the card sent where it was. Handed back
    // due at once, to a process on the config in force; what is already on its way cannot be called back.
    if (!(await inForce(deps, 0))) {
      await deps.store.failDelivery(d.id, 'not sent: another gateway took over with a newer config before it left', now().toISOString());
      return;
    }
    await channel.deliver(d, ctx);
    await deps.store.completeDelivery(d.id);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    const permanent = e instanceof PermanentDeliveryError;
    const retryAt = permanent ? null : new Date(now().getTime() + backoffMs(d.attempts, (opts.random ?? Math.random)())).toISOString();
    await deps.store.failDelivery(d.id, message, retryAt);
    deps.log.warn({ channel: d.channel, event: d.event, requestId: d.requestId, attempts: d.attempts + 1, retryAt, err: e }, 'channel delivery failed');
  }
}

async function inForce(deps: Pick<Deps, 'inForce'>, maxAgeMs = IN_FORCE_MAX_AGE_MS): Promise<boolean> {
  try {
    await deps.inForce?.check(maxAgeMs);
    return true;
  } catch (e) {
    if (isCountersignError(e) && e.code === 'POLICY_NOT_IN_FORCE') return false;
    throw e;
  }
}

/**
 * Delivers what is due; returns how many deliveries were tried (none on a process whose config is not in force).
 *
 * @example
 * await deliverDue(deps, { channels, requestUrl: (id) => `https://cs.example.com/requests/${id}` });
 */
export async function deliverDue(deps: Deps, opts: DeliverOptions, limit = 50): Promise<number> {
  // A process on a config another gateway replaced leases nothing: it would deliver to a channel or an address the
  // operator removed. The rows wait for a process on the config in force (service/config-in-force.ts). The reading
  // checked first may be a second old, so the lease itself holds only under this process's generation.
  if (!(await inForce(deps))) return 0;
  const onlyIf = deps.inForce ? { key: CONFIG_GENERATION_KEY, value: deps.inForce.generation } : undefined;
  const due = await deps.store.claimDeliveries(deps.clock.now(), limit, opts.leaseMs ?? 60_000, onlyIf);
  // Different requests and channels in parallel; one (channel, request) is never claimed twice at once.
  await Promise.all(due.map((d) => deliverOne(deps, opts, d)));
  return due.length;
}

/**
 * Runs passes until nothing is due: woken by every request change and by a
 * timer for retries. Returns a stop function that waits for the pass in flight.
 * With no channel configured, request changes do not wake it: each wake-up is
 * a write transaction, and on the path of every action it would be wasted.
 */
export function startDeliveryWorker(deps: Deps, opts: DeliverOptions & { intervalMs?: number }): () => Promise<void> {
  let running: Promise<void> | null = null;
  let again = false;
  let stopped = false;
  const kick = () => {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = (async () => {
      do {
        again = false;
        try {
          while ((await deliverDue(deps, opts)) > 0 && !stopped) again = true;
          again = false;
        } catch (e) {
          deps.log.error({ err: e }, 'outbox pass failed');
        }
      } while (again && !stopped);
    })().finally(() => {
      running = null;
    });
  };
  // No channel, nothing new is owed: the timer alone sets aside what an earlier config left.
  const unsubscribe = opts.channels.size > 0 ? deps.notifier.subscribeAll(() => queueMicrotask(kick)) : () => {};
  kick();
  const timer = setInterval(kick, opts.intervalMs ?? 500);
  timer.unref();
  return async () => {
    stopped = true;
    clearInterval(timer);
    unsubscribe();
    await running;
  };
}
