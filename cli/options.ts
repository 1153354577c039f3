/**
 * The command-line options the commands share and their parsers: `--store` (and opening the
 * store it names), `--data` (checked to be a directory), `--temporal-address`, `--namespace`,
 * and positive integer / number parsers that name their flag. Bad values are UsageErrors (exit 2).
 */
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { Option } from 'commander';
import { openStore } from '../store/open.js';
import type { ArtifactStore } from '../store/types.js';
import type { ParseOptions } from '../sweeps/spec.js';
import { UsageError } from '../errors/errors.js';

/** `--store URL`, also from DALESWEEP_STORE; default `./runs`. */
export function storeOption(): Option {
  return new Option('--store <url>', 'artifact store: a path, file://..., or s3://bucket/prefix?endpoint=...').env('DALESWEEP_STORE').default('runs');
}

/**
 * `--data DIR`: the data directory of the runs that read one (celltype with celltypeData files,
 * smnist with dataSource mnist), replacing the sweep file's dataDir (e.g. the placeholder of
 * sweeps/paper/celltype.yaml). It becomes part of those runs' stage configs, so it changes their
 * identities.
 */
export function dataOption(): Option {
  return new Option('--data <dir>', "data directory for the runs that read one (celltype with celltypeData files, smnist with dataSource mnist); replaces the sweep file's dataDir");
}

/**
 * The absolute path of a `--data` value, checked to be an existing directory.
 * @throws UsageError (exit 2) naming the directory when it does not exist or is not a directory
 */
export function dataDirFlag(dir: string | undefined): ParseOptions {
  if (dir === undefined) return {};
  if (dir.trim() === '') throw new UsageError('--data needs a directory');
  const abs = resolve(dir);
  if (!existsSync(abs)) throw new UsageError(`--data: directory ${abs} does not exist`);
  if (!statSync(abs).isDirectory()) throw new UsageError(`--data: ${abs} is not a directory`);
  return { dataDir: abs };
}

/** `--temporal-address HOST:PORT`, also from DALESWEEP_TEMPORAL_ADDRESS; default 127.0.0.1:7233. */
export function temporalAddressOption(): Option {
  return new Option('--temporal-address <host:port>', 'Temporal frontend')
    .env('DALESWEEP_TEMPORAL_ADDRESS')
    .default('127.0.0.1:7233')
    .argParser((v: string) => {
      if (!/^[^:\s]+:\d+$/.test(v)) throw new UsageError(`--temporal-address must be HOST:PORT, got '${v}'`);
      return v;
    });
}

/** `--namespace NS`, also from DALESWEEP_TEMPORAL_NAMESPACE; default `default`. */
export function namespaceOption(): Option {
  return new Option('--namespace <ns>', 'Temporal namespace').env('DALESWEEP_TEMPORAL_NAMESPACE').default('default');
}

/** A positive-integer option parser naming the flag in its error. */
export function positiveInt(flag: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} must be a positive integer, got '${v}'`);
    return n;
  };
}

/** A positive-number option parser naming the flag in its error. */
export function positiveNumber(flag: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${flag} must be a positive number, got '${v}'`);
    return n;
  };
}

/** Opens the store named by `--store`, mapping URL errors to exit status 2. */
export async function openStoreFlag(url: string): Promise<ArtifactStore> {
  return openStore(url);
}
