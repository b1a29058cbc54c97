/**
 * One run of a binary in a process group of its own, bounded in time and
 * output. At the bound (or past the output limit) the whole group is
 * SIGKILLed: SIGTERM can be ignored, and killing the command alone would
 * leave whatever it started in the background running — and holding its
 * output open — after the run is over and its request settled.
 * (execFile kills the command only, and cannot start it in a group of its own.)
 * The group is killed too when the command ends in time: a background child
 * that let go of the output would otherwise outlive the run unbounded.
 * So is every group of its session (session-groups.ts): a process that moved
 * to a group of its own (`set -m`, setpgid) stays in the session.
 * A descendant that left the session (setsid) is out of reach of the kill; if it
 * holds the output open, the run still ends at its bound (or output limit):
 * the gateway stops reading, and it is left to the host's own supervision.
 */
import { spawn } from 'node:child_process';
import { sessionGroups } from './session-groups.ts';

/** How long the output of a killed group is still read: what its processes wrote before they died. */
const LET_GO_MS = 1000;
/** How many times the session is looked through for processes still in it. */
const SESSION_ROUNDS = 8;

export interface GroupRun {
  /** The exit code, or null when a signal ended it (or it never started). */
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly stdout: string;
  readonly stderr: string;
  /** The run hit its time bound; its group was killed. */
  readonly timedOut: boolean;
  /** `signal` aborted (the gateway closing) before the run ended; its group was killed, or it never started. */
  readonly stopped?: boolean;
  /** Why it ended without a proper exit: `ERR_CHILD_PROCESS_STDIO_MAXBUFFER`, or the error of a spawn that failed (`ENOENT`, …). */
  readonly failure?: string;
}

export interface GroupRunOptions {
  readonly env: Readonly<Record<string, string>>;
  readonly cwd?: string;
  readonly timeoutMs: number;
  /** Bytes each of stdout and stderr may hold. */
  readonly maxOutputBytes: number;
  /** Aborted: the group is killed (or, already aborted, nothing starts). */
  readonly signal?: AbortSignal;
}

function spawnGroup(command: string, args: readonly string[], opts: GroupRunOptions) {
  return spawn(command, args, { shell: false, detached: true, env: opts.env, ...(opts.cwd ? { cwd: opts.cwd } : {}), stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true });
}

/**
 * @example
 * const r = await runGroup('/usr/bin/kubectl', ['get', 'pods'], { env: {}, timeoutMs: 60_000, maxOutputBytes: 1 << 20 });
 */
export function runGroup(command: string, args: readonly string[], opts: GroupRunOptions): Promise<GroupRun> {
  return new Promise((resolve) => {
    if (opts.signal?.aborted) {
      resolve({ exitCode: null, signal: null, stdout: '', stderr: '', timedOut: false, stopped: true });
      return;
    }
    let child: ReturnType<typeof spawnGroup>;
    try {
      child = spawnGroup(command, args, opts);
    } catch (e) {
      // Some failures of the spawn itself are thrown, not emitted: E2BIG, arguments and environment together past
      // the kernel's ARG_MAX, which only the run can tell (it is a quarter of the stack limit).
      resolve({ exitCode: null, signal: null, stdout: '', stderr: '', timedOut: false, failure: (e as NodeJS.ErrnoException).code ?? 'ERR_SPAWN' });
      return;
    }
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const sizes = { out: 0, err: 0 };
    let timedOut = false;
    let stopped = false;
    let failure: string | undefined;
    let done = false;
    const killGroup = () => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // The group is gone already.
      }
    };
    // The groups of its session, made by processes that moved to one of their own; again while any is found.
    // (session-groups.ts reads /proc in slices, handing the event loop back between them.)
    const killSession = async () => {
      if (child.pid === undefined) return;
      for (let round = 0; round < SESSION_ROUNDS; round++) {
        const groups = await sessionGroups(child.pid);
        if (groups.length === 0) return;
        for (const pgrp of groups) {
          try {
            process.kill(-pgrp, 'SIGKILL');
          } catch {
            // Gone already.
          }
        }
      }
    };
    // Output a descendant outside the group holds open: once the group is dead, stop waiting for it to close.
    let letGo: NodeJS.Timeout | undefined;
    const stop = () => {
      killGroup();
      killSession().catch(() => {});
      letGo ??= setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
      }, LET_GO_MS);
    };
    const bound = setTimeout(() => {
      timedOut = true;
      stop();
    }, opts.timeoutMs);
    const onAbort = () => {
      stopped = true;
      stop();
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const collect = (into: Buffer[], which: 'out' | 'err') => (chunk: Buffer) => {
      const room = opts.maxOutputBytes - sizes[which];
      if (room > 0) into.push(room >= chunk.length ? chunk : chunk.subarray(0, room));
      sizes[which] += chunk.length;
      if (sizes[which] > opts.maxOutputBytes && failure === undefined) {
        failure = 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER';
        stop();
      }
    };
    child.stdout.on('data', collect(out, 'out'));
    child.stderr.on('data', collect(err, 'err'));
    const finish = (exitCode: number | null, signal: string | null) => {
      if (done) return;
      done = true;
      clearTimeout(bound);
      clearTimeout(letGo);
      opts.signal?.removeEventListener('abort', onAbort);
      // Whatever of the group is still running (a background child that let go of the output) ends with the run.
      killGroup();
      const settle = () => resolve({ exitCode, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), timedOut, ...(stopped ? { stopped } : {}), ...(failure ? { failure } : {}) });
      // Settled once the session's groups are killed; should the scan fail, the group's own kill above is what stands.
      void killSession().then(settle, settle);
    };
    child.once('error', (e: NodeJS.ErrnoException) => {
      // Not started (ENOENT, EACCES): no close follows with certainty.
      if (child.pid === undefined) {
        failure ??= e.code ?? 'ERR_SPAWN';
        finish(null, null);
      }
    });
    // 'close': the command exited and its output is closed (whatever else of its group held it is gone too).
    child.once('close', (code, signal) => finish(code, signal));
  });
}
