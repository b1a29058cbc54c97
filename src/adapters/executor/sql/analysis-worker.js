// Long SQL texts parsed and walked one at a time (analysis-offload.ts), on a
// thread of its own with its own parser instance, so that the thread that
// answers every session and REST call is not held meanwhile. Plain
// JavaScript on purpose: a worker thread does not inherit the TypeScript
// loader of the thread that starts it; run from the sources (tests), it
// registers tsx before it imports facts.ts and copy-in.ts.
import { parentPort, workerData } from 'node:worker_threads';

if (workerData.typescript) (await import('tsx/esm/api')).register();
const { analyseSql, containsNode, loadSqlParser } = await import(workerData.facts);
const { copyInShape } = await import(workerData.copyIn);
const { applySecretSpans, secretSpans, verifyParses } = await import(workerData.mask);
await loadSqlParser();

/**
 * The analysis, its equal statements one object: a message copies an object once however often it is referred to,
 * and the thread that answers reads (and freezes) each once. 100,000 `SELECT 1` are then one statement to copy, not
 * 100,000 (some 250 ms of that thread's time).
 */
function analyse(job) {
  const analysis = analyseSql(job.sql, { readOnlyFunctions: job.readOnlyFunctions });
  const seen = new Map();
  const statements = analysis.facts.statements.map((s) => {
    const key = JSON.stringify(s);
    const known = seen.get(key);
    if (known) return known;
    seen.set(key, s);
    return s;
  });
  return { ...analysis, facts: { ...analysis.facts, statements } };
}

const ops = {
  analyse,
  contains: (job) => containsNode(job.sql, job.node),
  copyIn: (job) => copyInShape(job.sql),
  // Where the secret values are, checked as maskSqlSecrets checks its output: a stand-in for each mask (the same
  // tokens as the real one, which needs the audit key this thread does not hold) and the text parsed again.
  maskSpans: (job) => {
    const spans = secretSpans(job.sql, job.secretColumns);
    const out = applySecretSpans(job.sql, undefined, spans, () => 'masked');
    if (out.sql !== job.sql) verifyParses(out.sql);
    return spans;
  },
};

parentPort.on('message', (job) => {
  // Its time limit runs from here (analysis-offload.ts), not from when it was sent: the copy of a long text took seconds.
  parentPort.postMessage({ started: job.id });
  let answer;
  try {
    answer = { id: job.id, value: ops[job.op](job) };
  } catch (e) {
    // A CountersignError (the SQL does not parse) is told as such; anything else is the gateway's own failure.
    const refused = e !== null && typeof e === 'object' && e.name === 'CountersignError';
    answer = { id: job.id, error: refused ? { code: e.code, message: e.message } : { message: e instanceof Error ? e.message : String(e) } };
  }
  parentPort.postMessage(answer);
});
parentPort.postMessage({ ready: true });
