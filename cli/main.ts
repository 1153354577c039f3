#!/usr/bin/env node
/**
 * The `dalesweep` command. Each sub-command lives in its own module as `register(program)`;
 * this file only assembles them and maps errors to exit statuses.
 */
import { Command, CommanderError } from 'commander';
import { UsageError, RunFailedError } from './errors.js';
import { commands } from './commands.js';
import { StoreError } from '../store/types.js';

/** Builds the command tree (exported for tests). */
export function buildProgram(): Command {
  const program = new Command('dalesweep')
    .description("Sweeps of Dale's-law RNNs: train, prune, compare")
    .version('0.1.0')
    .exitOverride();
  for (const register of commands) register(program);
  return program;
}

async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0) return 0;
      return 2;
    }
    if (err instanceof UsageError || err instanceof RunFailedError) {
      process.stderr.write(`dalesweep: ${err.message}\n`);
      return err.exitCode;
    }
    if (err instanceof StoreError) {
      // A condition of the store (missing bucket, credentials, full disk, corrupt artifact).
      process.stderr.write(`dalesweep: ${err.message}\n`);
      return 1;
    }
    const e = err as NodeJS.ErrnoException;
    if (typeof e?.code === 'string' && typeof e.syscall === 'string') {
      // A file-system error (permissions, not a directory, disk full): the message names the path.
      process.stderr.write(`dalesweep: ${e.message}\n`);
      return 1;
    }
    process.stderr.write(`dalesweep: internal error: ${e?.stack ?? String(err)}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv);
