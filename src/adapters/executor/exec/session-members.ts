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
import { readdir, readFile } from 'node:fs/promises';

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
    let stat: string;
    try {
      stat = await readFile(`/proc/${entry}/stat`, 'latin1');
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
