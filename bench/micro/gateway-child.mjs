// A gateway of the build in GATEWAY_DIST, in-process, for gateway-ab.mjs: reports its url, then its CPU time on request.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
const dist = process.env.GATEWAY_DIST;
const { parseConfig } = await import(`${dist}/config/load.js`);
const { startGateway } = await import(`${dist}/main.js`);
const dir = mkdtempSync(join(tmpdir(), 'cs-ab-'));
const yaml = process.env.GATEWAY_YAML.replaceAll('@DIR@', dir);
const gateway = await startGateway(parseConfig(yaml, 'bench.yaml', process.env));
process.on('message', (m) => {
  if (m === 'cpu') process.send({ cpu: process.cpuUsage(), maxRssKb: process.resourceUsage().maxRSS });
  if (m === 'close') gateway.close().then(() => {
    rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  });
});
process.send({ url: gateway.url });
