/** The Microsoft Teams channel pieces, for the wiring to compose. */
export { conversationFor, conversationSchema, teamsConfigSchema, type ConversationReference, type TeamsConfig } from './config.ts';
export { createActivityVerifier, type ActivityVerification, type ActivityVerifier, type ActivityVerifierOptions, type TeamsActivity, type TeamsReason } from './verify-activity.ts';
export { createBotFrameworkKeys, type BotFrameworkKeys, type EndorsedKey } from './keys.ts';
export { createTeamsConnector, TeamsDeliveryError, type ConnectorOptions, type TeamsConnector, type TeamsMember } from './connector.ts';
export { messageCard, requestCard, type AdaptiveCard, type CardOptions, type HeldRequestView, type RequestStatusView } from './card.ts';
export { cardResponse, errorResponse, messageResponse, parseCardAction, type CardAction, type CardVerb, type InvokeParse, type InvokeResponse } from './invoke.ts';
