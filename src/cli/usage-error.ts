/** A command used wrongly (exit code 2). Its own module so that the CLI's entry can catch it without loading a command. */
export class UsageError extends Error {}
