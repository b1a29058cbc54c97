/** A real Flask (Werkzeug) upstream (flask-echo-upstream.py), for tests of what that framework reads of a request. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

/** The first Python that has Flask: COUNTERSIGN_PYTHON, the one on PATH (pip), else Debian's (apt-get install python3-flask). */
const PYTHON = [process.env['COUNTERSIGN_PYTHON'], 'python3', '/usr/bin/python3'].find(
  (p) => p && spawnSync(p, ['-c', 'import flask'], { stdio: 'ignore' }).status === 0,
);

// .ci/run installs it; on a laptop without it these cases are skipped, never under CI.
if (PYTHON === undefined && process.env['CI']) throw new Error('Flask is required under CI: apt-get install python3-flask, or pip install flask');

/** Whether Flask can be imported: without it there is no reader to compare with. */
export const haveFlask = PYTHON !== undefined;

/** What Flask read of one request: the method it ran, the path, the query, the form fields, the id it converted. */
export interface FlaskRead {
  method: string;
  path: string;
  args: Record<string, string[]>;
  form: Record<string, string[]>;
  id?: number;
  /** The body as Python's json reads it, as JSON text (null: not JSON to it); absent for /ledger. */
  json?: string | null;
}

export interface FlaskUpstream {
  url: string;
  /** Every request Flask handled, as it read them. */
  calls(): Promise<FlaskRead[]>;
  close(): void;
}

export async function startFlaskUpstream(): Promise<FlaskUpstream> {
  const child: ChildProcess = spawn(PYTHON!, ['test/support/flask-echo-upstream.py'], {
    stdio: ['ignore', 'pipe', 'ignore'],
    env: { PATH: process.env['PATH'], PYTHONDONTWRITEBYTECODE: '1' },
  });
  const line = await new Promise<string>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the Flask upstream exited (${code})`)));
    createInterface({ input: child.stdout! }).once('line', resolve);
  });
  const url = `http://127.0.0.1:${(JSON.parse(line) as { port: number }).port}`;
  return {
    url,
    calls: async () => (await (await fetch(`${url}/_calls`)).json()) as FlaskRead[],
    close: () => child.kill(),
  };
}
