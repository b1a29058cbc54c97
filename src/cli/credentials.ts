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

export function credentialsPath(): string {
  return process.env['COUNTERSIGN_CREDENTIALS'] ?? join(process.env['XDG_CONFIG_HOME'] ?? join(homedir(), '.config'), 'countersign', 'credentials.json');
}

const gatewayKey = (url: string) => new URL(url).origin;

function readAll(): Record<string, Saved> {
  const path = credentialsPath();
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
function writeAll(all: Record<string, Saved>): void {
  const path = credentialsPath();
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

export function saveToken(url: string, saved: Saved): void {
  writeAll({ ...readAll(), [gatewayKey(url)]: saved });
}

export function forgetToken(url: string): boolean {
  const all = readAll();
  if (!all[gatewayKey(url)]) return false;
  delete all[gatewayKey(url)];
  if (Object.keys(all).length) writeAll(all);
  else rmSync(credentialsPath(), { force: true });
  return true;
}

/** The bearer for a gateway: the explicit key or token, else a saved token that has not expired. */
export function bearerFor(url: string, key: string | undefined): string | undefined {
  if (key) return key;
  const saved = readAll()[gatewayKey(url)];
  if (!saved) return undefined;
  if (saved.expiresAt && Date.parse(saved.expiresAt) <= Date.now()) return undefined;
  return saved.token;
}
