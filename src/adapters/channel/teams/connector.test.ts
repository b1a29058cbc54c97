import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeBotFramework, type FakeBotFramework } from '../../../../test/support/fake-botframework.ts';
import { createTeamsConnector } from './connector.ts';

let bf: FakeBotFramework;
beforeAll(async () => {
  bf = await startFakeBotFramework();
});
afterAll(() => bf.close());

describe('the Bot Connector client', () => {
  it('looks up a conversation member by Entra object id or email, and says undefined for a stranger', async () => {
    const connector = createTeamsConnector(bf);
    bf.members.set('aaaaaaaa-0000-0000-0000-00000000000a', { aadObjectId: 'aaaaaaaa-0000-0000-0000-00000000000a', email: 'Ann@Example.com' });
    const conversation = { serviceUrl: bf.serviceUrl, id: '19:abc@thread.tacv2' };
    expect(await connector.getMember(conversation, 'aaaaaaaa-0000-0000-0000-00000000000a')).toMatchObject({ aadObjectId: 'aaaaaaaa-0000-0000-0000-00000000000a', email: 'Ann@Example.com', userPrincipalName: 'Ann@Example.com' });
    expect((await connector.getMember(conversation, 'ann@example.com'))?.aadObjectId).toBe('aaaaaaaa-0000-0000-0000-00000000000a');
    expect(await connector.getMember(conversation, 'nobody@example.com')).toBeUndefined();
    expect(bf.memberLookups.at(-1)).toEqual({ conversationId: '19:abc@thread.tacv2', userId: 'nobody@example.com' });
  });

  it('puts a conversation id with reserved characters into one path segment', async () => {
    const connector = createTeamsConnector(bf);
    const conversation = { serviceUrl: bf.serviceUrl.replace(/\/$/, ''), id: '19:abc@thread.tacv2;messageid=1700000000001' };
    const id = await connector.postCard(conversation, { type: 'AdaptiveCard' });
    expect(bf.posted.at(-1)).toMatchObject({ conversationId: conversation.id, activityId: id });
  });

  it('sends no token to a service URL that is not https', async () => {
    const connector = createTeamsConnector(bf);
    const before = bf.fetches.token;
    await expect(connector.postCard({ serviceUrl: 'http://smba.example.com/', id: '19:x' }, {})).rejects.toMatchObject({ name: 'TeamsDeliveryError', retryable: false });
    expect(bf.fetches.token).toBe(before);
  });

  it('drops a token the Bot Connector refused and asks for a new one next time', async () => {
    const connector = createTeamsConnector(bf);
    await connector.postCard({ serviceUrl: bf.serviceUrl, id: '19:x' }, {});
    bf.issuedTokens.splice(0, bf.issuedTokens.length); // the connector forgets every token it knew
    const before = bf.fetches.token;
    await expect(connector.postCard({ serviceUrl: bf.serviceUrl, id: '19:x' }, {})).rejects.toMatchObject({ status: 401, retryable: true });
    await connector.postCard({ serviceUrl: bf.serviceUrl, id: '19:x' }, {});
    expect(bf.fetches.token - before).toBe(1);
  });

  it('reports an updated activity the Bot Connector does not know', async () => {
    const connector = createTeamsConnector(bf);
    await expect(connector.updateCard({ serviceUrl: bf.serviceUrl, id: '19:x' }, 'nope', {})).rejects.toMatchObject({ status: 404, retryable: false });
  });

  it('times out a token endpoint that does not answer, as a retryable error', async () => {
    const { createServer } = await import('node:http');
    const silent = createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as { port: number }).port;
    const connector = createTeamsConnector({ ...bf, tokenUrl: `http://127.0.0.1:${port}/token`, timeoutMs: 200 });
    await expect(connector.postCard({ serviceUrl: bf.serviceUrl, id: '19:x' }, {})).rejects.toMatchObject({ name: 'TeamsDeliveryError', retryable: true });
    silent.closeAllConnections();
    silent.close();
  });
});
