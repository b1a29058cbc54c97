/**
 * The `identity` section: OIDC/JWT issuers whose tokens authenticate agents
 * (and humans with a bearer token), and the web sign-in for humans. Presets
 * fill safe defaults for GitHub Actions and Okta; anything else (Keycloak,
 * Auth0, Entra ID, SPIFFE JWT-SVIDs) uses the generic form.
 */
import { z } from 'zod';
import { DEFAULT_GROUPS_MAX_AGE_SECONDS, MAX_GROUPS_MAX_AGE_SECONDS, MIN_GROUPS_MAX_AGE_SECONDS } from '../core/known-human.ts';
import { duration, hasUserInfo, USER_INFO_REFUSED } from './primitives.ts';
import { pinsTenant, sharedIssuer } from './shared-issuers.ts';

/** Only asymmetric algorithms: an HMAC "key" would be the issuer's public key (algorithm confusion). */
export const JWT_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** https, or http on loopback only (a local issuer in development and tests). */
export const secureUrl = z
  .string()
  .url()
  .refine((u) => {
    const url = new URL(u);
    return url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.has(url.hostname));
  }, 'an https:// URL (http:// only on 127.0.0.1 or localhost)')
  .refine((u) => !hasUserInfo(u), USER_INFO_REFUSED);

const claimPath = z.string().regex(/^[A-Za-z0-9_:-]+(\.[A-Za-z0-9_:-]+)*$/, 'a claim name, or a dotted path such as act.sub');

const principalMapping = z.strictObject({
  kind: z.enum(['agent', 'human']),
  /** The claim whose value is the principal id. */
  id: claimPath.default('sub'),
  groups: claimPath.optional(),
  /** The claim naming the human an agent acts for (RFC 8693 delegation: see the README). */
  actsFor: claimPath.optional(),
  email: claimPath.optional(),
});

const common = {
  audience: z.string().min(1),
  jwksUri: secureUrl.optional(),
  algorithms: z.array(z.enum(JWT_ALGORITHMS)).min(1).optional(),
  /** Identity-provider group → Countersign groups. A provider's group grants nothing that is not mapped here. */
  groupMap: z.record(z.string().min(1), z.array(z.string().min(1))).default({}),
  /** true: the provider's group names are Countersign groups as they are (only for a provider whose groups you administer). */
  trustGroups: z.boolean().default(false),
  /**
   * The applications (client ids) whose tokens are taken: a token must name one in `client_id`, `cid`, `azp` or
   * `appid`. Absent: any, except at the issuer of identity.login with `cli`, whose human tokens come only through the
   * device grant's client when `cli.deviceCode` is true, else through none.
   */
  clients: z.array(z.string().min(1)).min(1).optional(),
  /**
   * Claims a token must carry, each with one of the listed values (a number compares as its decimal text): pins an
   * issuer that others share to your own tenant by id (`namespace_id: [1234]`). Needed for gitlab.com, Buildkite and
   * HCP Terraform (shared-issuers.ts).
   */
  claims: z
    .record(claimPath, z.array(z.union([z.string().min(1), z.number().int()]).transform(String)).min(1))
    .refine((m) => Object.keys(m).length > 0, 'at least one claim')
    .optional(),
};

const genericIssuer = z.strictObject({
  preset: z.literal('generic').optional(),
  /** Compared exactly with the token's `iss`, trailing slash included. */
  issuer: secureUrl,
  ...common,
  principal: principalMapping,
});

const githubRepository = z.strictObject({
  /** `repository_id`: a repository deleted and recreated under the same name gets another. */
  id: z.union([z.number().int().positive(), z.string().regex(/^\d+$/)]).transform(String),
  /** `repository_owner_id`, checked when given. */
  ownerId: z.union([z.number().int().positive(), z.string().regex(/^\d+$/)]).transform(String).optional(),
  /** `job_workflow_ref` values allowed (exact, or ending in `@*` for any ref); any when absent. */
  workflows: z.array(z.string().min(1)).optional(),
});

