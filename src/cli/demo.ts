/** `countersign demo agent|reset`. */
import { rmSync } from 'node:fs';
import { DEMO_CONFIG, DEMO_DIR } from './config-path.ts';
import { demoAgent } from './demo/agent.ts';

export function demoAgentCommand(o: { url: string; key?: string; wait: boolean }): Promise<number> {
  return demoAgent({ url: o.url, key: o.key, wait: o.wait });
}

export function demoResetCommand(): number {
  for (const f of [DEMO_CONFIG, `${DEMO_DIR}/countersign.db`, `${DEMO_DIR}/countersign.db-wal`, `${DEMO_DIR}/countersign.db-shm`]) rmSync(f, { force: true });
  process.stdout.write('Demo reset: the next `npm start` writes a new demo config and prints new keys.\n');
  return 0;
}
