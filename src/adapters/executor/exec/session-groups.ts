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
import { open, readdir } from 'node:fs/promises';

/** Enough of /proc/<pid>/stat for its session: the pid, a comm of at most 64 bytes, four short fields. */
const STAT_BYTES = 256;

/**
 * @example
 * for (const pgrp of await sessionGroups(child.pid)) process.kill(-pgrp, 'SIGKILL');
 */
export async function sessionGroups(sid: number): Promise<number[]> {
  let entries: string[];
  try {
    entries = await readdir('/proc');
  } catch {
    return [];
  }
  const groupIn = async (entry: string): Promise<number | undefined> => {
    // One read into a small buffer (readFile would stat and read again: /proc files report no size).
    let stat: string;
    try {
      const file = await open(`/proc/${entry}/stat`, 'r');
      try {
        const { buffer, bytesRead } = await file.read(Buffer.alloc(STAT_BYTES), 0, STAT_BYTES, 0);
        stat = buffer.toString('latin1', 0, bytesRead);
      } finally {
        await file.close();
      }
    } catch {
      return undefined; // Gone since the listing.
    }
    // proc(5): pid (comm) state ppid pgrp session …; comm may hold spaces and parentheses, so fields count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[3]) === sid ? Number(fields[2]) : undefined;
  };
  // Never 0 or 1: kill(-0) signals the caller's own group, kill(-1) every process it may signal.
  const groups = await Promise.all(entries.filter((e) => /^\d+$/.test(e)).map(groupIn));
  return [...new Set(groups.filter((g): g is number => g !== undefined && g > 1))];
}
