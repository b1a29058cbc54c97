/**
 * `countersign login`: a human gets a token for the CLI by the OAuth 2.0
 * device authorization grant (RFC 8628). The gateway says which provider
 * and client to use (GET /auth/cli); flags override it. The CLI prints a
 * code and a URL, the human approves in any browser, and the access token
 * is saved for this gateway (`countersign logout` forgets it).
 */
import * as oidc from 'openid-client';
import { discoverProvider } from '../adapters/identity/oidc/client.ts';
import { forgetToken, saveToken } from './credentials.ts';
import { UsageError } from './requests.ts';

export interface LoginOptions {
  url: string;
  issuer?: string;
  clientId?: string;
  scope?: string;
  resource?: string;
}

interface CliLogin {
  issuer: string;
  clientId: string;
  scopes: string[];
  resource?: string;
}

async function fromGateway(url: string): Promise<CliLogin | undefined> {
  const res = await fetch(`${url.replace(/\/$/, '')}/auth/cli`).catch(() => undefined);
  if (!res?.ok) return undefined;
  return (await res.json()) as CliLogin;
}

export async function loginCommand(o: LoginOptions): Promise<number> {
  const offered = o.issuer && o.clientId ? undefined : await fromGateway(o.url);
  const issuer = o.issuer ?? offered?.issuer;
  const clientId = o.clientId ?? offered?.clientId;
  if (!issuer || !clientId) throw new UsageError(`${o.url} offers no CLI login (identity.login.cli in its config); pass --issuer and --client-id`);
  const scope = o.scope ?? offered?.scopes.join(' ') ?? 'openid email';
  const resource = o.resource ?? offered?.resource;
  const config = await discoverProvider(issuer, clientId);
  const device = await oidc.initiateDeviceAuthorization(config, { scope, ...(resource ? { resource } : {}) });
  process.stdout.write(
    `To sign in, open ${device.verification_uri} and enter the code ${device.user_code}\n` +
      (device.verification_uri_complete ? `(or open ${device.verification_uri_complete})\n` : '') +
      `Waiting for you to approve (the code expires in ${Math.round(device.expires_in / 60)} min)…\n`,
  );
  let tokens: Awaited<ReturnType<typeof oidc.pollDeviceAuthorizationGrant>>;
  try {
    tokens = await oidc.pollDeviceAuthorizationGrant(config, device, resource ? { resource } : undefined);
  } catch (e) {
    // The provider's own words (access_denied, expired_token, …), never a stack.
    const why = e instanceof oidc.ResponseBodyError ? `${e.error}${e.error_description ? `: ${e.error_description}` : ''}` : e instanceof Error ? e.message : String(e);
    process.stdout.write(`Sign-in did not complete: ${why}\n`);
    return 1;
  }
  const expiresIn = tokens.expiresIn();
  saveToken(o.url, { token: tokens.access_token, issuer, expiresAt: expiresIn === undefined ? null : new Date(Date.now() + expiresIn * 1000).toISOString() });
  const who = await fetch(`${o.url.replace(/\/$/, '')}/v1/whoami`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
  const body = (await who.json()) as { id?: string; kind?: string; error?: { code: string; message: string } };
  if (!who.ok) {
    process.stdout.write(`Signed in at ${issuer}, but ${o.url} refuses the token: ${body.error?.code}: ${body.error?.message}\n`);
    return 1;
  }
  process.stdout.write(`Signed in to ${o.url} as ${body.id} (${body.kind}).\n`);
  return 0;
}

export function logoutCommand(o: { url: string }): number {
  process.stdout.write(forgetToken(o.url) ? `Signed out of ${o.url}.\n` : `No saved sign-in for ${o.url}.\n`);
  return 0;
}
