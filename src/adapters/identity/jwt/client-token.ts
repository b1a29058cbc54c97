/**
 * Whether a token was issued to a client application rather than to a
 * person. An issuer of people's tokens usually also serves the client
 * credentials grant, with the same issuer and audience: such a token speaks
 * for a program (an agent holding its own client secret gets one), and must
 * never be taken as a human who may review. The marks providers put on it:
 *  - RFC 9068 §2.2: with no resource owner, `sub` is the client's identifier,
 *    so it equals `client_id` (Okta: `cid`; `azp`, Entra v1 `appid`);
 *  - Auth0: `gty: client-credentials` (and `sub` is `<client id>@clients`);
 *  - Entra ID: the `idtyp: app` claim of an app-only token; that claim is
 *    optional (an app registration opts in), so also an app-only token's
 *    shape: its `sub` is its own `oid` (a person's `sub` is pairwise, never
 *    the `oid`), with a client authentication (`azpacr`, v1 `appidacr`) and
 *    no delegated scope (`scp`). Azure AD B2C also makes a person's `sub` the
 *    `oid`, but its tokens carry no client authentication;
 *  - Keycloak: a service account's token carries `clientHost` and
 *    `clientAddress` (its `service_account` scope); its `sub` is the service
 *    account's own user id.
 * A provider whose client tokens carry none of these is configured to name
 * humans by a verified email, which no client token has.
 *
 * A person's token also names the application it was issued through. Any
 * application at the provider can usually ask for a token for Countersign's
 * audience: an agent with an application of its own there gets a reviewer's
 * token by sending her a sign-in link for it. An issuer configured with
 * `clients:` (by default, the people's provider: the CLI's client) takes only
 * tokens issued through one of those (`clientAllowed`).
 */

/** The claims that name the client a token was issued through. */
const CLIENT_CLAIMS = ['client_id', 'cid', 'azp', 'appid'] as const;

/**
 * @example
 * issuedToClient({ sub: '0oa1bot', cid: '0oa1bot' }); // true
 * issuedToClient({ sub: '00u1alice', cid: '0oa1cli' }); // false
 */
export function issuedToClient(payload: Readonly<Record<string, unknown>>): boolean {
  if (payload['gty'] === 'client-credentials' || payload['idtyp'] === 'app') return true;
  if (typeof payload['clientHost'] === 'string' || typeof payload['clientAddress'] === 'string') return true;
  const sub = payload['sub'];
  if (typeof sub !== 'string') return false;
  if (entraAppOnly(payload, sub)) return true;
  return CLIENT_CLAIMS.some((c) => {
    const client = payload[c];
    return typeof client === 'string' && client.length > 0 && (sub === client || sub === `${client}@clients`);
  });
}

/**
 * Whether the token names the application it was issued through and every
 * claim that names one (`client_id`, `cid`, `azp`, `appid`) is in `clients`.
 *
 * @example
 * clientAllowed({ sub: 'alice', client_id: 'countersign-cli' }, ['countersign-cli']); // true
 * clientAllowed({ sub: 'alice', azp: 'agent-web-app' }, ['countersign-cli']);          // false
 * clientAllowed({ sub: 'alice' }, ['countersign-cli']);                                // false: names none
 */
export function clientAllowed(payload: Readonly<Record<string, unknown>>, clients: readonly string[]): boolean {
  const named = CLIENT_CLAIMS.filter((c) => payload[c] !== undefined).map((c) => payload[c]);
  return named.length > 0 && named.every((client) => typeof client === 'string' && clients.includes(client));
}

/** An Entra ID app-only access token without the optional `idtyp` claim. */
function entraAppOnly(payload: Readonly<Record<string, unknown>>, sub: string): boolean {
  const authenticatedClient = payload['azpacr'] !== undefined || payload['appidacr'] !== undefined;
  return sub.length > 0 && payload['oid'] === sub && authenticatedClient && payload['scp'] === undefined;
}
