/**
 * `POST /integrations/teams/messages`: the bot's messaging endpoint. Every
 * activity is verified as Bot Framework documents it (verify-activity.ts);
 * anything refused gets 401 and a `channel.refused` audit event naming the
 * check, never the token. A verified `adaptiveCard/action` invoke is
 * answered with the card as it now stands (teams-actions.ts); a
 * `conversationUpdate` (the bot added to a team or chat) is logged with its
 * serviceUrl and conversation id, which is what `channels.teams.conversation`
 * needs; anything else is acknowledged and ignored.
 */
import { Hono } from 'hono';
import type { TeamsConfig } from '../../../adapters/channel/teams/config.ts';
import type { TeamsConnector } from '../../../adapters/channel/teams/connector.ts';
import { errorResponse, parseCardAction } from '../../../adapters/channel/teams/invoke.ts';
import { createActivityVerifier } from '../../../adapters/channel/teams/verify-activity.ts';
import type { Deps } from '../../../service/deps.ts';
import type { AppEnv } from '../context.ts';
import { createCallRefusals, readLimitedBody } from './inbound.ts';
import { createTeamsActions } from './teams-actions.ts';
import type { RefusalReason } from '../../../core/refusals.ts';

export interface TeamsIntegration {
  readonly config: TeamsConfig;
  readonly connector: TeamsConnector;
  /** The console page of a request, for the card's link. */
  readonly requestUrl: (id: string) => string;
}

/** Activities are small; a card action with a 1,000-character reason is a few KB. */
const MAX_BODY = 256 * 1024;

export function teamsRoutes(deps: Deps, teams: TeamsIntegration): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const refuseCall = createCallRefusals(deps);
  const verifier = createActivityVerifier({
    appId: teams.config.appId,
    tenantId: teams.config.tenantId,
    openIdMetadataUrl: teams.config.openIdMetadataUrl,
    clockToleranceSeconds: teams.config.clockToleranceSeconds,
    timeoutMs: teams.config.timeoutMs,
    now: () => deps.clock.now(),
  });
  const actions = createTeamsActions(deps, teams.connector, { requestUrl: teams.requestUrl, tenantId: teams.config.tenantId });

  app.post('/integrations/teams/messages', async (c) => {
    const refuse = (reason: RefusalReason) => refuseCall(c, { channel: 'teams', reason, message: 'the call did not verify as coming from Bot Framework for the configured bot and tenant' });
    const raw = await readLimitedBody(c, MAX_BODY);
    if (!raw) return refuse('body.too_large');
    let body: unknown = null;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      // Verified as null: the token is checked first, then the activity is refused as invalid.
    }
    const verified = await verifier.verify(c.req.header('authorization'), body);
    if (!verified.ok) return refuse(verified.reason);
    const activity = verified.activity;

    if (activity.type === 'conversationUpdate') {
      // docs/teams.md, step 5: this is where an operator finds the conversation reference.
      deps.log.info({ channel: 'teams', serviceUrl: activity.serviceUrl, conversationId: activity.conversation.id }, 'teams conversation update: use this serviceUrl and conversation id in channels.teams');
      return c.body(null, 200);
    }
    if (activity.type !== 'invoke' || activity['name'] !== 'adaptiveCard/action') return c.body(null, 200);
    const parsed = parseCardAction(activity);
    if (!parsed.ok) return c.json(errorResponse(400, 'INVALID_REQUEST', 'This card action is not one the gateway knows.').body, 200);
    const answer = await actions.handle(parsed.action);
    return c.json(answer.body, answer.status);
  });
  return app;
}
