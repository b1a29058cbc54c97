/**
 * The `countersign` process (bin/countersign.js imports it): the command line of program.ts on this process's
 * streams, environment and SIGINT, its exit code the process's.
 */
import { processIo } from './io.ts';
import { runCommand } from './program.ts';

// A closed pipe (`countersign audit export | head`) is the reader's choice, not an error.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});

process.exitCode = await runCommand(process.argv.slice(2), processIo());
