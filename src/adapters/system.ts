/** The real clock and id generator (tests inject their own). */
import { randomBytes } from 'node:crypto';
import type { Clock, IdGenerator } from '../core/ports.ts';

export const systemClock: Clock = { now: () => new Date() };

/** `req_` + time in base 36 (sortable) + 80 random bits. */
export const randomIds: IdGenerator = {
  requestId: () => `req_${Date.now().toString(36)}${randomBytes(10).toString('hex')}`,
};
