/**
 * The process groups of a session, read from /proc (Linux). A command run with
 * `detached` leads a session of its own, and whatever it starts stays in it
 * unless it calls setsid: a descendant that only changed its process group
 * (a shell's job control, `set -m`; setpgid) is out of reach of a kill of the
 * group, but not of its session. The kernel does not hand a session's id to
 * another process while any process is still in that session, and a group
 * lies within one session, so a group found here is the run's own. Groups,
 * not processes: the kernel signals a whole group at once, so a process of it
 * forking meanwhile does not leave a child behind.
 * Where /proc cannot be read, none are found: the group kill is what remains.
 */
import { closeSync, openSync, readdirSync, readSync } from 'node:fs';

/** Enough of /proc/<pid>/stat for its session: the pid, a comm of at most 64 bytes, four short fields. */
const STAT_BYTES = 256;
/** Files read between two turns of the event loop. */
const SLICE = 64;

/**
 * @example
 * for (const pgrp of await sessionGroups(child.pid)) process.kill(-pgrp, 'SIGKILL');
 */
export async function sessionGroups(sid: number): Promise<number[]> {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const buffer = Buffer.alloc(STAT_BYTES);
  const groups = new Set<number>();
  let read = 0;
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    // Read synchronously (a thread-pool round trip per file made the scan ten times slower) and in slices, each
    // then handing the event loop back: a host's /proc may list thousands of processes.
    if (++read % SLICE === 0) await new Promise((next) => setImmediate(next));
    let stat: string;
    try {
      const fd = openSync(`/proc/${entry}/stat`, 'r');
      try {
        // One read into a small buffer (readFile would stat and read again: /proc files report no size).
        stat = buffer.toString('latin1', 0, readSync(fd, buffer, 0, STAT_BYTES, 0));
      } finally {
        closeSync(fd);
      }
    } catch {
      continue; // Gone since the listing.
    }
    // proc(5): pid (comm) state ppid pgrp session …; comm may hold spaces and parentheses, so fields count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const pgrp = Number(fields[2]);
    // Never 0 or 1: kill(-0) signals the caller's own group, kill(-1) every process it may signal.
    if (Number(fields[3]) === sid && pgrp > 1) groups.add(pgrp);
  }
  return [...groups];
}
