/**
 * Calibration of `dalesweep plan`'s wall-time estimate: a few training steps and one evaluation
 * batch of each model kind a plan trains, through the real code path (the stage setup of
 * `activities/model-setup.ts`, the backend, `rnn/train.ts`), timed on this machine.
 *
 * A model kind is what decides the time of a step: task (and cell-type condition), backend,
 * nHidden and batch size. The learning rule, seed and data values are not part of it (the rule's
 * projection is O(N²) per step against O(B·T·N²) for the products); a kind is measured with the
 * first config of the plan that has it.
 *
 * Measurements are cached per machine (hostname, CPU model, core count) and code version in
 * `${XDG_CACHE_HOME:-~/.cache}/dalesweep/calibration/<machine>-<codeVersion>.json` (never in the
 * repository or the store), written atomically (temporary file, then rename). A cache file that
 * cannot be read as a calibration of this machine and code version is ignored and measured again.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, homedir, hostname, loadavg } from 'node:os';
import { join } from 'node:path';
import type { Dataset } from '../rnn/dataset.js';
import type { Batch } from '../rnn/types.js';
import type { ModelTaskConfig, OptimConfig } from '../sweeps/stage-config.js';

/** Cache format version (a file of another version is measured again). */
export const CALIBRATION_VERSION = 2;

/** Measuring a model kind failed (its setup or a training step threw). */
export class CalibrationError extends Error {
  override name = 'CalibrationError';
  /**
   * @param kind the {@link kindKey} being measured
   * @param cause what the measurement threw
   */
  constructor(
    readonly kind: string,
    override readonly cause: unknown,
  ) {
    super(`calibration of model kind ${kind} failed: ${cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause)}`);
  }
}

/** The machine a calibration belongs to. */
export interface MachineIdentity {
  hostname: string;
  cpuModel: string;
  /** Cores this process may use (`os.availableParallelism()`). */
  cores: number;
}

/** This machine. */
export function thisMachine(): MachineIdentity {
  return { hostname: hostname(), cpuModel: cpus()[0]?.model?.trim() ?? 'unknown', cores: availableParallelism() };
}

/** Timing of one model kind. */
export interface KindTiming {
  /** Seconds per training step of `batchSize` samples (gradients, optimiser, rule, masks). */
  stepSeconds: number;
  /** Seconds per evaluation (forward) batch of `batchSize` samples. */
  evalSeconds: number;
  /**
   * CPU seconds (user + system) of this process per training step: what a step costs a core of
   * its own, the time on an idle machine (the wall time above includes the wait for a core when
   * the machine is shared).
   */
  stepCpuSeconds: number;
  /** CPU seconds per evaluation batch. */
  evalCpuSeconds: number;
  /** Multiply-adds of one training step by the plan's cost model (3·B·T·N²), for scaling. */
  stepMacs: number;
  /** Timed steps. */
  steps: number;
  /** One-minute load average of the machine when measured. */
  load1: number;
  /** ISO 8601 time of the measurement. */
  measuredAt: string;
}

/** `calibration/<machine>-<codeVersion>.json`. */
export interface CalibrationFile {
  version: number;
  machine: MachineIdentity;
  codeVersion: string;
  /** By {@link kindKey}. */
  kinds: Record<string, KindTiming>;
}

/** The fields of a training-like stage config that define its model kind. */
export type KindConfig = ModelTaskConfig & Pick<OptimConfig, 'batchSize'> & Partial<OptimConfig>;

/** The model of a stage config: task (and cell-type condition), backend, nHidden. */
export function modelKey(c: ModelTaskConfig): string {
  const task = c.celltype !== undefined ? `${c.task}:${c.celltype.condition}` : c.task;
  return `${task}/${c.backend}/N${c.nHidden}`;
}

/** The model kind of a training-like config: its {@link modelKey} and batch size. */
export function kindKey(c: KindConfig): string {
  return `${modelKey(c)}/B${c.batchSize}`;
}

/** `${XDG_CACHE_HOME:-$HOME/.cache}/dalesweep/calibration`. */
export function defaultCalibrationDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME && env.XDG_CACHE_HOME.startsWith('/') ? env.XDG_CACHE_HOME : join(homedir(), '.cache');
  return join(base, 'dalesweep', 'calibration');
}

/** The cache file of a machine and code version. */
export function calibrationPath(dir: string, machine: MachineIdentity, codeVersion: string): string {
  const m = createHash('sha256').update(JSON.stringify([machine.hostname, machine.cpuModel, machine.cores])).digest('hex').slice(0, 16);
  return join(dir, `${m}-${codeVersion}.json`);
}

