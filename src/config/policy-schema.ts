/** The `policy:` section: rules with their effects, approvers and safety nets (README, "Policy" and "Safety nets"). */
import { z } from 'zod';
import { duration, id } from './primitives.ts';
import { breakGlassSchema, escalateSchema, grantSchema, stepUpSchema } from './safety-nets-schema.ts';
import { ruleUndoSchema } from './undo-schema.ts';

export const approverSchema = z.strictObject({
  groups: z.array(z.string().min(1)).optional(),
  principals: z.array(id).optional(),
  count: z.number().int().min(1).max(100).default(1),
});

const ruleSchema = z
  .strictObject({
    id,
    when: z.string().min(1),
    effect: z.enum(['allow', 'deny', 'approve']),
    approvers: z.array(approverSchema).min(1).optional(),
    ttl: duration.optional(),
    message: z.string().max(1000).optional(),
    escalate: escalateSchema.optional(),
    breakGlass: breakGlassSchema.optional(),
    undo: ruleUndoSchema.optional(),
    stepUp: stepUpSchema.optional(),
    grant: grantSchema.optional(),
    /** Where a held request of this rule is posted instead of the default places: `[{ slack: "#db-approvals" }, { teams: "db-approvals" }]`. */
    notify: z
      .array(
        z.union([
          z.strictObject({ slack: z.string().regex(/^(#[a-z0-9_-]{1,80}|[CGD][A-Z0-9]{2,})$/, 'a Slack channel id (C0123…) or #name') }),
          /** A name under channels.teams.conversations. */
          z.strictObject({ teams: z.string().min(1) }),
        ]),
      )
      .default([]),
  })
  .refine((r) => r.effect === 'approve' || (r.approvers === undefined && r.ttl === undefined && r.escalate === undefined && r.breakGlass === undefined && r.stepUp === undefined && r.grant === undefined), {
    message: 'approvers, ttl, escalate, breakGlass, stepUp and grant belong to rules whose effect is approve',
  })
  .refine((r) => r.undo === undefined || r.effect !== 'deny', { message: 'undo: false belongs to rules whose effect is allow or approve', path: ['undo'] });

/** The `policy:` section's shape, also of a candidate policy file (`policy.candidate`, `countersign policy replay`). */
export const policySectionSchema = z.strictObject({
  default: z.enum(['allow', 'deny', 'approve']).default('deny'),
  defaultTtl: duration.default(3600),
  rules: z.array(ruleSchema).default([]),
});
export type PolicySection = z.output<typeof policySectionSchema>;
