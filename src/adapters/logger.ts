/**
 * The gateway's logger (pino, JSON lines on stdout or stderr). Its own module
 * so that a process that only supervises workers can log without loading the
 * gateway.
 */
import pino, { type Logger } from 'pino';

/** `fd`: where the log goes; 2 (stderr) when stdout carries a protocol. */
export function createLogger(level: string, fd: 1 | 2 = 1): Logger {
  return pino(
    {
      level,
      base: { service: 'countersign' },
      // Defence in depth: nothing logs these today, and nothing ever should.
      redact: { paths: ['authorization', '*.authorization', 'headers', '*.headers', 'apiKeys', '*.apiKeys', 'env', '*.env', 'input.headers', '*.input.headers'], censor: '[redacted]' },
    },
    pino.destination(fd),
  );
}
