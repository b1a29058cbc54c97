/**
 * The MCP bench's in-process phase: the gateway's own work on an allowed
 * tool call with no hop in front of it. A gateway built from `yaml` in this
 * process (its store in the config's directory) takes calls of up__greet
 * through the submit use case, alternating with the same call made straight
 * through its connection to the upstream, one at a time.
 */
import { parseConfig } from '../../src/config/load.ts';
import type { McpInput } from '../../src/core/action.ts';
import { createDeps } from '../../src/main.ts';
import { submit } from '../../src/service/submit.ts';
import { watchTools } from '../../src/service/tool-sync.ts';
import pino from 'pino';

export interface InProcessTimes {
  /** Milliseconds of each call, sorted. */
  readonly submit: number[];
  readonly upstream: number[];
}

/**
 * @example
 * const t = await timeInProcess(yaml, 10, 2);
 */
export async function timeInProcess(yaml: string, seconds: number, warmup: number): Promise<InProcessTimes> {
  const deps = await createDeps(parseConfig(yaml, 'bench-mcp.yaml', process.env), { logger: pino({ level: 'warn' }) });
  try {
    await watchTools(deps);
    const principal = deps.identity.principal('bench-bot');
    const up = deps.connections.get('up');
    if (!principal || !up) throw new Error('the in-process gateway has no bench-bot or no connection up');
    const times: InProcessTimes = { submit: [], upstream: [] };
    let n = 0;
    for (const [secs, keep] of [
      [warmup, false],
      [seconds, true],
    ] as const) {
      for (const end = performance.now() + secs * 1000; performance.now() < end; n++) {
        let t = performance.now();
        const r = await submit(deps, { principal, connection: 'up', input: { tool: 'greet', arguments: { name: `n${n}` } }, reason: 'bench', context: { surface: 'mcp' }, resume: true });
        if (r.status !== 'succeeded') throw new Error(`an allowed call ended ${r.status}: ${JSON.stringify(r.error)}`);
        if (keep) times.submit.push(performance.now() - t);
        t = performance.now();
        const direct = await up.execute({ tool: 'greet', arguments: { name: `n${n}` } } satisfies McpInput, { readOnly: false });
        if (!direct.ok) throw new Error('the upstream call failed');
        if (keep) times.upstream.push(performance.now() - t);
      }
    }
    times.submit.sort((a, b) => a - b);
    times.upstream.sort((a, b) => a - b);
    return times;
  } finally {
    await deps.close();
  }
}
