/**
 * `POST /integrations/slack/interactions`: Slack's interactivity callback.
 * Every call is verified the way Slack specifies (signature over the raw
 * body, five-minute window both ways), then the workspace and the app are
 * checked; anything refused gets 401 and a `channel.refused` audit event
 * naming the check, never the secret. Slack wants an answer within three
 * seconds, so the answer goes first and the work (users.info, the review,
 * the modal) runs after it.
 */
import { Hono } from 'hono';
import type { SlackApi } from '../../../adapters/channel/slack/api.ts';
import { APPROVE_ACTION, DENY_ACTION, DENY_MODAL } from '../../../adapters/channel/slack/message.ts';
import { verifySlackSignature } from '../../../adapters/channel/slack/signature.ts';
import type { Deps } from '../../../service/deps.ts';
import type { AppEnv } from '../context.ts';
import { createCallRefusals, readLimitedBody } from './inbound.ts';
import { createSlackActions } from './slack-actions.ts';
import type { RefusalReason } from '../../../core/refusals.ts';

export interface SlackIntegration {
  readonly config: { readonly signingSecret: string; readonly teamId: string; readonly appId: string; readonly apiUrl: string };
  readonly api: SlackApi;
}

/** Interaction payloads are small; anything bigger is not from Slack. */
const MAX_BODY = 64 * 1024;

interface Payload {
  type?: string;
  team?: { id?: string };
  api_app_id?: string;
  user?: { id?: string };
  trigger_id?: string;
  response_url?: string;
  actions?: { action_id?: string; value?: string }[];
  /** The message whose button was clicked. */
  container?: { channel_id?: string; message_ts?: string };
  view?: { callback_id?: string; private_metadata?: string; state?: { values?: Record<string, Record<string, { value?: string | null }>> } };
}

export function slackRoutes(deps: Deps, slack: SlackIntegration): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const refuseCall = createCallRefusals(deps);
  const actions = createSlackActions(deps, slack.api, { responseOrigins: ['https://hooks.slack.com/', new URL(slack.config.apiUrl).origin + '/'], teamId: slack.config.teamId });

  app.post('/integrations/slack/interactions', async (c) => {
    const refuse = (reason: RefusalReason) => refuseCall(c, { channel: 'slack', reason, message: 'the call did not verify as coming from the configured Slack app' });
    const body = await readLimitedBody(c, MAX_BODY);
    if (!body) return refuse('body.too_large');
    const check = verifySlackSignature({
      secret: slack.config.signingSecret,
      timestamp: c.req.header('x-slack-request-timestamp'),
      signature: c.req.header('x-slack-signature'),
      body,
      now: deps.clock.now(),
    });
    if (!check.ok) return refuse(check.reason);

    let payload: Payload;
    try {
      payload = JSON.parse(new URLSearchParams(body.toString('utf8')).get('payload') ?? '') as Payload;
    } catch {
      return c.json({ error: { code: 'INVALID_REQUEST', message: 'no interaction payload', traceId: c.get('traceId') } }, 400);
    }
    if (payload.team?.id !== slack.config.teamId) return refuse('team.mismatch');
    if (payload.api_app_id !== slack.config.appId) return refuse('app.mismatch');
    const user = payload.user?.id;
    if (!user) return c.body(null, 200);

    if (payload.type === 'block_actions') {
      const action = payload.actions?.[0];
      const requestId = action?.value ?? '';
      const clicked = payload.container?.channel_id && payload.container.message_ts ? { channel: payload.container.channel_id, ts: payload.container.message_ts } : undefined;
      const actor = { user, requestId, ...(clicked ? { message: clicked } : {}), ...(payload.response_url ? { responseUrl: payload.response_url } : {}) };
      if (action?.action_id === APPROVE_ACTION && requestId) setImmediate(() => void actions.approve(actor));
      if (action?.action_id === DENY_ACTION && requestId && payload.trigger_id) {
        const trigger = payload.trigger_id;
        setImmediate(() => void actions.askDenyReason(actor, trigger));
      }
      return c.body(null, 200);
    }
    if (payload.type === 'view_submission' && payload.view?.callback_id === DENY_MODAL) {
      const requestId = payload.view.private_metadata ?? '';
      const reason = (payload.view.state?.values?.['reason']?.['reason']?.value ?? '').trim();
      if (!reason) return c.json({ response_action: 'errors', errors: { reason: 'Say why, so the requester knows.' } });
      if (requestId) setImmediate(() => void actions.deny({ user, requestId }, reason.slice(0, 1000)));
      // An empty 200 closes the modal.
      return c.body(null, 200);
    }
    return c.body(null, 200);
  });
  return app;
}
