/**
 * The gateway's logger (pino, JSON lines on stdout or stderr). Its own module
 * so that a process that only supervises workers can log without loading the
 * gateway.
 *
 * Every line is scrubbed of the secrets the configuration holds before it is
 * written: an error of a library (fetch quoting a URL with its password, a
 * client quoting its options) carries whatever its author put in its message
 * or properties, and the log at `debug` or `trace` is read by operators who
 * hold none of the credentials.
 */
import pino, { type Logger, type LoggerOptions } from 'pino';
import { createSecretScrubber, REDACTED } from '../core/scrub.ts';
import { secretParts } from '../core/secret-parts.ts';

/**
 * `fd`: where the log goes; 2 (stderr) when stdout carries a protocol. `secrets`: values no line may hold
 * (config/held-secrets.ts), in any of the encodings core/scrub.ts looks through.
 *
 * @example
 * const log = createLogger(config.log.level, 1, heldSecrets(config));
 */
export function createLogger(level: string, fd: 1 | 2 = 1, secrets: readonly string[] = []): Logger {
  return pino(loggerOptions(level, secrets), pino.destination(fd));
}

/** The options of the gateway's logger, whatever it writes to. */
export function loggerOptions(level: string, secrets: readonly string[]): LoggerOptions {
  const scrubber = createSecretScrubber(secretParts(secrets));
  return {
    level,
    base: { service: 'countersign' },
    // Defence in depth: nothing logs these today, and nothing ever should.
    redact: { paths: ['authorization', '*.authorization', 'headers', '*.headers', 'apiKeys', '*.apiKeys', 'env', '*.env', 'input.headers', '*.input.headers'], censor: '[redacted]' },
    ...(scrubber.empty ? {} : { hooks: { streamWrite: (line: string) => scrubbed(scrubber, line) } }),
  };
}

/** The line scrubbed; one that would not come clean is replaced by a line that says so, still JSON. */
function scrubbed(scrubber: ReturnType<typeof createSecretScrubber>, line: string): string {
  const r = scrubber.scrub(line);
  if (r.clean) return r.text;
  const level = /"level":(\d+)/.exec(line)?.[1] ?? '50';
  return `${JSON.stringify({ level: Number(level), time: Date.now(), service: 'countersign', msg: `a log line held a secret it could not be cleaned of: ${REDACTED}` })}\n`;
}
