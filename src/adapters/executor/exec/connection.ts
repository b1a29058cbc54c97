/**
 * An `exec` connection: one allow-listed binary, run with the agent's argv
 * and never through a shell, with an environment of the config's choosing
 * (the agent's process environment is not inherited).
 */
import { basename } from 'node:path';
import type { ActionInput, ExecInput } from '../../../core/action.ts';
import type { TagValue } from '../../../core/connection.ts';
import { makeFacts } from '../../../core/facts.ts';
import type { ConnectionHandle, ExecutionResult } from '../../../core/ports.ts';
import { runGroup } from './run-group.ts';
import type { SecretScrubber } from '../../../core/scrub.ts';
import { heldScrubber } from '../held-scrubber.ts';

export interface ExecConnectionConfig {
  readonly name: string;
  readonly command: string;
  readonly env: Readonly<Record<string, string>>;
  readonly cwd?: string;
  readonly tags: Readonly<Record<string, TagValue>>;
  readonly timeoutMs: number;
  /**
   * Every other secret the gateway holds (config/held-secrets.ts, the key files): the command runs as the gateway's
   * OS user and can read its /proc/<pid>/environ, its config file and its key directory.
   */
  readonly heldSecrets?: () => readonly string[];
}

const MAX_OUTPUT_BYTES = 1_048_576;
const WITHHELD = '[withheld: the output holds a credential in a form that could not be removed]';

/**
 * The first argument, when it is positional. After an option it is not
 * knowable without the tool's grammar (`-n get delete`: is `get` the value of
 * -n?), so it is '' and a rule on the subcommand does not match.
 */
function subcommandOf(args: readonly string[]): string {
  const first = args[0];
  return first !== undefined && !first.startsWith('-') ? first : '';
}

/**
 * Output with the connection's `env` values (and every secret the gateway holds) replaced wherever they appear, as
 * written or escaped or encoded (core/scrub.ts): a binary that prints its
 * environment, or a token in base64, must not hand the agent the gateway's
 * credential. Text that a second look still finds one in is withheld whole.
 */
function scrubbed(scrubber: SecretScrubber, text: string, cutShort: boolean): string {
  if (scrubber.empty || text === '') return text;
  // Output cut where it stood (over the bound, or the process killed) may end in the beginning of a secret, which
  // the search for whole ones misses: its last characters go, whatever they hold (an echo of the agent's own guess
  // at the cut must come back as any other text does), as from an HTTP body cut at its read bound.
  const r = cutShort ? scrubber.scrubEnded(text) : scrubber.scrub(text);
  if (!r.clean) return WITHHELD;
  // UTF-16 or UTF-32 output (`iconv -t UTF-16LE`, a file written so) decodes as text with a NUL beside each character,
  // which no search for the secret matches. NULs are kept in the output (/proc/*/environ, find -print0 use them), but
  // a secret seen once they are taken out withholds it whole.
  if (r.text.includes('\u0000')) {
    const joined = r.text.replaceAll('\u0000', '');
    const again = scrubber.scrub(joined);
    if (!again.clean || again.text !== joined) return WITHHELD;
  }
  return r.text;
}

/**
 * @example
 * const kubectl = createExecConnection({ name: 'ops-tool', command: '/usr/local/bin/kubectl', env: {}, tags: {}, timeoutMs: 60000 });
 */
export function createExecConnection(config: ExecConnectionConfig): ConnectionHandle & { close(): Promise<void> } {
  const scrubberNow = heldScrubber(Object.values(config.env), config.heldSecrets);
  // Aborted when the gateway closes: every run in flight has its group killed, and none starts after.
  const closing = new AbortController();
  const running = new Set<Promise<unknown>>();
  return {
    info: { kind: 'exec', name: config.name, tags: config.tags },
    maxRunMs: config.timeoutMs,
    facts(input: ActionInput) {
      const args = (input as ExecInput).args;
      return makeFacts('exec', {
        writes: true,
        exec: {
          argv: [config.command, ...args],
          command: basename(config.command),
          subcommand: subcommandOf(args),
        },
      });
    },
    async execute(input: ActionInput): Promise<ExecutionResult> {
      const args = (input as ExecInput).args;
      const env = { PATH: '/usr/local/bin:/usr/bin:/bin', ...config.env };
      const run = runGroup(config.command, args, { env, ...(config.cwd ? { cwd: config.cwd } : {}), timeoutMs: config.timeoutMs, maxOutputBytes: MAX_OUTPUT_BYTES, signal: closing.signal });
      running.add(run);
      const r = await run.finally(() => running.delete(run));
      // Output cut where it stood: over the bound, or the process killed (its time limit or a signal).
      const scrubber = scrubberNow();
      const cutShort = r.failure === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER' || r.timedOut || r.stopped === true || r.signal !== null;
      const stdout = scrubbed(scrubber, r.stdout, cutShort);
      const stderr = scrubbed(scrubber, r.stderr, cutShort);
      if (r.failure !== undefined) {
        const message = r.failure === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER' ? 'output exceeded 1 MiB' : `could not start (${r.failure})`;
        return { ok: false, output: { stdout, stderr }, summary: { error: r.failure }, error: { code: 'EXECUTION_FAILED', message: `${config.name}: ${message}` } };
      }
      const { exitCode, signal } = r;
      if (r.stopped) {
        return { ok: false, output: { exitCode, signal, stdout, stderr }, summary: { exitCode, signal, stopped: true }, error: { code: 'EXECUTION_FAILED', message: `${config.name} was stopped: the gateway closed` } };
      }
      const ok = exitCode === 0 && !r.timedOut;
      return {
        ok,
        output: { exitCode, signal, stdout, stderr },
        summary: { exitCode, signal },
        ...(ok ? {} : { error: { code: 'EXECUTION_FAILED', message: r.timedOut ? `${config.name} timed out` : `${config.name} exited with ${exitCode ?? signal}` } }),
      };
    },
    async close() {
      closing.abort();
      await Promise.all(running);
    },
  };
}
