/** A real Flask (Werkzeug) upstream (flask-echo-upstream.py), for tests of what that framework reads of a request. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

const PYTHON = process.env['COUNTERSIGN_PYTHON'] || 'python3';

/** Whether Flask can be imported: without it there is no reader to compare with. */
export const haveFlask = spawnSync(PYTHON, ['-c', 'import flask'], { stdio: 'ignore' }).status === 0;

/** What Flask read of one request: the method it ran, the path, the query, the form fields, the id it converted. */
export interface FlaskRead {
  method: string;
  path: string;
  args: Record<string, string[]>;
  form: Record<string, string[]>;
  id?: number;
}

export interface FlaskUpstream {
  url: string;
  /** Every request Flask handled, as it read them. */
  calls(): Promise<FlaskRead[]>;
  close(): void;
}

export async function startFlaskUpstream(): Promise<FlaskUpstream> {
  const child: ChildProcess = spawn(PYTHON, ['test/support/flask-echo-upstream.py'], {
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
