/** The safety nets a policy rule may carry (README, "Safety nets"): an escalation ladder, break-glass groups, a step-up and scoped grants. */
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
/**
 * Where a vary path may start: the values an action carries, never what the action is (`sql`, `method`, `path`,
 * `tool`, `args`): other SQL text whose facts match (another WHERE) must not ride on a grant. Headers only one by
 * one: headers as a whole would let an agent add X-HTTP-Method-Override to a granted POST.
 */
const VARY_ROOTS = new Set(['params', 'body', 'query', 'headers', 'arguments']);
const mayVary = (p: string) => VARY_ROOTS.has(p.split('.')[0]!) && p !== 'headers';

/** A path inside an action's input (`params`, `body.amount`): names only, no index, nothing that reaches a prototype. */
const inputPath = z
  .string()
  .regex(/^[A-Za-z_$][\w$-]*(\.[A-Za-z_$][\w$-]*)*$/, 'a dotted path of names inside the input, such as params or body.amount')
  .refine((p) => !p.split('.').some((s) => s === '__proto__' || s === 'constructor' || s === 'prototype'), 'not a prototype key')
  .refine(mayVary, `a path under ${[...VARY_ROOTS].join(', ')} (one header at a time): what the action is never varies`);

/**
 * Scoped grants: a reviewer approving a request this rule holds may approve the next `maxUses` actions of the same
 * shape too, for at most `maxDuration`; `vary` names the input paths whose values may differ between them.
 */
export const grantSchema = z.strictObject({
  maxUses: z.number().int().min(1).max(1000),
  maxDuration: duration.refine((s) => s <= 86_400, 'at most 24h'),
  vary: z.array(inputPath).max(32).default([]),
});
