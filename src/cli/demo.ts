/** `countersign demo agent|reset`. */
import { rmSync } from 'node:fs';
import { DEMO_CONFIG, DEMO_DIR } from './config-path.ts';
import { demoAgent } from './demo/agent.ts';
import type { CliIo } from './io.ts';

export function demoAgentCommand(o: { url: string; key?: string; wait: boolean }, io: CliIo): Promise<number> {
  return demoAgent({ url: o.url, key: o.key, wait: o.wait }, io);
}

export function demoResetCommand(io: CliIo): number {
  // The demo's own directory: its config, store and audit keys, and nothing of a config of one's own.
  rmSync(DEMO_DIR, { recursive: true, force: true });
  io.stdout.write(`Demo reset: ${DEMO_DIR}/ is gone; the next \`npm start\` writes a new demo config (${DEMO_CONFIG}) and prints new keys.\n`);
  return 0;
}
