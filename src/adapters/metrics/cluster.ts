/**
 * Metrics across the workers of `server.workers`: a scrape reaches one
 * worker (the kernel spreads connections), which asks the primary over the
 * cluster's IPC channel; the primary (which serves no HTTP) gathers every
 * worker's registries with prom-client's AggregatorRegistry and answers with
 * one exposition. Counters and histograms are summed over the workers;
 * what every worker reads from the same store (pending requests, the
 * outbox) is kept once; process metrics follow prom-client's own rules
 * (CPU and memory summed, event loop lag averaged, versions once).
 */
import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';
import type { Exposition } from './prom.ts';

/** Tags this adapter's IPC messages among whatever else travels on the channel. */
const ASK = 'countersign.metrics-scrape';
const ANSWER = 'countersign.metrics-exposition';
/** prom-client gives workers 5 s to answer; a little more for the round trip to the asking worker. */
const SCRAPE_TIMEOUT_MS = 8000;

interface Ask {
  readonly kind: typeof ASK;
  readonly id: number;
}
interface Answer {
  readonly kind: typeof ANSWER;
  readonly id: number;
  readonly body?: string;
  readonly error?: string;
}

const isAsk = (m: unknown): m is Ask => typeof m === 'object' && m !== null && (m as { kind?: unknown }).kind === ASK && typeof (m as { id?: unknown }).id === 'number';
const isAnswer = (m: unknown): m is Answer => typeof m === 'object' && m !== null && (m as { kind?: unknown }).kind === ANSWER;

/**
 * In the primary: answers the workers' scrapes with the sum over all of them.
 * Returns a function that stops answering.
 *
 * @example
 * const stop = aggregateWorkerMetrics();
 */
export function aggregateWorkerMetrics(): () => void {
  // Constructing it makes prom-client listen for the workers' answers.
  const aggregator = new AggregatorRegistry();
  const onMessage = (worker: Worker, message: unknown) => {
    if (!isAsk(message)) return;
    const reply = (answer: Omit<Answer, 'kind' | 'id'>) => {
      if (worker.isConnected()) worker.send({ kind: ANSWER, id: message.id, ...answer } satisfies Answer, () => {});
    };
    aggregator.clusterMetrics().then(
      (body) => reply({ body }),
      (e: unknown) => reply({ error: e instanceof Error ? e.message : String(e) }),
    );
  };
  cluster.on('message', onMessage);
  return () => cluster.off('message', onMessage);
}

let nextId = 0;

/**
 * In a worker: reports `registries` when the primary gathers, and returns
 * how this worker answers a scrape (with every worker's metrics, through the primary).
 *
 * @example
 * const expose = workerExposition(metrics.registries);
 * const { body } = await expose();
 */
export function workerExposition(registries: readonly Registry[]): () => Promise<Exposition> {
  // Constructing it makes prom-client answer the primary's requests, with these registries.
  const local = new AggregatorRegistry();
  AggregatorRegistry.setRegistries([...registries]);
  return () =>
    new Promise<Exposition>((resolve, reject) => {
      const id = nextId++;
      const done = () => {
        clearTimeout(timer);
        process.off('message', onMessage);
      };
      const onMessage = (m: unknown) => {
        if (!isAnswer(m) || m.id !== id) return;
        done();
        if (m.body === undefined) reject(new Error(`the primary could not gather the workers' metrics: ${m.error ?? 'no answer'}`));
        else resolve({ contentType: local.contentType, body: m.body });
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error('the primary did not answer the metrics scrape in time'));
      }, SCRAPE_TIMEOUT_MS);
      process.on('message', onMessage);
      if (!process.connected || !process.send) {
        done();
        reject(new Error('this worker has lost its channel to the primary'));
        return;
      }
      process.send({ kind: ASK, id } satisfies Ask, undefined, undefined, (e: Error | null) => {
        if (!e) return;
        done();
        reject(e);
      });
    });
}
