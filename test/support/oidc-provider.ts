/**
 * A real OpenID Provider on 127.0.0.1 (the `oidc-provider` package, with its
 * development login and consent pages): authorization code with PKCE for
 * the web console, the device authorization grant for the CLI, and JWT
 * access tokens for the resource `countersign`. Accounts are whatever login
 * is typed; their claims come from `accounts`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import Provider from 'oidc-provider';

export interface AccountClaims {
  email: string;
  groups?: string[];
  name?: string;
}

/** Another application registered at the same provider (an agent's own web app, say): authorization code, a secret. */
export interface OtherClient {
  clientId: string;
  clientSecret: string;
  redirectUris: string[];
}

export interface TestOidcProvider {
  issuer: string;
  /** Registers the clients once the gateway's address (for redirect URIs) is known. */
  configure(opts: { redirectUris: string[]; accounts: Record<string, AccountClaims>; otherClients?: OtherClient[] }): Promise<void>;
  clientId: string;
  clientSecret: string;
  cliClientId: string;
  audience: string;
  /** The RFC 8707 resource indicator whose access tokens carry `audience`. */
  resource: string;
  /** `identity.login` for the gateway's console sign-in at this provider, as lines under `identity:` (ends with a newline). */
  loginYaml(): string;
  /**
   * An access token signed with the provider's key, as one of its other grants or servers issues it (an Okta custom
   * authorization server's `sub` is the user's login, its ID tokens' the user id; Entra's is pairwise per application).
   */
  sign(claims: JWTPayload): Promise<string>;
  close(): Promise<void>;
}

export async function startTestOidcProvider(opts: { clientSecret?: string } = {}): Promise<TestOidcProvider> {
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const server = createServer((req, res) => {
    if (!handler) {
      res.statusCode = 503;
      res.end();
      return;
    }
    handler(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const signing = { ...(await exportJWK(privateKey)), kid: 'idp-1', alg: 'RS256', use: 'sig' };
  const self: TestOidcProvider = {
    issuer,
    loginYaml: () => `  login:\n    issuer: ${issuer}\n    clientId: ${self.clientId}\n    clientSecret: ${self.clientSecret}\n    scopes: [openid, email, profile, groups]\n`,
    clientId: 'countersign-console',
    clientSecret: opts.clientSecret ?? 'console-secret-for-tests-only-0123456789',
    cliClientId: 'countersign-cli',
    audience: 'countersign',
    resource: 'urn:countersign:gateway',
    sign: (claims) =>
      new SignJWT({ iss: issuer, ...claims }).setProtectedHeader({ alg: 'RS256', kid: 'idp-1', typ: 'at+jwt' }).setIssuedAt().setExpirationTime('10m').sign(privateKey),
    async configure({ redirectUris, accounts, otherClients = [] }) {
      const provider = new Provider(issuer, {
        clients: [
          { client_id: self.clientId, client_secret: self.clientSecret, redirect_uris: redirectUris, grant_types: ['authorization_code'], response_types: ['code'] },
          {
            client_id: self.cliClientId,
            token_endpoint_auth_method: 'none',
            grant_types: ['urn:ietf:params:oauth:grant-type:device_code'],
            response_types: [],
            redirect_uris: [],
          },
          ...otherClients.map((o) => ({ client_id: o.clientId, client_secret: o.clientSecret, redirect_uris: o.redirectUris, grant_types: ['authorization_code'], response_types: ['code'] })),
        ],
        jwks: { keys: [signing] },
        cookies: { keys: ['cookie-key-for-tests-only'] },
        pkce: { required: () => true },
        conformIdTokenClaims: false,
        claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'], groups: ['groups'] },
        scopes: ['openid', 'email', 'profile', 'groups'],
        features: {
          devInteractions: { enabled: true },
          deviceFlow: { enabled: true },
          resourceIndicators: {
            enabled: true,
            defaultResource: () => self.resource,
            useGrantedResource: () => true,
            getResourceServerInfo: () => ({ scope: 'openid email groups', audience: self.audience, accessTokenFormat: 'jwt', accessTokenTTL: 600, jwt: { sign: { alg: 'RS256' } } }),
          },
        },
        extraTokenClaims: async (_ctx: unknown, token: { accountId?: string }) => {
          const a = accounts[token.accountId ?? ""];
          return a ? { email: a.email, email_verified: true, groups: a.groups ?? [] } : undefined;
        },
        findAccount: async (_ctx: unknown, sub: string) => {
          const a = accounts[sub];
          if (!a) return undefined;
          return { accountId: sub, claims: async () => ({ sub, email: a.email, email_verified: true, name: a.name ?? sub, groups: a.groups ?? [] }) };
        },
      });
      // Loopback http: the provider refuses to set secure cookies on it otherwise.
      provider.proxy = false;
      provider.on('server_error', (_ctx: unknown, err: Error) => process.stderr.write(`oidc-provider server_error: ${err.stack}\n`));
      handler = provider.callback();
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
  return self;
}
