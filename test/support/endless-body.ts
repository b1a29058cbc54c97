/**
 * A POST whose chunked body never ends: it writes until the server answers
 * (or `cap` bytes, then waits, the body still open). A server that reads a
 * body whole before judging its size never answers it, so the answer proves
 * the limit was enforced as bytes arrived.
 */
import { request } from 'node:http';

export interface EndlessAnswer {
  readonly status: number;
  readonly body: string;
  /** Bytes written before the answer came. */
  readonly sent: number;
}

/**
 * @example
 * const answer = await postEndless(`${gw.url}/integrations/slack/interactions`, { 'content-type': 'application/x-www-form-urlencoded' });
 * expect(answer.status).toBe(401);
 */
export function postEndless(url: string, headers: Record<string, string>, cap = 4 << 20, chunk = Buffer.alloc(16 * 1024, 'a')): Promise<EndlessAnswer> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const req = request(url, { method: 'POST', headers: { ...headers, 'transfer-encoding': 'chunked' } }, (res) => {
      answered = true;
      const parts: Buffer[] = [];
      res.on('data', (b: Buffer) => parts.push(b));
      res.on('end', () => {
        req.destroy();
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString('utf8'), sent });
      });
      res.on('error', reject);
    });
    // The server may close its side of the body once it has refused it: that is the point, not a failure.
    req.on('error', (e) => {
      if (!answered) reject(e);
    });
    const pump = () => {
      while (!answered && !req.destroyed && sent < cap) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
    };
    pump();
  });
}
