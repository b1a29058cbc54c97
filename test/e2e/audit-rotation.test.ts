/** A key rotation keeps every earlier checkpoint verifiable: a bundle across it verifies with both keys. */
import { readdirSync } from 'node:fs';
import { afterAll, expect, it } from 'vitest';
import { runCliHere, writeGatewayConfig, type GatewayConfigFile } from '../support/audit-gateway.ts';
import { startUpstream } from '../support/upstream.ts';

let cfg: GatewayConfigFile | undefined;
afterAll(() => cfg?.remove());

it('signs with the new key after a rotation, and a bundle spanning both keys verifies', async () => {
  const upstream = await startUpstream();
  try {
    cfg = await writeGatewayConfig(`connections:\n  - { name: api, kind: http, url: "${upstream.url}" }\npolicy:\n  rules:\n    - { id: all, when: "true", effect: allow }\n`);
    const act = async (gw: Awaited<ReturnType<GatewayConfigFile['start']>>, path: string) =>
      expect((await gw.as('deploy-bot', '/v1/actions', { body: { connection: 'api', input: { method: 'GET', path }, reason: 'x' } })).status).toBe(200);

    const a = await cfg.start();
    await act(a, '/before');
    await a.stop(); // signs a checkpoint with the first key

    const rotated = await runCliHere(['audit', 'rotate-key', '--config', cfg.configPath]);
    expect(rotated.code).toBe(0);
    const [, fresh, old] = /new signing key: (\S+)\nprevious key, kept for old checkpoints: (\S+)/.exec(rotated.stdout) ?? [];
    expect(fresh).toBeTruthy();
    expect(fresh).not.toBe(old);

    const b = await cfg.start();
    await act(b, '/after');
    await b.stop(); // signs with the new key

    // A period by time (from yesterday: the whole log), so the bundle's first event is looked up by its time in the store.
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    const exported = await runCliHere(['audit', 'export', '--config', cfg.configPath, '--out', `${cfg.dir}/b.tar`, '--from', yesterday]);
    expect(exported.code).toBe(0);
    // Both keys pinned, as the operator hands them over: the old one for the checkpoints signed before the rotation.
    const keyFiles = `${cfg.keyDir}/keys`;
    const pins = readdirSync(keyFiles).filter((f) => f.endsWith('.pub')).flatMap((f) => ['--verifier-key', `${keyFiles}/${f}`]);
    expect(pins).toHaveLength(4);
    const verified = await runCliHere(['audit', 'verify', `${cfg.dir}/b.tar`, ...pins]);
    expect(verified.stdout).toContain('bundle OK: events 1–');
    expect(verified.code).toBe(0);
    const { readFileSync } = await import('node:fs');
    const { execFileSync } = await import('node:child_process');
    const keys = execFileSync('tar', ['-xOf', `${cfg.dir}/b.tar`, 'keys.txt'], { encoding: 'utf8' });
    expect(keys).toContain(old!);
    expect(keys).toContain(fresh!);
    expect(readFileSync(`${cfg.keyDir}/current.key`, 'utf8')).toContain('PRIVATE KEY');
  } finally {
    await upstream.close();
  }
}, 60_000);
