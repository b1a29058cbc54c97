/**
 * The `channels.teams` section of the configuration: the bot's Microsoft
 * Entra app (id and client secret, from the environment), the tenant whose
 * users may decide, the conversation a held request is posted to, and the
 * two Bot Framework endpoints (configurable so tests can serve their own).
 * The wiring adds this schema to the one config schema; nothing here reads
 * the environment.
 */
import { z } from 'zod';

/** The bot's app id: a Microsoft Entra application (client) id, a GUID. */
const guid = z.string().regex(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, 'a GUID such as 00000000-0000-0000-0000-000000000000');

/** https, or http to a loopback address (the fakes in tests): a bearer token never travels in clear. */
export function isSafeUrl(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  if (url.username !== '' || url.password !== '') return false;
  return url.protocol === 'https:' || (url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname));
}

const safeUrl = z.string().refine(isSafeUrl, 'an https:// URL (http:// only to 127.0.0.1 or localhost) with no user or password in it');

/**
 * Where a card is posted: the Bot Connector endpoint of the region and the
 * conversation (a channel thread `19:…@thread.tacv2`, a group chat or a 1:1).
 *
 * @example
 * conversationSchema.parse({ serviceUrl: 'https://smba.trafficmanager.net/emea/', id: '19:abc@thread.tacv2' });
 */
export const conversationSchema = z.strictObject({
  serviceUrl: safeUrl,
  id: z.string().min(1).max(512),
});
export type ConversationReference = z.infer<typeof conversationSchema>;

/**
 * `channels.teams`. `conversations` names further conversations a policy
 * rule may route to (`notify: [{teams: "db-approvals"}]`); `conversation`
 * is the default.
 *
 * @example
 * const teams = teamsConfigSchema.parse({
 *   appId: '11111111-2222-3333-4444-555555555555', appPassword: process.env.TEAMS_APP_PASSWORD,
 *   tenantId: '66666666-7777-8888-9999-000000000000',
 *   conversation: { serviceUrl: 'https://smba.trafficmanager.net/emea/', id: '19:abc@thread.tacv2' },
 * });
 * teams.openIdMetadataUrl; // 'https://login.botframework.com/v1/.well-known/openidconfiguration'
 */
export const teamsConfigSchema = z.strictObject({
  appId: guid,
  appPassword: z.string().min(1, 'the bot app secret (set it from the environment: ${TEAMS_APP_PASSWORD})'),
  tenantId: guid,
  conversation: conversationSchema,
  conversations: z.record(z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'a name of lower-case letters, digits, - and _'), conversationSchema).default({}),
  openIdMetadataUrl: safeUrl.default('https://login.botframework.com/v1/.well-known/openidconfiguration'),
  tokenUrl: safeUrl.default('https://login.microsoftonline.com/botframework.com/oauth2/v2.0/token'),
  /** Bot Framework requires 5 minutes of clock tolerance; lower it only to be stricter. */
  clockToleranceSeconds: z.number().int().min(0).max(300).default(300),
  timeoutMs: z.number().int().positive().default(10_000),
});
export type TeamsConfig = z.infer<typeof teamsConfigSchema>;

/**
 * The conversation a card goes to: a named one, else the default.
 *
 * @example
 * conversationFor(teams, 'db-approvals'); // teams.conversations['db-approvals'] ?? teams.conversation
 */
export function conversationFor(cfg: TeamsConfig, name?: string): ConversationReference {
  return (name !== undefined ? cfg.conversations[name] : undefined) ?? cfg.conversation;
}
