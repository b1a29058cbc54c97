/** Durations written back the way the config writes them, for messages that name a configured limit. */

/**
 * A duration in seconds as the config writes it: the largest whole unit.
 *
 * @example
 * durationText(43_200); // '12h'
 */
export function durationText(seconds: number): string {
  if (seconds % 86_400 === 0) return `${seconds / 86_400}d`;
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}
