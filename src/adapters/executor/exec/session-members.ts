/**
 * The processes of a session, read from /proc (Linux). A command run with
 * `detached` leads a session of its own, and whatever it starts stays in it
 * unless it calls setsid: a descendant that only changed its process group
 * (a shell's job control, `set -m`; setpgid) is out of reach of a kill of the
 * group, but not of its session. The kernel does not hand a session's id to
 * another process while any process is still in that session, so an id found
 * here is one of the run's own.
 * Where /proc cannot be read, none are found: the group kill is what remains.
 */
import { open, readdir } from 'node:fs/promises';

/** Enough of /proc/<pid>/stat for its session: the pid, a comm of at most 64 bytes, four short fields. */
const STAT_BYTES = 256;

/**
 * @example
 * for (const pid of await sessionMembers(child.pid)) process.kill(pid, 'SIGKILL');
 */
export async function sessionMembers(sid: number): Promise<number[]> {
  let entries: string[];
  try {
    entries = await readdir('/proc');
  } catch {
    return [];
  }
  const inSession = async (entry: string): Promise<boolean> => {
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
      return false; // Gone since the listing.
    }
    // proc(5): pid (comm) state ppid pgrp session …; comm may hold spaces and parentheses, so fields count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[3]) === sid;
  };
  const pids = entries.filter((e) => /^\d+$/.test(e));
  const found = await Promise.all(pids.map(inSession));
  return pids.filter((_, i) => found[i]).map(Number);
}
