#!/usr/bin/env node
/**
 * The `dalesweep` command. Each sub-command lives in its own module as `register(program)`;
 * this file only assembles them and maps errors to exit statuses.
 */
import { Command, CommanderError } from 'commander';
import { UsageError, RunFailedError } from '../errors/errors.js';
import { ArithmeticUnavailableError, kernelArithmetic } from '../rnn/model-js-simd.js';
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

/**
 * Makes a closed reader of stdout or stderr (`dalesweep run --json | head -1`) end that output
 * quietly instead of crashing the command with an EPIPE stack trace: the command goes on to the
 * end (a sweep finishes its stages and writes its results) and exits as it would have, and
 * later writes to the closed stream are dropped. Any other error of these streams (e.g. a full
 * disk under a redirection) is one line on stderr and exit status 1.
 */
export function installOutputErrorHandlers(): void {
  for (const [name, stream] of [
    ['standard output', process.stdout],
    ['standard error', process.stderr],
  ] as const) {
    let closed = false;
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE' || (closed && err.code === 'ERR_STREAM_DESTROYED')) {
        if (!closed) {
          closed = true;
          // Nothing reads this stream any more: drop what is still written to it.
          stream.write = (_chunk: unknown, encodingOrCb?: unknown, cb?: unknown): boolean => {
            const done = typeof encodingOrCb === 'function' ? encodingOrCb : cb;
            if (typeof done === 'function') process.nextTick(done as () => void);
            return true;
          };
        }
        return;
      }
      if (stream !== process.stderr) process.stderr.write(`dalesweep: cannot write to ${name}: ${err.message}\n`);
      process.exit(1);
    });
  }
}

async function main(argv: string[]): Promise<number> {
  try {
    // A DALESWEEP_ARITH the kernels cannot honour is refused before any command starts work.
    if (process.env.DALESWEEP_ARITH !== undefined) kernelArithmetic();
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0) return 0;
      return 2;
    }
    if (err instanceof ArithmeticUnavailableError) {
      process.stderr.write(`dalesweep: ${err.message}\n`);
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

installOutputErrorHandlers();
// The AWS SDK prints a nine-line notice on every S3 command under Node 20 (supported by
// dalesweep, see package.json engines) about its own future releases; keep the CLI's stderr to
// dalesweep's messages. Set the variable to 'false' to see it.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
// Native TensorFlow (backend tfjs-node) prints its CPU-feature notices unless told not to; it
// reads the process environment, which the stage threads inherit from here.
process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
// Float32 matmuls in float32 on Ampere and later GPUs (TensorFlow would use TF32 for them).
process.env.NVIDIA_TF32_OVERRIDE ??= '0';
// Each stage thread holds its own TensorFlow context: let each take GPU memory as it needs it
// instead of the first one taking it all.
process.env.TF_FORCE_GPU_ALLOW_GROWTH ??= 'true';
// Native TensorFlow's CPU results depend on its thread counts (measured: 1 vs 2 intra-op threads
// give other float32 bits), and its default is every core, so the same stage would give other
// numbers on a machine with another core count. Pin both to 1 unless the user sets them (the
// manifest records what was used); the local pool already runs one stage per core.
process.env.TF_NUM_INTRAOP_THREADS ??= '1';
process.env.TF_NUM_INTEROP_THREADS ??= '1';
process.exitCode = await main(process.argv);
