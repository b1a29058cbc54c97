/**
 * What the CLI presents to a gateway: `--key` / COUNTERSIGN_KEY (an API key
 * or a pasted token), else the token `countersign login` saved for that
 * gateway. Saved tokens live in one file readable by the user alone.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

interface Saved {
  token: string;
  expiresAt: string | null;
  issuer: string;
}

/** Where the saved tokens are: COUNTERSIGN_CREDENTIALS, else under XDG_CONFIG_HOME (~/.config), read from `env`. */
export function credentialsPath(env: NodeJS.ProcessEnv = process.env): string {
  return env['COUNTERSIGN_CREDENTIALS'] ?? join(env['XDG_CONFIG_HOME'] ?? join(homedir(), '.config'), 'countersign', 'credentials.json');
}

const gatewayKey = (url: string) => new URL(url).origin;

function readAll(env: NodeJS.ProcessEnv): Record<string, Saved> {
  const path = credentialsPath(env);
  if (!existsSync(path)) return {};
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, Saved>;
  } catch {
    return {};
  }
}

/**
 * A new file of the user's alone (created 0600, never an existing one), renamed over the old: the token is never in a
 * file others could read, not even for the moment a chmod takes, nor written through a link planted at the path.
 */
function writeAll(all: Record<string, Saved>, env: NodeJS.ProcessEnv): void {
  const path = credentialsPath(env);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const fresh = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    writeFileSync(fresh, `${JSON.stringify(all, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    chmodSync(fresh, 0o600);
    renameSync(fresh, path);
  } catch (e) {
    rmSync(fresh, { force: true });
    throw e;
  }
}

export function saveToken(url: string, saved: Saved, env: NodeJS.ProcessEnv = process.env): void {
  writeAll({ ...readAll(env), [gatewayKey(url)]: saved }, env);
}

export function forgetToken(url: string, env: NodeJS.ProcessEnv = process.env): boolean {
  const all = readAll(env);
  if (!all[gatewayKey(url)]) return false;
  delete all[gatewayKey(url)];
  if (Object.keys(all).length) writeAll(all, env);
  else rmSync(credentialsPath(env), { force: true });
  return true;
}

/** The bearer for a gateway: the explicit key or token, else a saved token that has not expired. */
export function bearerFor(url: string, key: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (key) return key;
  const saved = readAll(env)[gatewayKey(url)];
  if (!saved) return undefined;
  if (saved.expiresAt && Date.parse(saved.expiresAt) <= Date.now()) return undefined;
  return saved.token;
}
