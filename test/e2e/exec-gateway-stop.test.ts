/**
 * An allowed exec run in flight when its gateway stops (SIGTERM, or a crash it
 * closes itself on). The command runs in a process group of its own, so the
 * signal that stops the gateway never reaches it; its time bound is a timer in
 * the gateway, gone with it. Left alone, the run would go on past its
 * `timeoutMs` for as long as it likes, after the next gateway on the store has
 * settled its request (`EXECUTION_INTERRUPTED`). The gateway's close ends it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/gateway.ts';
import { readDb } from '../support/sqlite.ts';
import { prepareSharedGateway, type ChildGateway, type SharedGateway } from '../support/shared-gateway.ts';
import { writeFileSync, chmodSync } from 'node:fs';

/** Whether any process of this group still runs (a zombie not yet reaped counts: it is gone within the wait). */
const groupAlive = (pgid: number): boolean => {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
};

let shared: SharedGateway;
let gw: ChildGateway | undefined;
let pidFile: string;
let stray: number | undefined;

beforeAll(async () => {
  shared = prepareSharedGateway();
  pidFile = join(shared.dir, 'pid');
  const script = join(shared.dir, 'slow.sh');
  // Writes its id (its group's: runGroup makes it the leader), then works far past the connection's bound.
  writeFileSync(script, `#!/bin/sh\necho $$ > "$1"\nsleep 300\n`);
  chmodSync(script, 0o755);
  gw = await shared.spawn(`connections:
  - name: slow
    kind: exec
    command: ${script}
    timeoutMs: 60000
policy:
  default: allow
`);
}, 60_000);

afterAll(async () => {
  if (stray !== undefined && groupAlive(stray)) process.kill(-stray, 'SIGKILL');
  await gw?.kill().catch(() => {});
  await shared?.remove();
});

describe('an exec run in flight when the gateway stops', () => {
  it('ends with the gateway: nothing of its group runs on unbounded', async () => {
    const running = gw!.as('deploy-bot', '/v1/actions', { body: { connection: 'slow', input: { args: [pidFile] }, reason: 'a long job' } }).catch(() => undefined);
    stray = await eventually(async () => {
      const pid = Number(readFileSync(pidFile, { encoding: 'utf8', flag: 'a+' }).trim() || NaN);
      return Number.isSafeInteger(pid) ? pid : undefined;
    }, 20_000);
    expect(groupAlive(stray)).toBe(true);
    await gw!.stop();
    gw = undefined;
    await running;
    // The gateway has exited: whatever it killed is reaped by now or within moments, far inside the script's 300 s.
    await eventually(async () => (groupAlive(stray!) ? undefined : true), 10_000);
    // Never recorded as a success: failed (stopped), or still executing until the next gateway settles it as interrupted.
    const statuses = readDb(shared.dbPath, (db) => db.prepare('SELECT status FROM requests').pluck().all() as string[]);
    expect(statuses).toHaveLength(1);
    expect(['failed', 'executing']).toContain(statuses[0]);
  }, 60_000);
});
