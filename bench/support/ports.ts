/** TCP ports for servers the bench starts that cannot report the port they took (pgbouncer, the Postgres listener). */
import { connect, createServer } from 'node:net';

/**
 * A port nothing listens on right now (the OS picks it; it may be taken again before it is used, which the
 * server started on it then reports).
 *
 * @example
 * const port = await freePort();
 */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.setTimeout(1000);
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}

/**
 * Resolves once `host:port` accepts a TCP connection; rejects after `timeoutMs`, or as soon as `gone()` says the
 * process that should listen there has exited.
 *
 * @example
 * await waitForPort('127.0.0.1', port, 10_000, () => child.exitCode !== null, 'pgbouncer');
 */
export async function waitForPort(host: string, port: number, timeoutMs: number, gone: () => boolean, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (gone()) throw new Error(`${what} exited before it listened on ${host}:${port}`);
    if (await accepts(host, port)) return;
    if (performance.now() > deadline) throw new Error(`${what}: nothing accepts connections on ${host}:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
