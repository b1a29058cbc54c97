/**
 * `countersign policy shadow [--since 7d] [--json]`: where the shadowed
 * candidate policy would have decided otherwise, from the `policy.shadow`
 * events in the store named by the config (read offline, like `audit search`).
 */
import { loadConfig } from '../config/load.ts';
import { parseSince } from '../core/since.ts';
import { openStoreForCommand } from '../main-store.ts';
import { shadowSummary } from '../service/policy-shadow.ts';
import { changeLines } from './policy-changes.ts';
import { safeJson } from './output.ts';
import type { CliIo } from './io.ts';

export async function policyShadowCommand(configPath: string, o: { since?: string; json?: boolean }, io: CliIo): Promise<number> {
  const config = loadConfig(configPath, io.env);
  const since = parseSince(o.since ?? '7d', new Date());
  const store = await openStoreForCommand(config, configPath);
  try {
    const s = await shadowSummary(store, { since });
    if (o.json) {
      io.stdout.write(`${safeJson(s, 0)}\n`);
      return 0;
    }
    const candidates = s.candidates.length ? ` (candidate ${s.candidates.join(', ')})` : '';
    io.stdout.write(`${s.count} action${s.count === 1 ? '' : 's'} since ${s.since} the candidate policy would have decided otherwise${candidates}\n`);
    io.stdout.write(changeLines(s.groups));
    return 0;
  } finally {
    await store.close();
  }
}
