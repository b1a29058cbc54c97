/** Options and option parsers that several `countersign` commands share (program.ts). */
import { Command, InvalidArgumentError, Option } from 'commander';

/** A commander parser for an integer option in [min, max]. */
export function positiveInt(name: string, max: number, min = 1): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || n > max) throw new InvalidArgumentError(`${name}: a whole number from ${min} to ${max}`);
    return n;
  };
}

export const configOption = () => new Option('-c, --config <file>', 'configuration file (default ./countersign.yaml, else the demo config)');
export const remote = (cmd: Command) =>
  cmd
    .addOption(new Option('--url <url>', 'gateway URL').env('COUNTERSIGN_URL').default('http://127.0.0.1:8700'))
    .addOption(new Option('--key <key>', 'API key or token (prefer the environment variable; default: the token `countersign login` saved)').env('COUNTERSIGN_KEY'))
    .option('--json', 'print JSON');

/**
 * `--url` of a command that reads the store without it: only an explicit flag switches to the gateway (not
 * COUNTERSIGN_URL alone, so a shell set up for reviewing does not change where an export comes from).
 */
export const gatewayOption = (cmd: Command) =>
  cmd
    .addOption(new Option('--url <url>', 'ask this gateway instead of reading the store (as a human with the auditor or admin role)').conflicts('config'))
    .addOption(new Option('--key <key>', 'with --url: API key or token (prefer the environment variable; default: the token `countersign login` saved)').env('COUNTERSIGN_KEY'));

/** A commander parser for seconds (a whole or decimal number ≥ 0). */
export function seconds(name: string): (value: string) => number {
  return (value) => {
    if (!/^\d+(\.\d+)?$/.test(value)) throw new InvalidArgumentError(`${name}: seconds, a number ≥ 0`);
    return Number(value);
  };
}

export const collect = (value: string, previous: string[] = []) => [...previous, value];
