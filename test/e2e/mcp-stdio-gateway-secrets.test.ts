/**
 * A stdio MCP server runs as the gateway's OS user, as an exec command does:
 * a filesystem server given the directory that holds the gateway's config
 * and audit keys reads them for any agent allowed its read tool. What it
 * answers is scrubbed of every secret the gateway holds (another
 * connection's credential written in the file, the signing key), not only of
 * its own connection's.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { filesystemConnection } from '../support/mcp.ts';
import { readDb } from '../support/sqlite.ts';
import { releaseTestStore } from '../support/test-store.ts';

const LITERAL_KEY = 'payroll-literal-Qm7Wd2Hs9X';

let dir: string;
let gw: TestGateway;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cs-mcp-held-'));
  gw = await startTestGateway(
    `connections:
${filesystemConnection('files', dir)}
  - name: payroll
    kind: http
    url: http://127.0.0.1:9
    headers: { x-api-key: ${LITERAL_KEY} }
policy:
  default: allow
`,
    { dir },
  );
  writeFileSync(join(dir, 'countersign.yaml'), gw.yaml);
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  await releaseTestStore(join(dir, 'countersign.db'));
  rmSync(dir, { recursive: true, force: true });
});

const read = (path: string) => gw.as('deploy-bot', '/v1/actions', { body: { connection: 'files', input: { tool: 'read_text_file', arguments: { path } }, reason: 'read a file' } });

function stored(): string {
  return readDb(gw.dbPath, (db) => JSON.stringify([db.prepare('SELECT * FROM requests').all(), db.prepare('SELECT body FROM audit_events').all()]));
}

describe('a stdio filesystem server over the gateway’s own directory', () => {
  it('reads the config file without another connection’s credential in it', async () => {
    const res = await read(join(dir, 'countersign.yaml'));
    expect(res.body.status).toBe('succeeded');
    expect(JSON.stringify(res.body)).toContain('name: payroll');
    expect(JSON.stringify(res.body)).not.toContain(LITERAL_KEY);
    expect(stored()).not.toContain(LITERAL_KEY);
  });

  it('reads the audit signing key without its key material', async () => {
    const pem = readFileSync(join(dir, 'keys', 'current.key'), 'utf8');
    const body = pem.split('\n').filter((l) => l && !l.startsWith('-----')).join('');
    const res = await read(join(dir, 'keys', 'current.key'));
    expect(res.body.status).toBe('succeeded');
    expect(JSON.stringify(res.body)).toContain('PRIVATE KEY');
    expect(JSON.stringify(res.body)).not.toContain(body);
    expect(stored()).not.toContain(body);
  });
});
