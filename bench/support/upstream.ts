/**
 * The benchmark's upstream, run as its own process: a bare node:http server
 * answering a small JSON body over keep-alive. It requires the bearer token
 * from UPSTREAM_TOKEN (the gateway's credential) and counts what it saw, so the
 * bench can check the gateway really forwarded every allowed action.
 *
 * Prints one JSON line on stdout: {"url": "..."}. Exits when stdin closes
 * (its parent went away) or on SIGTERM.
 */
import { createServer } from 'node:http';

const token = process.env['UPSTREAM_TOKEN'];
if (!token) {
  process.stderr.write('upstream: UPSTREAM_TOKEN is not set\n');
  process.exit(2);
}
const expected = `Bearer ${token}`;
const OK = Buffer.from(JSON.stringify({ ok: true, items: [{ id: 1, name: 'alpha' }, { id: 2, name: 'beta' }] }));
const UNAUTHORIZED = Buffer.from(JSON.stringify({ error: 'unauthorized' }));

const stats = { authorized: 0, unauthorized: 0 };

const server = createServer((req, res) => {
  if (req.url === '/__stats') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(stats));
    return;
  }
  // Drain any body before answering so keep-alive stays usable.
  req.resume();
  req.on('end', () => {
    if (req.headers.authorization !== expected) {
      stats.unauthorized++;
      res.writeHead(401, { 'content-type': 'application/json', 'content-length': UNAUTHORIZED.length });
      res.end(UNAUTHORIZED);
      return;
    }
    stats.authorized++;
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': OK.length });
    res.end(OK);
  });
});
// Longer than any phase, so idle pooled sockets are not closed under the clients.
server.keepAliveTimeout = 120_000;
server.headersTimeout = 121_000;

server.listen(0, '127.0.0.1', () => {
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}`, pid: process.pid })}\n`);
});

function stop(): void {
  server.closeAllConnections();
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.on('error', stop);
process.stdin.resume();
