/**
 * Verifies an activity posted to the messaging endpoint the way Bot Framework
 * documents it ("Authenticate requests from the Bot Connector service to your
 * bot"): a bearer JWT signed RS256 by a key from the OpenID metadata's
 * `jwks_uri`, issuer `https://api.botframework.com`, audience our app id,
 * valid within 5 minutes of clock skew, the key endorsed for the activity's
 * channel, the token's `serviceUrl` claim equal to the activity's. Then ours:
 * the channel is Teams and the tenant is the configured one. A refusal is a
 * stable reason for the audit log; nothing here throws for bad input.
 */
import { decodeProtectedHeader, errors, jwtVerify } from 'jose';
import { z } from 'zod';
import { createBotFrameworkKeys, type BotFrameworkKeys } from './keys.ts';

export const BOT_FRAMEWORK_ISSUER = 'https://api.botframework.com';
export const TEAMS_CHANNEL_ID = 'msteams';

export type TeamsReason =
  | 'teams.token_missing'
  | 'teams.token_malformed'
  | 'teams.alg_not_allowed'
  | 'teams.kid_invalid'
  | 'teams.kid_unknown'
  | 'teams.keys_unavailable'
  | 'teams.signature_invalid'
  | 'teams.expired'
  | 'teams.not_yet_valid'
  | 'teams.audience_invalid'
  | 'teams.issuer_invalid'
  | 'teams.claims_invalid'
  | 'teams.key_not_endorsed'
  | 'teams.service_url_mismatch'
  | 'teams.activity_invalid'
  | 'teams.channel_invalid'
  | 'teams.tenant_mismatch';

/** The part of an activity the checks read; everything else passes through untouched. */
const activitySchema = z.looseObject({
  type: z.string().min(1),
  channelId: z.string().min(1),
  serviceUrl: z.string().min(1),
  conversation: z.looseObject({ id: z.string().min(1), tenantId: z.string().optional() }),
  channelData: z.looseObject({ tenant: z.looseObject({ id: z.string() }).optional() }).optional(),
});
export type TeamsActivity = z.infer<typeof activitySchema>;

export type ActivityVerification =
  | { readonly ok: true; readonly activity: TeamsActivity; readonly claims: Readonly<Record<string, unknown>> }
  | { readonly ok: false; readonly reason: TeamsReason };

export interface ActivityVerifier {
  /** `authorization` is the raw header value; `body` the parsed JSON of the request. */
  verify(authorization: string | undefined | null, body: unknown): Promise<ActivityVerification>;
}

export interface ActivityVerifierOptions {
  readonly appId: string;
  readonly tenantId: string;
  readonly openIdMetadataUrl: string;
  /** Bot Framework: 5 minutes. */
  readonly clockToleranceSeconds?: number;
  readonly now?: () => Date;
  readonly keyCooldownMs?: number;
  readonly keyCacheMaxAgeMs?: number;
  readonly timeoutMs?: number;
}

/** RFC 7517 leaves kid free-form; ours is a map key only, and odd ones are refused early. */
const KID = /^[A-Za-z0-9._~+=/-]{1,128}$/;

function joseReason(e: unknown): TeamsReason {
  if (e instanceof errors.JWTExpired) return 'teams.expired';
  if (e instanceof errors.JWTClaimValidationFailed) {
    if (e.claim === 'nbf' || e.claim === 'iat') return 'teams.not_yet_valid';
    if (e.claim === 'aud') return 'teams.audience_invalid';
    if (e.claim === 'iss') return 'teams.issuer_invalid';
    return 'teams.claims_invalid';
  }
  if (e instanceof errors.JOSEAlgNotAllowed || e instanceof errors.JOSENotSupported) return 'teams.alg_not_allowed';
  if (e instanceof errors.JWSSignatureVerificationFailed) return 'teams.signature_invalid';
  return 'teams.token_malformed';
}

/** The tenant the activity says it comes from; two differing answers are no answer. */
function tenantOf(a: TeamsActivity): string | undefined {
  const fromChannelData = a.channelData?.tenant?.id;
  const fromConversation = a.conversation.tenantId;
  if (fromChannelData !== undefined && fromConversation !== undefined && fromChannelData !== fromConversation) return undefined;
  return fromChannelData ?? fromConversation;
}

/**
 * @example
 * const verifier = createActivityVerifier({ appId: cfg.appId, tenantId: cfg.tenantId, openIdMetadataUrl: cfg.openIdMetadataUrl });
 * const v = await verifier.verify(c.req.header('authorization'), await c.req.json());
 * if (!v.ok) return c.json({ error: v.reason }, 401); // and an audit event with v.reason
 */
export function createActivityVerifier(opts: ActivityVerifierOptions, keys?: BotFrameworkKeys): ActivityVerifier {
  const now = opts.now ?? (() => new Date());
  const keySet =
    keys ??
    createBotFrameworkKeys({
      openIdMetadataUrl: opts.openIdMetadataUrl,
      now: () => now().getTime(),
      ...(opts.keyCooldownMs !== undefined ? { cooldownMs: opts.keyCooldownMs } : {}),
      ...(opts.keyCacheMaxAgeMs !== undefined ? { cacheMaxAgeMs: opts.keyCacheMaxAgeMs } : {}),
      ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
    });
  const refuse = (reason: TeamsReason): ActivityVerification => ({ ok: false, reason });

  return {
    async verify(authorization, body) {
      const match = /^Bearer ([A-Za-z0-9_.~+/=-]+)$/.exec(authorization ?? '');
      if (!match) return refuse('teams.token_missing');
      const token = match[1] as string;
      let header;
      try {
        header = decodeProtectedHeader(token);
      } catch {
        return refuse('teams.token_malformed');
      }
      // RS256 only, decided before any key is looked up: `none` and HS256 never reach a verifier.
      if (header.alg !== 'RS256') return refuse('teams.alg_not_allowed');
      if (typeof header.kid !== 'string' || !KID.test(header.kid)) return refuse('teams.kid_invalid');
      let key;
      try {
        key = await keySet.get(header.kid);
      } catch {
        return refuse('teams.keys_unavailable');
      }
      if (!key) return refuse('teams.kid_unknown');
      let claims: Record<string, unknown>;
      try {
        ({ payload: claims } = await jwtVerify(token, key.key, {
          algorithms: ['RS256'],
          issuer: BOT_FRAMEWORK_ISSUER,
          audience: opts.appId,
          clockTolerance: opts.clockToleranceSeconds ?? 300,
          currentDate: now(),
          requiredClaims: ['exp', 'iss', 'aud'],
        }));
      } catch (e) {
        return refuse(joseReason(e));
      }
      const parsed = activitySchema.safeParse(body);
      if (!parsed.success) return refuse('teams.activity_invalid');
      const activity = parsed.data;
      // Bot Framework: the key must be endorsed for the channel the activity claims to come from.
      if (!key.endorsements.includes(activity.channelId)) return refuse('teams.key_not_endorsed');
      if (activity.channelId !== TEAMS_CHANNEL_ID) return refuse('teams.channel_invalid');
      // Bot Framework: the serviceUrl claim must match the activity's, or replies could be steered elsewhere.
      if (typeof claims.serviceUrl !== 'string' || claims.serviceUrl !== activity.serviceUrl) return refuse('teams.service_url_mismatch');
      // Tenant ids are GUIDs; Teams may send them in either case.
      if (tenantOf(activity)?.toLowerCase() !== opts.tenantId.toLowerCase()) return refuse('teams.tenant_mismatch');
      return { ok: true, activity, claims: Object.freeze(claims) };
    },
  };
}
