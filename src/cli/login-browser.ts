/**
 * `countersign login` through the browser (RFC 8252, native apps): the CLI
 * listens on 127.0.0.1 at a port the system picks, opens the browser (or
 * prints the address) at the gateway's `/auth/cli/start` with that loopback
 * address, a random `state` and a PKCE challenge (S256), and waits. The
 * gateway signs the human in at the identity provider with its own client and
 * sends the browser back to the loopback with a one-time code; the CLI checks
 * the state and redeems the code with its PKCE verifier for the gateway's
 * credential. A code that reaches another machine's loopback (a link an agent
 * sent a reviewer) is worth nothing without the verifier, which never left
 * the process that started the sign-in.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CliIo } from './io.ts';

/** How long the CLI waits for the browser. */
const WAIT_MS = 5 * 60_000;

export interface BrowserLoginResult {
  readonly token: string;
  readonly expiresAt: string | null;
}

/** A refusal with the registry's code, said to the terminal as `code: message`. */
export class LoginRefused extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function page(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' });
  res.end(`<!doctype html><meta charset="utf-8"><title>Countersign</title><p>${text}</p>`);
}

function sameSecret(given: string | null, expected: string): boolean {
  if (given === null) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Opens `url` in the desktop's browser when there is one; says nothing when there is not (the address is printed). */
function openBrowser(url: string): void {
  const [cmd, args] =
    process.platform === 'darwin' ? ['open', [url]] : process.platform === 'win32' ? ['rundll32', ['url.dll,FileProtocolHandler', url]] : ['xdg-open', [url]];
  try {
    const child = spawn(cmd, args, { stdio: 'ignore', detached: true });
    child.on('error', () => {});
    child.unref();
  } catch {
    // No browser here: the printed address does.
  }
}

/**
 * @example
 * const { token } = await browserLogin('https://countersign.acme.internal', '/auth/cli/start', '/auth/cli/token', { open: true });
 */
export async function browserLogin(gateway: string, startPath: string, tokenPath: string, o: { open: boolean }, io: CliIo): Promise<BrowserLoginResult> {
  const base = `${gateway.replace(/\/$/, '')}/`;
  const state = randomBytes(32).toString('base64url');
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');

  let settle!: (r: { code: string } | { refused: LoginRefused }) => void;
  const answered = new Promise<{ code: string } | { refused: LoginRefused }>((r) => (settle = r));
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (req.method !== 'GET' || url.pathname !== '/callback') return page(res, 404, 'Not found.');
    const code = url.searchParams.get('code');
    if (!sameSecret(url.searchParams.get('state'), state) || !code) {
      page(res, 400, 'This sign-in was not started by the countersign login waiting here; it was refused. Run countersign login again.');
      return settle({ refused: new LoginRefused('LOGIN_STATE_MISMATCH', 'the answer at the loopback address carries another state than the one sent: a sign-in this login did not start; nothing was redeemed') });
    }
    page(res, 200, 'Signed in. You can close this tab and return to the terminal.');
    settle({ code });
  });
  // RFC 8252 §7.3 and §8.3: the loopback IP literal, a port the system chooses, never `localhost`.
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const redirectUri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/callback`;
  const start = new URL(startPath, base);
  start.search = new URLSearchParams({ redirect_uri: redirectUri, state, code_challenge: challenge, code_challenge_method: 'S256' }).toString();
  io.stdout.write(`${o.open ? 'Opening your browser to sign in. If it does not open, visit' : 'To sign in, open this address in a browser on this machine'}:\n  ${start.href}\nWaiting for the sign-in (${WAIT_MS / 60_000} min)…\n`);
  if (o.open) openBrowser(start.href);

  const timer = setTimeout(() => settle({ refused: new LoginRefused('TIMEOUT', 'no sign-in came back in time') }), WAIT_MS);
  let answer: { code: string } | { refused: LoginRefused };
  try {
    answer = await answered;
  } finally {
    clearTimeout(timer);
    // The page was written; idle keep-alive sockets go, one still sending finishes first.
    server.close();
    server.closeIdleConnections();
  }
  if ('refused' in answer) throw answer.refused;

  const res = await fetch(new URL(tokenPath, base), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ code: answer.code, code_verifier: verifier, redirect_uri: redirectUri }),
  });
  const body = (await res.json().catch(() => ({}))) as { token?: string; expiresAt?: string; error?: { code?: string; message?: string } };
  if (!res.ok || typeof body.token !== 'string') throw new LoginRefused(body.error?.code ?? `HTTP_${res.status}`, body.error?.message ?? 'the gateway did not redeem the sign-in code');
  return { token: body.token, expiresAt: body.expiresAt ?? null };
}
