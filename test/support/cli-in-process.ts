/**
 * A `countersign` command run inside the test's own process: runCommand of src/cli/program.ts, the same
 * commander program, command code, output and exit codes bin/countersign.js runs, on pipes (not terminals) and an
 * environment of the test's. A new Node process spends 0.4–0.7 s of CPU loading the CLI before the command starts;
 * here the worker loads its modules once. For tests of what a command says and answers: what is about the process
 * itself (a signal, a terminal, its start, a crash, an installed package) spawns bin/countersign.js.
 */
import { Readable, Writable } from 'node:stream';
import type { CliIo } from '../../src/cli/io.ts';
import { runCommand } from '../../src/cli/program.ts';

export interface CliEnded {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliRunning {
  readonly stdout: string;
  readonly stderr: string;
  done: Promise<CliEnded>;
}

/**
 * The variables commander reads from this process's environment itself, after the command's (program.ts): set here,
 * they would stand in for the test's.
 */
const OPTION_ENV = ['COUNTERSIGN_URL', 'COUNTERSIGN_KEY', 'COUNTERSIGN_REASON', 'COUNTERSIGN_IDEMPOTENCY_KEY', 'COUNTERSIGN_PUBLIC_URL'];

function sink(onText: (text: string) => void): Writable {
  return new Writable({
    decodeStrings: false,
    write(chunk: string | Buffer, _encoding, done) {
      onText(String(chunk));
      done();
    },
  });
}

/**
 * Streams and an environment for a command run here: what it writes is kept as text, `stdin` is its input, and
 * a Ctrl-C never comes (a test that sends one spawns the process).
 *
 * @example
 * const { io, output } = captureIo(process.env); await evidenceReportCommand(configPath, opts, io); output().stdout;
 */
export function captureIo(env: NodeJS.ProcessEnv, stdin = ''): { io: CliIo; output: () => { stdout: string; stderr: string } } {
  const out = { stdout: '', stderr: '' };
  const io: CliIo = {
    stdout: sink((t) => (out.stdout += t)),
    stderr: sink((t) => (out.stderr += t)),
    stdin: Readable.from(stdin ? [Buffer.from(stdin)] : []),
    env,
    onInterrupt: () => () => {},
    exit: (code) => {
      throw new Error(`a command run in the test process asked to exit (${code})`);
    },
  };
  return { io, output: () => ({ ...out }) };
}

/**
 * Starts `countersign <args>` with `env` as its whole environment and `stdin` as its input; its output so far is
 * readable while it runs.
 *
 * @example
 * const r = await startCliInProcess(['audit', 'verify', '--config', cfg.configPath], process.env).done;
 */
export function startCliInProcess(args: readonly string[], env: NodeJS.ProcessEnv, stdin = ''): CliRunning {
  const inherited = OPTION_ENV.filter((name) => name in process.env);
  if (inherited.length) throw new Error(`the test process has ${inherited.join(', ')} set: a command run in it would read them`);
  const { io, output } = captureIo(env, stdin);
  return {
    get stdout() {
      return output().stdout;
    },
    get stderr() {
      return output().stderr;
    },
    done: runCommand(args, io).then((code) => ({ code, ...output() })),
  };
}
