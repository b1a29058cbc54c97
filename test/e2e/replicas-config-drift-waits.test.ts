/**
 * Replicas on one PostgreSQL database; the operator removed an agent whose key
 * leaked and restarted replica A with the new file. Replica B still runs the
 * file as it was and refuses every new call with that key, but a wait the key
 * opened on B before the change (a long-poll, an event stream) must not go on
 * to hand it what happens to its request afterwards: the review, the result.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateApiKey } from '../../src/adapters/identity/api-keys.ts';
import { createTestDatabase } from '../support/postgres.ts';
import { startReplica, type Replica } from '../support/replica.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

const db = await createTestDatabase();
const SLOW = 120_000;

let dir: string;
let configFile: string;
let upstream: Upstream;
let a: Replica;
let b: Replica;
const keys = { alice: generateApiKey(), leaked: generateApiKey() };

function yaml(version: 'before' | 'after'): string {
  return `store: { postgres: { url: ${JSON.stringify(db!.url)} } }
server: { port: 0 }
log: { level: silent }
principals:
  - { id: alice, kind: human, groups: [sre], email: alice@example.com, apiKeys: ["${keys.alice.hash}"] }
${version === 'before' ? `  - { id: report-bot, kind: agent, apiKeys: ["${keys.leaked.hash}"] }\n` : ''}connections:
  - { name: ops-api, kind: http, url: ${JSON.stringify(upstream.url)} }
policy:
  default: deny
  rules:
    - id: writes
      when: facts.http.method == "POST"
      effect: approve
      approvers: [{ groups: [sre], count: 1 }]
      ttl: 1h
`;
}

interface SseEvent {
  event: string;
  data: string;
}

/** The events of a stream until the server ends it (or the signal aborts the read). */
async function readEvents(res: Response): Promise<SseEvent[]> {
  const events: SseEvent[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const e: SseEvent = { event: 'message', data: '' };
        for (const line of frame.split('\n')) {
          const [field, ...rest] = line.split(':');
          const value = rest.join(':').replace(/^ /, '');
          if (field === 'event') e.event = value;
          else if (field === 'data') e.data += value;
        }
        events.push(e);
      }
    }
  } catch {
    // aborted by the test's own deadline: what arrived stands
  }
  return events;
}

let heldId: string;
let longPoll: Promise<{ status: number; body: string }>;
let stream: Promise<SseEvent[]>;

beforeAll(async () => {
  if (!db) return;
  dir = mkdtempSync(join(tmpdir(), 'cs-drift-waits-'));
  upstream = await startUpstream();
  configFile = join(dir, 'countersign.yaml');
  writeFileSync(configFile, yaml('before'));
  a = await startReplica(configFile);
  b = await startReplica(configFile);

  const held = await b.as(keys.leaked.key, '/v1/actions', { body: { connection: 'ops-api', input: { method: 'POST', path: '/export', body: { all: true } }, reason: 'drift' } });
  expect(held.status, JSON.stringify(held.body)).toBe(202);
  heldId = held.body.id as string;

  // Opened on B under the old file, by the key the new file removes.
  const headers = { authorization: `Bearer ${keys.leaked.key}` };
  longPoll = fetch(`${b.url}/v1/requests/${heldId}?wait=50`, { headers, signal: AbortSignal.timeout(90_000) }).then(
    async (r) => ({ status: r.status, body: await r.text() }),
    (e: unknown) => ({ status: 0, body: String(e) }),
  );
  const res = await fetch(`${b.url}/v1/requests/${heldId}/events`, { headers, signal: AbortSignal.timeout(60_000) });
  expect(res.status).toBe(200);
  stream = readEvents(res);

  writeFileSync(configFile, yaml('after'));
  await a.stop();
  a = await startReplica(configFile);
}, SLOW);

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await upstream?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, SLOW);

describe.skipIf(!db)('a wait the removed key opened on a replica still on the file as it was', () => {
  it('hands it nothing that happened after the change: the long-poll is refused, the stream ends without the verdict', async () => {
    const denied = await a.as(keys.alice.key, `/v1/requests/${heldId}/reviews`, { body: { verdict: 'deny', comment: 'key-leak-9c1e: export refused' } });
    expect(denied.status, JSON.stringify(denied.body)).toBe(200);

    const polled = await longPoll;
    expect(polled.body).not.toContain('key-leak-9c1e');
    expect(polled.status, polled.body).toBe(503);
    expect(JSON.parse(polled.body).error.code).toBe('POLICY_NOT_IN_FORCE');

    const events = await stream;
    expect(events.length).toBeGreaterThan(0); // the state as it was when the stream opened, under the old file
    expect(events.map((e) => e.data).join('\n')).not.toContain('key-leak-9c1e');
    expect(events.filter((e) => e.event === 'request').map((e) => JSON.parse(e.data).status as string)).toEqual(['pending']);
  }, SLOW);
});
