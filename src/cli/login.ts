/**
 * `countersign login`: a human signs in for the CLI, through the browser by
 * default (login-browser.ts: a loopback redirect, state and PKCE, RFC 8252;
 * the gateway runs the sign-in at the identity provider with its own client
 * and gives the CLI a credential of its own). `--device` uses the OAuth 2.0
 * device authorization grant (RFC 8628) instead, for a machine without a
 * browser, only where the gateway's operator turned it on
 * (identity.login.cli.deviceCode): its code can be phished. The credential
 * is saved for this gateway; `countersign logout` ends it and forgets it.
 */
import * as oidc from 'openid-client';
import { discoverProvider } from '../adapters/identity/oidc/client.ts';
import { bearerFor, forgetToken, saveToken } from './credentials.ts';
import { browserLogin, LoginRefused } from './login-browser.ts';
import { UsageError } from './requests.ts';
import type { CliIo } from './io.ts';

export interface LoginOptions {
  url: string;
  /** The device authorization grant instead of the browser. */
  device?: boolean;
  /** false (`--no-browser`): print the address, open nothing. */
  browser?: boolean;
  issuer?: string;
  clientId?: string;
  scope?: string;
  resource?: string;
}

interface CliLogin {
  browser?: { start: string; token: string };
  deviceCode?: { issuer: string; clientId: string; scopes: string[]; resource?: string };
}

const trim = (url: string) => url.replace(/\/$/, '');

async function fromGateway(url: string): Promise<CliLogin | undefined> {
  const res = await fetch(`${trim(url)}/auth/cli`).catch(() => undefined);
  if (!res?.ok) return undefined;
  return (await res.json()) as CliLogin;
}

/** Says who the gateway takes the credential for; 0 when it takes it. */
async function confirm(url: string, token: string, where: string, io: CliIo): Promise<number> {
  const who = await fetch(`${trim(url)}/v1/whoami`, { headers: { authorization: `Bearer ${token}` } });
  const body = (await who.json()) as { id?: string; kind?: string; error?: { code: string; message: string } };
  if (!who.ok) {
    io.stdout.write(`Signed in at ${where}, but ${url} refuses the credential: ${body.error?.code}: ${body.error?.message}\n`);
    return 1;
  }
  io.stdout.write(`Signed in to ${url} as ${body.id} (${body.kind}).\n`);
  return 0;
}

export async function loginCommand(o: LoginOptions, io: CliIo): Promise<number> {
  if (o.device || o.issuer || o.clientId) return deviceLogin(o, io);
  const offered = await fromGateway(o.url);
  if (!offered?.browser) throw new UsageError(`${o.url} offers no CLI login (identity.login.cli in its config)`);
  let result;
  try {
    result = await browserLogin(o.url, offered.browser.start, offered.browser.token, { open: o.browser !== false }, io);
  } catch (e) {
    if (!(e instanceof LoginRefused)) throw e;
    io.stdout.write(`Sign-in did not complete: ${e.code}: ${e.message}\n`);
    return 1;
  }
  saveToken(o.url, { token: result.token, issuer: new URL(o.url).origin, expiresAt: result.expiresAt }, io.env);
  return confirm(o.url, result.token, o.url, io);
}

async function deviceLogin(o: LoginOptions, io: CliIo): Promise<number> {
  const offered = o.issuer && o.clientId ? undefined : (await fromGateway(o.url))?.deviceCode;
  const issuer = o.issuer ?? offered?.issuer;
  const clientId = o.clientId ?? offered?.clientId;
  if (!issuer || !clientId) {
    throw new UsageError(`${o.url} does not offer the device grant (identity.login.cli.deviceCode in its config); sign in through the browser: countersign login`);
  }
  const scope = o.scope ?? offered?.scopes.join(' ') ?? 'openid email';
  const resource = o.resource ?? offered?.resource;
  const config = await discoverProvider(issuer, clientId);
  const device = await oidc.initiateDeviceAuthorization(config, { scope, ...(resource ? { resource } : {}) });
  io.stdout.write(
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
    io.stdout.write(`Sign-in did not complete: ${why}\n`);
    return 1;
  }
  const expiresIn = tokens.expiresIn();
  saveToken(o.url, { token: tokens.access_token, issuer, expiresAt: expiresIn === undefined ? null : new Date(Date.now() + expiresIn * 1000).toISOString() }, io.env);
  return confirm(o.url, tokens.access_token, issuer, io);
}

export async function logoutCommand(o: { url: string }, io: CliIo): Promise<number> {
  // The gateway's credential ends there too; a provider's token (device grant) lasts until it expires.
  const saved = bearerFor(o.url, undefined, io.env);
  if (saved?.startsWith('csl_')) {
    await fetch(`${trim(o.url)}/auth/cli/logout`, { method: 'POST', headers: { authorization: `Bearer ${saved}` } }).catch(() => undefined);
  }
  io.stdout.write(forgetToken(o.url, io.env) ? `Signed out of ${o.url}.\n` : `No saved sign-in for ${o.url}.\n`);
  return 0;
}
