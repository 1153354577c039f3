/**
 * Errors the CLI turns into a message and an exit status. Any module may throw these (they sit
 * at the bottom of the import order, README "Development"); only `cli/main.ts` prints them and
 * exits.
 */

/** Bad input from the user (a flag, a file, a field). Exit status 2, nothing run. */
export class UsageError extends Error {
  override name = 'UsageError';
  readonly exitCode: number = 2;
}

/** The work ran but did not fully succeed (e.g. some stages failed). Exit status 1. */
export class RunFailedError extends Error {
  override name = 'RunFailedError';
  readonly exitCode: number = 1;
}
