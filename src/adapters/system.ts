/** The real clock and id generator (tests inject their own). */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Clock, IdGenerator } from '../core/ports.ts';

export const systemClock: Clock = { now: () => new Date() };

/**
 * `req_` + time in base 36 (sortable) + 76 random bits. randomUUID draws from
 * a pooled buffer; a randomBytes call per id was a measurable syscall each.
 */
export const randomIds: IdGenerator = {
  requestId: () => `req_${Date.now().toString(36)}${randomUUID().replace(/-/g, '').slice(0, 20)}`,
  token: () => randomBytes(32).toString('base64url'),
};