function isTiming(v: unknown): v is KindTiming {
  if (typeof v !== 'object' || v === null) return false;
  const t = v as Record<string, unknown>;
  const pos = (x: unknown): boolean => typeof x === 'number' && Number.isFinite(x) && x > 0;
  return pos(t.stepSeconds) && pos(t.evalSeconds) && pos(t.stepCpuSeconds) && pos(t.evalCpuSeconds) && pos(t.stepMacs) && pos(t.steps) && typeof t.load1 === 'number' && typeof t.measuredAt === 'string';
}

/**
 * Reads the cached calibration of a machine and code version.
 * @returns null when there is none, or when the file is not a valid calibration of exactly this
 *   machine and code version (corrupt, truncated, another format): it is then measured again
 */
export function readCalibration(path: string, machine: MachineIdentity, codeVersion: string): CalibrationFile | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null; // no cache (yet)
    throw err;
  }
  let f: CalibrationFile;
  try {
    f = JSON.parse(text) as CalibrationFile;
  } catch {
    return null; // corrupt: measured again and overwritten
  }
  if (typeof f !== 'object' || f === null || f.version !== CALIBRATION_VERSION || f.codeVersion !== codeVersion) return null;
  const m = f.machine;
  if (typeof m !== 'object' || m === null || m.hostname !== machine.hostname || m.cpuModel !== machine.cpuModel || m.cores !== machine.cores) return null;
  if (typeof f.kinds !== 'object' || f.kinds === null || Array.isArray(f.kinds)) return null;
  const kinds: Record<string, KindTiming> = {};
  for (const [k, v] of Object.entries(f.kinds)) if (isTiming(v)) kinds[k] = v;
  return { version: f.version, machine: m, codeVersion, kinds };
}

/** Writes a calibration file atomically (a temporary file beside it, then rename). */
export function writeCalibration(path: string, f: CalibrationFile): void {
  mkdirSync(join(path, '..'), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  try {
    writeFileSync(tmp, `${JSON.stringify(f, null, 2)}\n`);
    renameSync(tmp, path);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      // nothing was written
    }
    throw err;
  }
}

/** A dataset that repeats the first `base.n` samples `n / base.n` times (a longer epoch of the same data). */
class RepeatDataset implements Dataset {
  readonly T: number;
  readonly nIn: number;
  readonly nOut: number;
  readonly classification: boolean;
  constructor(
    private readonly base: Dataset,
    readonly n: number,
  ) {
    ({ T: this.T, nIn: this.nIn, nOut: this.nOut, classification: this.classification } = base);
  }
  batch(indices: ArrayLike<number>, out?: Batch): Batch {
    const idx = Int32Array.from(indices, (i) => i % this.base.n);
    return this.base.batch(idx, out);
  }
}

/** Wall time the timed steps of one kind aim at, seconds (1 to 50 steps are timed). */
export const TARGET_SECONDS_PER_KIND = 0.3;
/** Warm-up steps before timing. */
export const WARMUP_STEPS = 3;
/** Warm-up stops after the step that passes this many seconds. */
export const WARMUP_SECONDS = 1;

/**
 * Measures one model kind: builds the stage setup with a one-batch data set (cell-type: synthetic
 * data of the same shapes), {@link WARMUP_STEPS} warm-up steps, then enough steps to last about
 * {@link TARGET_SECONDS_PER_KIND} (1 to 50), and one evaluation batch (after a warm-up one).
 */
export async function measureKind(c: KindConfig): Promise<KindTiming> {
  const B = c.batchSize;
  const small: ModelTaskConfig = {
    ...c,
    nTrain: B,
    nTest: c.task === 'celltype' ? 0 : 1, // the other tasks need a test set; it is not used
    ...(c.celltype !== undefined ? { celltype: { ...c.celltype, data: 'synthetic', syntheticSamples: B } } : {}),
  };
  // Loaded here, so that `plan --no-calibrate` and a cached calibration load no model code.
  const [{ buildSetup }, { createBackend }, { evaluateDataset, train }] = await Promise.all([import('./model-setup.js'), import('../rnn/backends.js'), import('../rnn/train.js')]);
  const setup = await buildSetup(small);
  const backend = await createBackend(c.backend);
  /** Wall and CPU seconds of `fn`. */
  const timed = (fn: () => void): { wall: number; cpu: number } => {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    fn();
    const wall = (performance.now() - t0) / 1000;
    const used = process.cpuUsage(c0);
    return { wall, cpu: (used.user + used.system) / 1e6 };
  };
  const steps = (k: number): { wall: number; cpu: number } =>
    timed(() =>
      train({
        cfg: setup.cfg,
        params: setup.initParams(),
        backend,
        train: new RepeatDataset(setup.train, k * B),
        epochs: 1,
        batchSize: B,
        optimizer: c.optimizer,
        lr: c.lr,
        seed: c.seed,
        masks: setup.taskMasks,
        frozen: setup.frozen,
      }),
    );
  // Warm-up: the first steps run before V8 has tiered up the kernels and the training loop
  // (N = 128 flip-flop: 2.6×, 1.7×, 1.4× the steady CPU time per step, steady from the 4th), so
  // WARMUP_STEPS steps, fewer when they take over WARMUP_SECONDS (the cell-type model).
  let warm = 0;
  let spent = 0;
  for (let i = 0; i < WARMUP_STEPS && (i === 0 || spent < WARMUP_SECONDS); i++) {
    warm = steps(1).wall;
    spent += warm;
  }
  // Then enough steps to last about the target (one for a model whose step outlasts it).
  const k = Math.max(1, Math.min(50, Math.ceil(TARGET_SECONDS_PER_KIND / Math.max(warm, 1e-4))));
  const run = steps(k);
  const params = setup.initParams();
  evaluateDataset(backend, setup.cfg, params, setup.train, B); // warm-up
  const ev = timed(() => evaluateDataset(backend, setup.cfg, params, setup.train, B));
  const pos = (x: number): number => Math.max(1e-6, x);
  return {
    stepSeconds: pos(run.wall / k),
    evalSeconds: pos(ev.wall),
    // CPU time can exceed wall time slightly (helper threads); never report it above the wall time.
    stepCpuSeconds: pos(Math.min(run.cpu, run.wall) / k),
    evalCpuSeconds: pos(Math.min(ev.cpu, ev.wall)),
    stepMacs: 3 * B * setup.train.T * c.nHidden * c.nHidden,
    steps: k,
    load1: loadavg()[0],
    measuredAt: new Date().toISOString(),
  };
}

