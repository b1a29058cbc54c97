/**
 * Headers that tell an upstream who is calling, apart from the credential the
 * gateway sends: impersonation (Kubernetes `Impersonate-*`) and the identity
 * an authenticating proxy asserts to what stands behind it (Kubernetes
 * front-proxy `X-Remote-*`, oauth2-proxy, Grafana's auth proxy, Kong, Azure
 * App Service, Google IAP, AWS ALB, Cloudflare Access, Pomerium, Authelia's
 * `Remote-*`, authentik's `X-authentik-*`, Tailscale Serve, vouch-proxy,
 * mod_auth_openidc, Teleport, TLS client certificates passed on). Sent by an agent, the gateway's credential would
 * act as whoever the agent names, so they are dropped like client addresses
 * unless a connection's `allow.headers` names them. Names as headerKey gives
 * them: lower case, `_` and `.` read as `-`.
 */

const EXACT = new Set([
  'x-user',
  'x-user-id',
  'x-username',
  'x-user-email',
  'x-user-groups',
  'x-email',
  'x-groups',
  'x-credential-identifier',
  'x-anonymous-consumer',
  'x-userinfo',
  'x-jwt-assertion',
  'x-endpoint-api-userinfo',
  'x-apigateway-api-userinfo',
  'ssl-client-cert',
  'x-client-cert',
  'x-client-cert-chain',
  'x-client-verify',
  'x-arr-clientcert',
  // Elasticsearch's run-as and OpenSearch Security's REST impersonation: the key acting as the user named.
  'es-security-runas-user',
  'opendistro-security-impersonate-as',
]);

const PREFIXES = [
  'impersonate-',
  // Remote-User, Remote-Groups, Remote-Email, Remote-Name (Authelia, and what Caddy or nginx copy from it).
  'remote-',
  'x-authentik-',
  'x-remote-',
  'x-auth-request-',
  'x-webauth-',
  'x-authenticated-',
  'x-consumer-',
  'x-ms-client-principal',
  'x-goog-authenticated-user-',
  'x-goog-iap-',
  'x-amzn-oidc-',
  'cf-access-',
  'x-pomerium-',
  'x-ssl-client-',
  'ssl-client-',
  // Tailscale Serve (Tailscale-User-Login, -Name, -Profile-Pic; Tailscale-App-Capabilities), vouch-proxy (X-Vouch-User,
  // X-Vouch-Idp-Claims-*), mod_auth_openidc (OIDC_CLAIM_*, OIDC_access_token, OIDC_id_token_payload), Teleport's app access.
  'tailscale-user-',
  'tailscale-app-capabilities',
  'x-vouch-',
  'oidc-claim-',
  'oidc-access-token',
  'oidc-id-token',
  'teleport-jwt-assertion',
];

/**
 * @example
 * isIdentityHeader('impersonate-group'); // true
 */
export function isIdentityHeader(key: string): boolean {
  return EXACT.has(key) || PREFIXES.some((p) => key.startsWith(p));
}
