// The upstream of executor.mjs: a small JSON answer, keep-alive, on a free port it reports to its parent.
import { createServer } from 'node:http';
const body = JSON.stringify({ ok: true, items: [1, 2, 3] });
const s = createServer((req, res) => { res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) }); res.end(body); });
s.keepAliveTimeout = 60000;
s.listen(0, '127.0.0.1', () => process.send(s.address().port));
