// A/B of the cluster notifier's cost per announced change (a held request), base build vs branch build, alternating
// rounds: a cluster primary relaying as `countersign start` with `server.workers: 2` does (relayChanges), worker 1
// publishing BATCH held requests per turn of its event loop (as one group commit settles them) N times, worker 2
// listening as an idle worker does (no waiter). The figure is the CPU of all three processes (process.cpuUsage of each)
// per change, until worker 2 has received every change.
// BASE_DIST=<base>/dist [N=20000] [BATCH=25] [ROUNDS=8] node bench/micro/cluster-notify.mjs
import cluster from 'node:cluster';
const builds = { base: process.env.BASE_DIST, branch: process.env.BRANCH_DIST ?? new URL('../../dist', import.meta.url).pathname };
const N = Number(process.env.N ?? 20000), BATCH = Number(process.env.BATCH ?? 25), ROUNDS = Number(process.env.ROUNDS ?? 8);
const cpu = () => { const u = process.cpuUsage(); return u.user + u.system; };
if (cluster.isPrimary) {
  if (!builds.base) throw new Error('BASE_DIST: the dist/ of a build of the base commit');
  const res = { base: [], branch: [] };
  for (let r = 0; r < ROUNDS; r++) for (const k of r % 2 ? ['branch', 'base'] : ['base', 'branch']) {
    const { relayChanges } = await import(`${builds[k]}/adapters/notifier/cluster.js`);
    const stop = relayChanges(cluster);
    const env = { CN_DIST: builds[k] };
    const sender = cluster.fork({ ...env, CN_ROLE: 'send' });
    const receiver = cluster.fork({ ...env, CN_ROLE: 'receive' });
    const ready = (w) => new Promise((ok) => w.on('message', function on(m) { if (m?.ready) { w.off('message', on); ok(); } }));
    await Promise.all([ready(sender), ready(receiver)]);
    const done = new Promise((ok) => receiver.on('message', (m) => m?.received !== undefined && ok(m)));
    const c0 = cpu();
    sender.send({ go: true });
    const [sent, received] = await Promise.all([new Promise((ok) => sender.on('message', (m) => m?.sent !== undefined && ok(m))), done]);
    const primary = cpu() - c0;
    res[k].push((primary + sent.cpu + received.cpu) / N);
    stop();
    for (const w of [sender, receiver]) w.kill();
  }
  const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
  console.log(`cluster notifier, ${N} held changes in turns of ${BATCH}, ${ROUNDS} rounds: CPU of primary + both workers per change`);
  for (const k of ['base', 'branch']) console.log(k.padEnd(6), 'µs median', med(res[k]).toFixed(2), '[', res[k].map((x) => x.toFixed(2)).join(' '), ']');
  process.exit(0);
} else {
  const { createClusterNotifier } = await import(`${process.env.CN_DIST}/adapters/notifier/cluster.js`);
  const record = (i) => ({ id: `req_${i.toString().padStart(20, '0')}`, version: 1, decision: { effect: 'approve' }, expiresAt: '2099-01-01T00:00:00.000Z', reviews: [] });
  if (process.env.CN_ROLE === 'receive') {
    let got = 0, c0;
    // An idle worker: no waiter, so a change is parsed and dropped (`wants` is false), as in bench:gateway's held phase.
    createClusterNotifier({ load: async () => null });
    process.on('message', (m) => {
      if (m?.kind !== 'countersign.request-changed') return;
      c0 ??= cpu();
      got += Array.isArray(m.changes) ? m.changes.length : 1;
      if (got === N) process.send({ received: got, cpu: cpu() - c0 });
    });
  } else {
    const n = createClusterNotifier({ load: async () => null });
    process.on('message', async (m) => {
      if (!m?.go) return;
      const c0 = cpu();
      for (let i = 0; i < N; i += BATCH) {
        for (let j = i; j < Math.min(N, i + BATCH); j++) n.publish(record(j));
        await new Promise((ok) => setImmediate(ok));
        await new Promise((ok) => setImmediate(ok));
      }
      process.send({ sent: N, cpu: cpu() - c0 });
    });
  }
  process.send({ ready: true });
}
