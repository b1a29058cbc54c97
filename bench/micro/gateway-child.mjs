// A gateway of the build in GATEWAY_DIST, in-process, for gateway-ab.mjs: reports its url, then its CPU time, peak RSS
// and garbage collections (count, main-thread pause) on request. The heap is sized as `countersign start` sizes it
// (`server.heap` of the config, applied before the gateway's modules load), or as GATEWAY_HEAP (JSON) says. As in
// bin/countersign.js, the young generation does not grow until then: loading the config's modules from dist/ would grow
// it to 16 MB, past the 8 MB of `server.heap`'s default, and V8 does not shrink it back (the child then ran with half
// the scavenges of the product, some runs and not others).
import v8 from 'node:v8';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
if (!process.execArgv.some((a) => a.startsWith('--max-semi-space-size'))) v8.setFlagsFromString('--semi-space-growth-factor=1');
const dist = process.env.GATEWAY_DIST;
const { parseConfig } = await import(`${dist}/config/load.js`);
const dir = mkdtempSync(join(tmpdir(), 'cs-ab-'));
const yaml = process.env.GATEWAY_YAML.replaceAll('@DIR@', dir);
const config = parseConfig(yaml, 'bench.yaml', process.env);
const heap = process.env.GATEWAY_HEAP ? { ...config.server.heap, ...JSON.parse(process.env.GATEWAY_HEAP) } : config.server.heap;
try {
  (await import(`${dist}/cli/heap.js`)).applyHeapSettings(heap);
} catch (e) {
  if (e?.code !== 'ERR_MODULE_NOT_FOUND') throw e; // a build from before server.heap
}
const gc = { count: 0, ms: 0 };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gc.count++;
    gc.ms += e.duration;
  }
}).observe({ entryTypes: ['gc'] });
const { startGateway } = await import(`${dist}/main.js`);
const gateway = await startGateway(config);
process.on('message', (m) => {
  if (m === 'cpu') process.send({ cpu: process.cpuUsage(), maxRssKb: process.resourceUsage().maxRSS, rssKb: process.memoryUsage.rss() / 1024, heapUsedKb: process.memoryUsage().heapUsed / 1024, memory: process.memoryUsage(), spaces: v8.getHeapSpaceStatistics().map((s) => [s.space_name, s.space_size, s.space_used_size]), gc: { ...gc }, youngBytes: v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0 });
  if (m === 'close') gateway.close().then(() => {
    rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  });
});
process.send({ url: gateway.url });