/** Options of {@link calibrate}. */
export interface CalibrateOptions {
  codeVersion: string;
  /** Measure the kinds the cache lacks; false: cache only. @default true */
  measure?: boolean;
  /** Measure every kind again, replacing the cached timings (e.g. after the machine's load changed). @default false */
  refresh?: boolean;
  /** @default {@link defaultCalibrationDir}() */
  dir?: string;
  /** @default {@link thisMachine}() */
  machine?: MachineIdentity;
  /** Measures one kind. @default {@link measureKind} */
  measureKind?(c: KindConfig): Promise<KindTiming>;
  /**
   * Seconds of measuring after which the remaining kinds are not measured (they are then scaled
   * from the measured ones by multiply-adds). Kinds are measured in the order given.
   * @default 5
   */
  budgetSeconds?: number;
}

/** What {@link calibrate} found. */
export interface Calibration {
  /** Timings by {@link kindKey}, of the kinds asked for that are cached or were measured. */
  kinds: Map<string, KindTiming>;
  /** Kinds measured now. */
  measured: string[];
  /** Kinds read from the cache. */
  cached: string[];
  /** Kinds neither cached nor measured (no measuring, or the budget ran out). */
  missing: string[];
  /** Seconds spent measuring. */
  seconds: number;
  /** The cache file. */
  path: string;
  /** Why the cache file could not be written (the timings are still returned). */
  cacheError?: string;
}

/**
 * Timings of the given kinds on this machine: from the cache, the missing ones measured (unless
 * `measure` is false) and added to the cache.
 * @throws CalibrationError when measuring a kind fails (the kinds measured before are not cached)
 * @param configs one config per kind (the first of each {@link kindKey} is used), most costly first
 */
export async function calibrate(configs: readonly KindConfig[], opts: CalibrateOptions): Promise<Calibration> {
  const machine = opts.machine ?? thisMachine();
  const path = calibrationPath(opts.dir ?? defaultCalibrationDir(), machine, opts.codeVersion);
  const file = readCalibration(path, machine, opts.codeVersion) ?? { version: CALIBRATION_VERSION, machine, codeVersion: opts.codeVersion, kinds: {} };
  const byKey = new Map<string, KindConfig>();
  for (const c of configs) if (!byKey.has(kindKey(c))) byKey.set(kindKey(c), c);
  const out: Calibration = { kinds: new Map(), measured: [], cached: [], missing: [], seconds: 0, path };
  const measure = opts.measureKind ?? measureKind;
  const budget = opts.budgetSeconds ?? 5;
  const t0 = performance.now();
  for (const [key, c] of byKey) {
    const hit = opts.refresh ? undefined : file.kinds[key];
    if (hit !== undefined) {
      out.kinds.set(key, hit);
      out.cached.push(key);
    } else if ((opts.measure ?? true) && (performance.now() - t0) / 1000 < budget) {
      let t: KindTiming;
      try {
        t = await measure(c);
      } catch (err) {
        throw new CalibrationError(key, err);
      }
      file.kinds[key] = t;
      out.kinds.set(key, t);
      out.measured.push(key);
    } else out.missing.push(key);
  }
  out.seconds = (performance.now() - t0) / 1000;
  if (out.measured.length > 0) {
    try {
      writeCalibration(path, file);
    } catch (err) {
      // The measurements still serve this estimate; the next plan measures again.
      out.cacheError = `${path} not written: ${(err as Error).message}`;
    }
  }
  return out;
}