const githubIssuer = z.strictObject({
  preset: z.literal('github-actions'),
  issuer: secureUrl.default('https://token.actions.githubusercontent.com'),
  ...common,
  principal: principalMapping.partial({ kind: true }).default({ kind: 'agent', id: 'repository' }).transform((p) => ({ ...p, kind: 'agent' as const, id: p.id ?? 'repository' })),
  /** Tokens are accepted only from these repositories, matched by numeric id, never by name alone. */
  repositories: z.array(githubRepository).min(1),
});

const oktaIssuer = z.strictObject({
  preset: z.literal('okta'),
  /** A custom authorization server (`https://<org>.okta.com/oauth2/<id>`): the org server's tokens are for Okta alone. */
  issuer: secureUrl.refine((u) => /\/oauth2\/[^/]+$/.test(new URL(u).pathname), 'a custom authorization server issuer, https://<org>.okta.com/oauth2/<server id>'),
  ...common,
  principal: principalMapping.partial({ kind: true }).default({ kind: 'agent', id: 'sub' }).transform((p) => ({ ...p, kind: p.kind ?? ('agent' as const), id: p.id ?? 'sub' })),
});

/** GitHub Actions' token issuer: github.com's, or a GitHub Enterprise Server's (`https://<host>/_services/token`). */
function isGithubActionsIssuer(issuer: string): boolean {
  const url = new URL(issuer);
  return url.hostname === 'token.actions.githubusercontent.com' || /^\/_services\/token\/?$/.test(url.pathname);
}

export const issuerSchema = z.discriminatedUnion('preset', [githubIssuer, oktaIssuer, genericIssuer]);

/** Humans signing in: the web console and the CLI by authorization code + PKCE; the CLI by device authorization only when turned on. */
const loginSchema = z.strictObject({
  issuer: secureUrl,
  clientId: z.string().min(1),
  /** Absent: a public client (PKCE alone). */
  clientSecret: z.string().min(1).optional(),
  /** Where the gateway is reached; the redirect URI is `<publicUrl>/auth/oidc/callback`. Default: the address the browser used. */
  publicUrl: secureUrl.optional(),
  scopes: z.array(z.string().min(1)).default(['openid', 'email', 'profile']),
  /** ID token claims → the human principal. The id claim must be verified when it is `email`. */
  principal: z
    .strictObject({ id: claimPath.default('email'), groups: claimPath.default('groups'), email: claimPath.default('email') })
    .prefault({}),
  /** Provider group → Countersign groups; unmapped provider groups grant nothing unless `trustGroups` is true. */
  groupMap: z.record(z.string().min(1), z.array(z.string().min(1))).default({}),
  trustGroups: z.boolean().default(false),
  /**
   * How long the groups a sign-in brought count for a chat click (Slack, Teams) by the same human, whose chat account
   * carries no word from the provider: older, they count for nothing until the human signs in again (IDENTITY_STALE).
   */
  groupsMaxAge: duration
    .refine((s) => s >= MIN_GROUPS_MAX_AGE_SECONDS && s <= MAX_GROUPS_MAX_AGE_SECONDS, 'between 1m and 7d')
    .default(DEFAULT_GROUPS_MAX_AGE_SECONDS),
  /**
   * `countersign login`: present, the CLI signs humans in through the browser, the gateway running the sign-in
   * with the client above (authorization code + PKCE) and handing the CLI a credential of its own through a
   * loopback redirect (RFC 8252). `deviceCode: true` also offers the device authorization grant (RFC 8628) with
   * the public `clientId`, for machines without a browser, and takes that client's tokens: anyone may start that
   * grant and send a reviewer its code (device-code phishing), so it is off unless the operator turns it on.
   */
  cli: z
    .strictObject({
      deviceCode: z.boolean().default(false),
      /** The public client of the device grant (only with `deviceCode: true`). */
      clientId: z.string().min(1).optional(),
      scopes: z.array(z.string().min(1)).default(['openid', 'email']),
      /** RFC 8707 resource indicator, for providers that issue JWT access tokens per resource. */
      resource: z.string().min(1).optional(),
    })
    .refine((c) => !c.deviceCode || c.clientId !== undefined, { message: 'deviceCode: true needs the public clientId of the device grant', path: ['clientId'] })
    .optional(),
});

