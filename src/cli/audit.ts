/** `countersign audit verify|export`: read the local store named by the config, offline. */
import { existsSync } from 'node:fs';
import { loadConfig } from '../config/load.ts';
import { CountersignError } from '../core/errors.ts';
import { createSqliteStore } from '../adapters/store/sqlite/index.ts';
import type { Store } from '../core/ports.ts';
import { exportAudit } from '../service/audit-export.ts';
import { verifyAudit } from '../service/audit-verify.ts';

function openStore(configPath: string): Store {
  const config = loadConfig(configPath);
  const path = config.store.sqlite.path;
  if (!existsSync(path)) throw new CountersignError('CONFIG_INVALID', `${configPath}: store.sqlite.path: ${path} does not exist (has the gateway run?)`);
  return createSqliteStore({ path });
}

export async function auditVerifyCommand(configPath: string): Promise<number> {
  const store = openStore(configPath);
  try {
    const r = await verifyAudit(store);
    if (r.ok) {
      process.stdout.write(`audit chain OK: ${r.count} events, head ${r.head}\n`);
      return 0;
    }
    process.stdout.write(`audit chain BROKEN at event ${r.problem.seq}: ${r.problem.reason}\n(${r.count} events before it verify)\n`);
    return 1;
  } finally {
    await store.close();
  }
}

function csvCell(v: unknown): string {
  const s = v === null || v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export async function auditExportCommand(configPath: string, format: 'jsonl' | 'csv'): Promise<number> {
  const store = openStore(configPath);
  const out = process.stdout;
  const write = (line: string) => (out.write(line) ? Promise.resolve() : new Promise<void>((r) => out.once('drain', () => r())));
  try {
    if (format === 'csv') await write('seq,time,type,request_id,actor,data,prev,hash\n');
    for await (const e of exportAudit(store)) {
      // JSON lines are exactly the hashed bytes, so each line verifies on its own.
      await write(format === 'jsonl' ? `${e.body}\n` : `${[e.seq, e.time, e.type, e.requestId, e.actor, e.data, e.prev, e.hash].map(csvCell).join(',')}\n`);
    }
    return 0;
  } finally {
    await store.close();
  }
}
