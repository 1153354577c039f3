/**
 * `dalesweep prune`: prune a weight matrix read from a `.npy` file (top-prob or random) and write
 * the pruned matrix, printing one JSON line with the target and achieved sparsity.
 */
import { existsSync, lstatSync, statSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { NpyError, readNpy, writeNpy, type NpyArray } from '../io/npy.js';
import { applyMask, pruneMatrix, PruneError, type PruneMethod } from '../rnn/prune.js';
import { FIDELITIES, type Fidelity } from '../rnn/types.js';
import { UsageError } from '../errors/errors.js';
import { excitatoryCount } from '../rnn/init.js';
import { daleViolations } from '../rnn/rules.js';

/** A 2-D float matrix read for a command. */
export interface LoadedMatrix {
  data: Float32Array | Float64Array;
  m: number;
  n: number;
  dtype: 'float32' | 'float64';
}

/**
 * Reads a 2-D float32/float64 `.npy` matrix for a command, turning every problem into a
 * {@link UsageError} naming the flag and the file.
 */
export async function readMatrixArg(path: string, flag: string): Promise<LoadedMatrix> {
  if (!existsSync(path)) throw new UsageError(`${flag}: file not found: ${path}`);
  if (statSync(path).isDirectory()) throw new UsageError(`${flag}: ${path} is a directory, expected a .npy file`);
  let arr: NpyArray;
  try {
    arr = await readNpy(path);
  } catch (err) {
    if (err instanceof NpyError) throw new UsageError(`${flag}: ${err.message}`);
    throw err;
  }
  if (arr.dtype !== 'float32' && arr.dtype !== 'float64') {
    throw new UsageError(`${flag}: ${path}: dtype ${arr.dtype} is not supported, expected a float32 or float64 weight matrix`);
  }
  if (arr.shape.length !== 2) throw new UsageError(`${flag}: ${path}: expected a 2-D matrix [post, pre], got shape (${arr.shape.join(', ')})`);
  const [m, n] = arr.shape;
  if (m < 1 || n < 1) throw new UsageError(`${flag}: ${path}: empty matrix of shape (${m}, ${n})`);
  const data = arr.data as Float32Array | Float64Array;
  for (let k = 0; k < data.length; k++) {
    if (!Number.isFinite(data[k])) throw new UsageError(`${flag}: ${path}: entry (${Math.floor(k / n)}, ${k % n}) is ${data[k]}, expected finite weights`);
  }
  return { data, m, n, dtype: arr.dtype };
}

/** What a non-regular file is, in words. */
function fileKind(st: Stats): string {
  if (st.isSymbolicLink()) return 'a symbolic link';
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device file';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * Checks that an output path can be written by an atomic replace (a temporary file in its folder,
 * then rename): its folder exists, and the path is new or a regular file. A symbolic link, a
 * directory, a FIFO or a device file (`/dev/null`) is refused rather than replaced by a regular
 * file. The link itself is checked, not what it points to.
 * @throws UsageError (exit 2) naming the flag and the path
 */
export function checkOutPath(path: string, flag: string): void {
  const dir = dirname(resolve(path));
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`${flag}: directory ${dir} does not exist (for ${path})`);
  let st: Stats;
  try {
    st = lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (!st.isFile()) throw new UsageError(`${flag}: ${path} is ${fileKind(st)}; expected a regular file or a new path (it is not replaced)`);
}

function parseSparsity(v: string): number {
  const s = Number(v);
  if (v.trim() === '' || !(s >= 0 && s < 1)) throw new UsageError(`--sparsity must be a number in [0, 1), got '${v}'`);
  return s;
}

function parseSeed(v: string): number {
  const s = Number(v);
  if (v.trim() === '' || !Number.isSafeInteger(s)) throw new UsageError(`--seed must be an integer, got '${v}'`);
  return s;
}

function parseFraction(v: string): number {
  const f = Number(v);
  if (v.trim() === '' || !(f >= 0 && f <= 1)) throw new UsageError(`--excitatory-fraction must be a number in [0, 1], got '${v}'`);
  return f;
}

interface PruneCliOptions {
  weights: string;
  method: 'top-prob' | 'random' | 'random-exact';
  sparsity: number;
  seed: number;
  excitatoryFraction?: number;
  fidelity: Fidelity;
  out: string;
}

/** Registers the `prune` sub-command. */
export function register(program: Command): void {
  program
    .command('prune')
    .description('Prune a weight matrix [post, pre] from a .npy file and write the pruned matrix (same dtype)')
    .requiredOption('--weights <file>', '2-D float32/float64 .npy weight matrix, rows post-synaptic, columns pre-synaptic')
    .addOption(new Option('--method <method>', "'top-prob' (keep w with probability kappa|w|), 'random' (keep each with probability 1-s) or 'random-exact' (exactly round((1-s)mn))").choices(['top-prob', 'random', 'random-exact']).makeOptionMandatory())
    .requiredOption('--sparsity <s>', 'target fraction of zeros in [0, 1); pre-existing zeros count towards it', parseSparsity)
    .option('--seed <k>', 'seed of the pruning draw', parseSeed, 0)
    .option(
      '--excitatory-fraction <f>',
      "declare the matrix an E/I recurrent matrix: it must be square and the first round(f n) columns are excitatory. Its signs are checked against Dale's law (E columns >= 0, I columns <= 0; any violation is an error, exit 2), and the JSON line adds kept counts per population. Pruning itself only zeroes entries, so it never breaks Dale's law",
      parseFraction,
    )
    .addOption(new Option('--fidelity <mode>', "'corrected' (paper) or 'paper-code' (the authors' code)").choices([...FIDELITIES]).default('corrected'))
    .requiredOption('--out <file>', 'output .npy file, new or a regular file (written atomically; its folder must exist; a symbolic link, FIFO or device is refused)')
    .action(async (o: PruneCliOptions) => {
      checkOutPath(o.out, '--out');
      const w = await readMatrixArg(o.weights, '--weights');
      let nExc: number | undefined;
      if (o.excitatoryFraction !== undefined) {
        if (w.m !== w.n) throw new UsageError(`--excitatory-fraction needs a square recurrent matrix, but ${o.weights} has shape (${w.m}, ${w.n})`);
        nExc = excitatoryCount(w.n, o.excitatoryFraction);
        const v = daleViolations(w.data, w.n, nExc);
        if (v.count > 0) {
          const f = v.first!;
          throw new UsageError(
            `--weights ${o.weights}: ${v.count} entries violate Dale's law with the first ${nExc} of ${w.n} columns excitatory (first: (${f.row}, ${f.col}) = ${f.value} in an ${f.col < nExc ? 'E column, expected >= 0' : 'I column, expected <= 0'})`,
          );
        }
      }
      let res;
      try {
        res = pruneMatrix(w.data, w.m, w.n, { method: o.method as PruneMethod, sparsity: o.sparsity, seed: o.seed, fidelity: o.fidelity });
      } catch (err) {
        if (err instanceof PruneError) throw new UsageError(err.message);
        throw err;
      }
      const pruned = applyMask(w.data, res.mask);
      let zeros = 0;
      for (let k = 0; k < pruned.length; k++) if (pruned[k] === 0) zeros++;
      // Again just before writing: the path may have changed while the matrix was pruned.
      checkOutPath(o.out, '--out');
      // writeNpy writes a temporary file beside o.out and renames it: no partial file on failure.
      await writeNpy(o.out, { data: pruned, shape: [w.m, w.n] });
      const line: Record<string, unknown> = {
        method: o.method,
        seed: o.seed,
        fidelity: o.fidelity,
        shape: [w.m, w.n],
        targetSparsity: o.sparsity,
        achievedSparsity: zeros / pruned.length,
        maskSparsity: res.achievedSparsity,
        kept: res.kept,
        expectedKept: res.expectedKept,
        keptAllNonZeros: res.keptAllNonZeros,
        out: o.out,
      };
      if (nExc !== undefined) {
        let keptE = 0;
        let keptI = 0;
        for (let k = 0; k < res.mask.length; k++) if (res.mask[k] !== 0) (k % w.n < nExc ? keptE++ : keptI++);
        line.nExc = nExc;
        line.keptExcitatory = keptE;
        line.keptInhibitory = keptI;
      }
      process.stdout.write(`${JSON.stringify(line)}\n`);
    });
}