export const identitySchema = z
  .strictObject({
    issuers: z.array(issuerSchema).default([]),
    login: loginSchema.optional(),
    /** Tolerance for exp, nbf and iat against the gateway's clock. */
    clockSkewSeconds: z.number().int().min(0).max(600).default(60),
    jwks: z
      .strictObject({
        /** An unknown kid refetches the JWKS at most once per this many seconds (a burst of forged kids costs one fetch). */
        cooldownSeconds: z.number().min(0).default(30),
        /** Keys are refetched after this long even when every kid is known. */
        cacheMaxAgeSeconds: z.number().positive().default(600),
        timeoutMs: z.number().int().positive().default(5000),
      })
      .prefault({}),
  })
  .superRefine((c, ctx) => {
    // GitHub mints this issuer's tokens for any workflow of any repository, with whatever audience it asks for: only the
    // preset, which pins repositories by id, tells the operator's workflows from anyone else's.
    c.issuers.forEach((i, n) => {
      if ((i.preset ?? 'generic') !== 'generic' || !isGithubActionsIssuer(i.issuer)) return;
      ctx.addIssue({
        code: 'custom',
        path: ['issuers', n, 'issuer'],
        message: `GitHub Actions mints tokens of this issuer for every repository on GitHub (or the enterprise), with any audience a workflow asks for: use preset: github-actions, which takes only the repositories it pins by id`,
      });
    });
    // Google signs ID tokens for any audience a service account of any project asks (generateIdToken): only the
    // applications the token names (azp: the service account's unique id, or an OAuth client) tell the operator's own.
    c.issuers.forEach((i, n) => {
      if (i.clients || new URL(i.issuer).hostname !== 'accounts.google.com') return;
      ctx.addIssue({
        code: 'custom',
        path: ['issuers', n, 'clients'],
        message: `any Google Cloud service account, of any project, can have Google sign a token of ${i.issuer} with audience ${i.audience}: list the applications taken (clients: the unique ids of your service accounts, or your OAuth client ids; a token's azp)`,
      });
    });
    // gitlab.com, Buildkite and HCP Terraform sign every tenant's tokens with one issuer, for any audience a job asks.
    c.issuers.forEach((i, n) => {
      const shared = sharedIssuer(i.issuer);
      if (!shared || pinsTenant(shared, i.claims)) return;
      ctx.addIssue({
        code: 'custom',
        path: ['issuers', n, 'claims'],
        message: `${shared.service} signs tokens of ${i.issuer} for every one of its tenants, with any audience a job asks for (${i.audience} too): pin yours by id with claims: { ${shared.tenantIds.join(' | ')}: [<id>] } (a name such as a path or slug can be taken again once its owner deletes it)`,
      });
    });
    // Listed by hand (as configurations before the browser sign-in did), the device grant's client would keep taking
    // the tokens anyone can have a reviewer sign in to for it, with the grant turned off: say so at start.
    const cli = c.login?.cli;
    if (!cli?.clientId || cli.deviceCode) return;
    c.issuers.forEach((i, n) => {
      if (i.issuer !== c.login?.issuer || !i.clients?.includes(cli.clientId!)) return;
      ctx.addIssue({
        code: 'custom',
        path: ['issuers', n, 'clients'],
        message: `lists ${cli.clientId}, the device grant's public client (identity.login.cli.clientId): its tokens come from a grant anyone can start and send a reviewer the code of; set identity.login.cli.deviceCode: true to take them anyway, or remove it`,
      });
    });
  })
  .prefault({});

export type IssuerConfig = z.output<typeof issuerSchema>;
export type LoginConfig = z.output<typeof loginSchema>;
export type IdentityConfig = z.output<typeof identitySchema>;
