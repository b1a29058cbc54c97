/**
 * The demo's billing API: a small local HTTP service that only answers
 * callers holding its token — which only the gateway has.
 */
import { createServer, type Server } from 'node:http';

export async function startDemoApi(token: string, preferredPort: number): Promise<{ url: string; close(): Promise<void> }> {
  let refunds = 0;
  const server: Server = createServer((req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.headers.authorization !== `Bearer ${token}`) return send(401, { error: 'missing or wrong token' });
    const url = new URL(req.url ?? '/', 'http://demo');
    req.resume();
    if (req.method === 'GET' && url.pathname === '/invoices') {
      return send(200, { invoices: [{ id: 'inv_1', customer: 'cus_42', amount: 4200, currency: 'EUR', status: 'paid' }, { id: 'inv_2', customer: 'cus_7', amount: 990, currency: 'EUR', status: 'open' }] });
    }
    if (req.method === 'POST' && url.pathname === '/refunds') return send(201, { refund: `re_${++refunds}`, status: 'issued' });
    if (req.method === 'DELETE' && url.pathname.startsWith('/customers/')) return send(200, { deleted: url.pathname.split('/')[2] });
    return send(404, { error: 'not found' });
  });
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  try {
    await listen(preferredPort);
  } catch {
    await listen(0); // the usual port is taken: any free one will do
  }
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : preferredPort;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
