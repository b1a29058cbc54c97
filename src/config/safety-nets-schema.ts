/** The safety nets a policy rule may carry (README, "Safety nets"): an escalation ladder, break-glass groups and a step-up. */
import { z } from 'zod';
import { duration, id } from './primitives.ts';

/** Escalation ladder: while a request this rule holds is pending `after` its creation, `to` is notified and may review it. */
export const escalateSchema = z
  .array(
    z.strictObject({
      after: duration,
      to: z
        .strictObject({ groups: z.array(z.string().min(1)).default([]), principals: z.array(id).default([]) })
        .refine((t) => t.groups.length + t.principals.length > 0, 'name at least one group or principal'),
    }),
  )
  .min(1)
  .max(10);

/** Break-glass: humans of these groups may run a request this rule holds at once, with a justification, reviewed after the fact. */
export const breakGlassSchema = z.strictObject({ groups: z.array(z.string().min(1)).min(1) });

/** Step-up: an approval of a request this rule holds counts only once its reviewer confirms with a passkey in the console. */
export const stepUpSchema = z.literal('webauthn');
