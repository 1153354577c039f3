/**
 * Side-by-side benchmark against PyTorch (`npm run bench -- --only torch`): the js backend and
 * the same model written idiomatically in PyTorch (bench/torch_rnn.py: a Python time-step loop,
 * eager and under `torch.compile`, `torch.set_num_threads(1)`), trained from the same bench batch
 * and initial weights (bench/model.ts {@link taskSetup}, `initParams(cfg, 0)`) on
 *
 *   flip-flop:         N=128, T=50, B=200, nIn=1,  nOut=1,  head tanh,         rule dale
 *   sequential MNIST:  N=128, T=28, B=200, nIn=28, nOut=10, head softmax-last, rule dale
 *
 * and the flip-flop model also from its weights after {@link TRAINED_EPOCHS} epochs of training
 * (case `flipflop-trained`, see {@link TORCH_CASES}).
 *
 * One step = loss and gradients + Adam + Dale's projection on both sides. Before timing, one step
 * from the case's start weights is checked against the js backend's exported step: loss, updated
 * weights and gradients must agree within {@link TORCH_CHECK_TOLERANCE} (relative; Frobenius norm
 * for tensors). Timing is interleaved: each round measures js and the {@link TORCH_COLUMNS}
 * (torch eager and torch.compile, each also with subnormals flushed to zero,
 * `torch.set_flush_denormal(True)`: the js kernels flush tiny BPTT gradients; on an Intel Xeon
 * core with AVX-512 PyTorch trained sequential MNIST eager at 14 steps/s without it and 135 with
 * it, the subnormal slow path) one after the other on each task, so that each round's ratios are taken under the
 * same machine load; the figures are the medians over rounds of steps/s and of the per-round
 * ratios, by wall time and by the measuring process's CPU time (user + system; on a shared
 * machine the latter is less sensitive to the other load). Without a Python with torch (`DALESWEEP_PYTHON`, default `python3`) it prints
 * "skipped: no torch" and returns; when torch.compile fails (e.g. no C compiler) or the CPU
 * cannot flush subnormals, those columns are reported as skipped with the reason.
 *
 *   node dist/bench/torch.js [--quick]          (or `npm run bench -- --only torch`)
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { encodeNpy } from '../io/npy.js';
import { cloneParams, zerosLike } from '../rnn/init.js';
import { jsBackend } from '../rnn/model-js.js';
import { kernelArithmetic } from '../rnn/model-js-simd.js';
import { Adam } from '../rnn/optim.js';
import { applyRuleProjection, ruleContext } from '../rnn/rules.js';
import { PARAM_NAMES, type ModelConfig, type Params } from '../rnn/types.js';
import { formatTable, isQuick, median, printJsonLines, type Figure } from './figures.js';
import { TRAINED_EPOCHS, measure, startParams, taskSetup, type BenchStart, type ModelBenchTask } from './model.js';

export const name = 'torch';

/**
 * Largest relative differences accepted between the PyTorch and js steps: on the loss and the
 * updated weights (Frobenius norm of the difference over that of the js tensor), and, looser, on
 * the gradients (sums over the 10^4 samples of a batch with cancellation, whose float32 rounding
 * depends on the summation order: measured up to 9e-5 on W_out under torch.compile).
 */
export const TORCH_CHECK_TOLERANCE = { lossAndWeights: 1e-4, gradients: 1e-3 } as const;

/** Adam settings of both sides (dalesweep's and torch.optim.Adam's defaults). */
const ADAM = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8 } as const;

/** What {@link exportTorchCase} wrote. */
export interface TorchCaseExport {
  dir: string;
  cfg: ModelConfig;
  B: number;
  T: number;
  /** Loss of the js backend at the start weights (the initial ones, or the trained ones). */
  jsLoss: number;
}

function shapes(cfg: ModelConfig): Record<(typeof PARAM_NAMES)[number], number[]> {
  const N = cfg.nHidden;
  return { wIn: [N, cfg.nInput], bIn: [N], wHh: [N, N], bHh: [N], wOut: [cfg.nOutput, N], bOut: [cfg.nOutput] };
}

/**
 * Writes the bench case of `task` into `dir` in the layout bench/torch_rnn.py reads (see its
 * docstring): config.json, init/<param>.npy, batch/{x,target|labels}.npy, and the js backend's
 * gradients (js/grad) and weights after one step (js/step: lossAndGrad, Adam, rule projection).
 */
export async function exportTorchCase(task: ModelBenchTask, dir: string, start: BenchStart = 'init'): Promise<TorchCaseExport> {
  const { cfg, batch } = await taskSetup(task);
  const { B, T } = batch;
  const sh = shapes(cfg);
  for (const d of ['init', 'batch', 'js/grad', 'js/step']) mkdirSync(join(dir, d), { recursive: true });
  const saveParams = (sub: string, p: Params): void => {
    for (const k of PARAM_NAMES) writeFileSync(join(dir, sub, `${k}.npy`), encodeNpy({ data: p[k], shape: sh[k] }));
  };
  const params0 = startParams(task, cfg, start);
  saveParams('init', params0);
  writeFileSync(join(dir, 'batch', 'x.npy'), encodeNpy({ data: batch.x, shape: [B, T, cfg.nInput] }));
  if (cfg.head === 'softmax-last') writeFileSync(join(dir, 'batch', 'labels.npy'), encodeNpy({ data: batch.labels!, shape: [B] }));
  else writeFileSync(join(dir, 'batch', 'target.npy'), encodeNpy({ data: batch.target, shape: [B, T, cfg.nOutput] }));
  const p = cloneParams(params0);
  const g = zerosLike(p);
  const jsLoss = jsBackend.lossAndGrad(cfg, p, batch, g).loss;
  saveParams('js/grad', g);
  new Adam(p, ADAM).step(p, g);
  applyRuleProjection(cfg, p, ruleContext(cfg));
  saveParams('js/step', p);
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ task, ...cfg, B, T, ...ADAM, jsLoss }, null, 2));
  return { dir, cfg, B, T, jsLoss };
}

/** Thrown when the PyTorch server dies or answers out of protocol. */
export class TorchBenchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TorchBenchError';
  }
}

/** The Python interpreter to use: `DALESWEEP_PYTHON`, default `python3`. */
export function pythonCommand(): string {
  return process.env.DALESWEEP_PYTHON ?? 'python3';
}

/** True when `python -c 'import torch'` succeeds. */
export function torchAvailable(python = pythonCommand()): boolean {
  const r = spawnSync(python, ['-c', 'import torch'], { stdio: 'ignore', timeout: 120_000 });
  return r.status === 0;
}

type Reply = { ok: boolean; error?: string; [k: string]: unknown };

/** A running bench/torch_rnn.py server: one JSON command per line, one JSON reply per line. */
export class TorchServer {
  private readonly proc: ChildProcessWithoutNullStreams;
  private readonly waiting: ((r: Reply | Error) => void)[] = [];
  private stderrTail = '';
  private exited = false;

  constructor(python = pythonCommand()) {
    const script = fileURLToPath(new URL('../../bench/torch_rnn.py', import.meta.url));
    this.proc = spawn(python, [script], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1' } });
    this.proc.stderr.on('data', (d: Buffer) => {
      this.stderrTail = (this.stderrTail + d.toString()).slice(-4000);
    });
    createInterface({ input: this.proc.stdout }).on('line', (line) => {
      const w = this.waiting.shift();
      if (w === undefined) return;
      try {
        w(JSON.parse(line) as Reply);
      } catch {
        w(new TorchBenchError(`torch server printed a non-JSON line: ${line.slice(0, 200)}`));
      }
    });
    this.proc.on('exit', (code) => {
      this.exited = true;
      for (const w of this.waiting.splice(0)) w(new TorchBenchError(`torch server exited (code ${code}): ${this.stderrTail.slice(-1000)}`));
    });
  }

  /** Sends one command and waits for its reply (replies with ok: false are returned, not thrown). */
  request(cmd: Record<string, unknown>): Promise<Reply> {
    if (this.exited) return Promise.reject(new TorchBenchError(`torch server has exited: ${this.stderrTail.slice(-1000)}`));
    return new Promise((resolve, reject) => {
      this.waiting.push((r) => (r instanceof Error ? reject(r) : resolve(r)));
      this.proc.stdin.write(JSON.stringify(cmd) + '\n');
    });
  }

  /** Like {@link request}, but a reply with ok: false throws. */
  async must(cmd: Record<string, unknown>): Promise<Reply> {
    const r = await this.request(cmd);
    if (!r.ok) throw new TorchBenchError(`torch server: ${String(cmd.cmd)} failed: ${r.error ?? '?'}`);
    return r;
  }

  async close(): Promise<void> {
    if (this.exited) return;
    const done = new Promise<void>((res) => this.proc.once('exit', () => res()));
    this.proc.stdin.write(JSON.stringify({ cmd: 'quit' }) + '\n');
    this.proc.stdin.end();
    await done;
  }
}

/**
 * The cases of the side-by-side: each task from its initial weights, and the flip-flop Dale model
 * from its weights after {@link TRAINED_EPOCHS} epochs (the state most of a run's steps start
 * from: a third of its units active, the rest skipped by the js backend; PyTorch computes them
 * all). Both sides start each timing from the case's weights with a fresh Adam.
 */
export const TORCH_CASES = [
  { key: 'flipflop', task: 'flipflop', start: 'init' },
  { key: 'flipflop-trained', task: 'flipflop', start: 'trained' },
  { key: 'smnist', task: 'smnist', start: 'init' },
] as const satisfies readonly { key: string; task: ModelBenchTask; start: BenchStart }[];

/** A case of {@link TORCH_CASES}, by its key. */
export type TorchCaseKey = (typeof TORCH_CASES)[number]['key'];

/** Torch modes checked against js (timed also with subnormals flushed: see {@link TORCH_COLUMNS}). */
export type TorchMode = 'eager' | 'compile';

/** The one-step agreement check of a (task, mode). */
export interface TorchCheck {
  task: TorchCaseKey;
  mode: TorchMode;
  lossRelDiff: number;
  gradRelDiff: Record<string, number>;
  paramRelDiff: Record<string, number>;
  /** Largest relative difference of the loss and the updated weights. */
  maxRelDiff: number;
  /** Largest relative difference of the gradients. */
  maxGradRelDiff: number;
  agrees: boolean;
  /** Wall time of the checked step (includes compilation for `compile`), s. */
  seconds: number;
}

/** steps/s of each column in one round of one task (an undefined torch column: skipped). */
export interface TorchRound {
  task: TorchCaseKey;
  js: number;
  eager: number;
  /** The eager loop with `torch.set_flush_denormal(True)` (undefined: not measured). */
  eagerFtz?: number;
  compile?: number;
  /** torch.compile with `torch.set_flush_denormal(True)`. */
  compileFtz?: number;
}

/** The torch columns: round field, mode sent to torch_rnn.py, figure backend, js-ratio target, table header. */
export const TORCH_COLUMNS = [
  { key: 'eager', mode: 'eager', backend: 'torch-eager', target: 1.0, header: 'eager' },
  { key: 'eagerFtz', mode: 'eager-ftz', backend: 'torch-eager-ftz', target: 1.0, header: 'eager FTZ' },
  { key: 'compile', mode: 'compile', backend: 'torch-compile', target: 0.8, header: 'compile' },
  { key: 'compileFtz', mode: 'compile-ftz', backend: 'torch-compile-ftz', target: 0.8, header: 'compile FTZ' },
] as const;

/** A torch column's field in {@link TorchRound}. */
export type TorchColumnKey = (typeof TORCH_COLUMNS)[number]['key'];
/** Why columns were skipped, per task and column. */
export type TorchSkipped = Partial<Record<TorchCaseKey, Partial<Record<TorchColumnKey, string>>>>;

/** Which clock a figure divides by: wall time, or the measuring process's CPU time (user + system). */
export type TorchClock = 'wall' | 'cpu';

const r3 = (v: number): number => Math.round(v * 1000) / 1000;

/** Header of the {@link summarize} table rows. */
export const TORCH_TABLE_HEADER = ['task', 'clock', 'js steps/s', ...TORCH_COLUMNS.map((c) => c.header), ...TORCH_COLUMNS.map((c) => `js / ${c.header}`), 'rounds'];

/**
 * Medians over rounds of steps/s and of the per-round ratios js / torch, as figures (labelled with
 * `clock`) and table rows ({@link TORCH_TABLE_HEADER}). A torch column measured in no round is
 * reported as skipped with the reason from `skipped` (per task and column key).
 */
export function summarize(rounds: TorchRound[], skipped: TorchSkipped = {}, clock: TorchClock = 'wall'): { figures: Figure[]; rows: string[][] } {
  const figures: Figure[] = [];
  const rows: string[][] = [];
  const unit = clock === 'wall' ? 'steps/s' : 'steps/cpu-s';
  for (const { key: task } of TORCH_CASES) {
    const rs = rounds.filter((r) => r.task === task);
    if (rs.length === 0) continue;
    const med = (f: (r: TorchRound) => number | undefined): number | undefined => {
      const v = rs.map(f).filter((x): x is number => x !== undefined);
      return v.length === 0 ? undefined : median(v);
    };
    const js = med((r) => r.js)!;
    const labels = { task, clock, rounds: rs.length };
    figures.push({ bench: name, figure: 'steps_per_s', value: r3(js), unit, backend: 'js', arithmetic: kernelArithmetic(), ...labels });
    const speeds: string[] = [];
    const ratios: string[] = [];
    for (const c of TORCH_COLUMNS) {
      const v = med((r) => r[c.key]);
      const ratio = med((r) => (r[c.key] === undefined ? undefined : r.js / r[c.key]!));
      if (v === undefined) {
        figures.push({ bench: name, figure: 'steps_per_s', value: 'skipped', backend: c.backend, reason: skipped[task]?.[c.key] ?? 'not measured', ...labels });
      } else {
        figures.push({ bench: name, figure: 'steps_per_s', value: r3(v), unit, backend: c.backend, ...labels });
        figures.push({ bench: name, figure: 'js_ratio', value: r3(ratio!), unit: 'x', versus: c.backend, target: c.target, targetMet: ratio! >= c.target, ...labels });
      }
      speeds.push(v === undefined ? 'skipped' : v.toFixed(2));
      ratios.push(ratio === undefined ? '-' : ratio.toFixed(2) + 'x');
    }
    rows.push([task, clock, js.toFixed(2), ...speeds, ...ratios, String(rs.length)]);
  }
  return { figures, rows };
}

/** Options of {@link run}. */
export interface TorchBenchOptions {
  /** Interleaved rounds. @default 5 (quick: 2) */
  rounds?: number;
  /** Python interpreter. @default {@link pythonCommand} */
  python?: string;
  /** Print through this function. @default console.log */
  log?: (line: string) => void;
}

/** Runs the side-by-side benchmark and prints its table and figures (or "skipped: no torch"). */
export async function run(opts: TorchBenchOptions = {}): Promise<void> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const python = opts.python ?? pythonCommand();
  if (!torchAvailable(python)) {
    log(`skipped: no torch (${python} -c 'import torch' failed; set DALESWEEP_PYTHON to a Python with torch)`);
    return;
  }
  const quick = isQuick();
  const rounds = opts.rounds ?? (quick ? 2 : 5);
  const timing = quick ? { warmup: 1, minSteps: 3, minSeconds: 0.5, maxSteps: 50 } : { warmup: 2, minSteps: 5, minSeconds: 3, maxSteps: 500 };
  const dir = mkdtempSync(join(tmpdir(), 'dalesweep-torch-bench-'));
  const server = new TorchServer(python);
  try {
    const tasks = TORCH_CASES.map((c) => c.key);
    let info: Reply | undefined;
    for (const c of TORCH_CASES) info = await server.must({ cmd: 'load', task: c.key, dir: (await exportTorchCase(c.task, join(dir, c.key), c.start)).dir });
    log(`torch: one step = loss and gradients + Adam + Dale's projection; PyTorch ${String(info?.torch)}, ${String(info?.threads)} thread; js 1 thread (${kernelArithmetic()} kernels); ${rounds} interleaved rounds${quick ? ' (quick)' : ''}`);
    log(`  machine: ${cpus().length} x ${cpus()[0]?.model ?? 'unknown CPU'}, node ${process.version}, load average ${loadavg().map((v) => v.toFixed(2)).join(' ')}`);
    const checks: TorchCheck[] = [];
    // Columns skipped per task, with the reason (a failed torch.compile, a CPU that cannot flush).
    const skipped: TorchSkipped = {};
    const skip = (task: TorchCaseKey, key: TorchColumnKey, why: string): void => {
      (skipped[task] ??= {})[key] = why;
      log(`  ${task} ${key}: skipped (${why})`);
    };
    for (const task of tasks) {
      for (const mode of ['eager', 'compile'] as const) {
        const r = await server.request({ cmd: 'check', task, mode });
        if (!r.ok) {
          if (mode === 'compile') {
            const why = `torch.compile failed: ${r.error ?? '?'}`;
            skip(task, 'compile', why);
            skip(task, 'compileFtz', why);
            continue;
          }
          throw new TorchBenchError(`torch eager check of ${task} failed: ${r.error ?? '?'}`);
        }
        const c = toCheck(task, mode, r);
        checks.push(c);
        const tol = TORCH_CHECK_TOLERANCE;
        log(
          `  check ${task} ${mode}: rel diff loss ${c.lossRelDiff.toExponential(1)}, weights after the step <= ${c.maxRelDiff.toExponential(1)} (tolerance ${tol.lossAndWeights}), ` +
            `gradients <= ${c.maxGradRelDiff.toExponential(1)} (tolerance ${tol.gradients}): ${c.agrees ? 'agrees' : 'DISAGREES'}; step ${c.seconds.toFixed(1)} s`,
        );
        if (!c.agrees) throw new TorchBenchError(`PyTorch ${mode} and js disagree on one ${task} step: ${JSON.stringify(c)}`);
      }
    }
    const results: Record<TorchClock, TorchRound[]> = { wall: [], cpu: [] };
    for (let round = 0; round < rounds; round++) {
      for (const { key: task, task: model, start } of TORCH_CASES) {
        const js = await measure({ backend: 'js', task: model, start, ...timing });
        const wall: TorchRound = { task, js: js.stepsPerSec, eager: NaN };
        const cpu: TorchRound = { task, js: js.stepsPerCpuSec, eager: NaN };
        for (const c of TORCH_COLUMNS) {
          if (skipped[task]?.[c.key] !== undefined) continue;
          const r = await server.request({ cmd: 'time', task, mode: c.mode, ...timing });
          if (!r.ok) {
            if (c.key === 'eager') throw new TorchBenchError(`torch eager timing of ${task} failed: ${r.error ?? '?'}`);
            skip(task, c.key, r.error ?? '?');
            continue;
          }
          wall[c.key] = r.stepsPerSec as number;
          cpu[c.key] = r.stepsPerCpuSec as number;
        }
        results.wall.push(wall);
        results.cpu.push(cpu);
        const f2 = (r: TorchRound): string => TORCH_COLUMNS.map((c) => `${c.header} ${r[c.key]?.toFixed(2) ?? '-'}`).join(', ');
        log(`  round ${round + 1} ${task}: js ${wall.js.toFixed(2)}, ${f2(wall)} steps/s (per CPU-s: js ${cpu.js.toFixed(2)}, ${f2(cpu)})`);
      }
    }
    const wall = summarize(results.wall, skipped, 'wall');
    const cpu = summarize(results.cpu, skipped, 'cpu');
    const figures = [...wall.figures, ...cpu.figures];
    log(formatTable(TORCH_TABLE_HEADER, [...wall.rows, ...cpu.rows]));
    log('  (FTZ: torch.set_flush_denormal(True); without it, subnormal BPTT gradients can slow PyTorch on some CPUs, while the js kernels flush them)');
    log(`  (medians over rounds; ratios are medians of the per-round ratios; clock cpu: steps per second of the measuring process's CPU time, less sensitive to other load; load average now ${loadavg().map((v) => v.toFixed(2)).join(' ')})`);
    for (const c of checks) {
      const labels = { task: c.task, versus: `torch-${c.mode}` };
      figures.push({ bench: name, figure: 'check_rel_diff_loss_weights', value: c.maxRelDiff, ...labels, tolerance: TORCH_CHECK_TOLERANCE.lossAndWeights });
      figures.push({ bench: name, figure: 'check_rel_diff_gradients', value: c.maxGradRelDiff, ...labels, tolerance: TORCH_CHECK_TOLERANCE.gradients });
    }
    if (opts.log === undefined) printJsonLines(figures);
    else for (const f of figures) log(JSON.stringify(f));
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function toCheck(task: TorchCaseKey, mode: TorchMode, r: Reply): TorchCheck {
  const lossRelDiff = r.lossRelDiff as number;
  const gradRelDiff = r.gradRelDiff as Record<string, number>;
  const paramRelDiff = r.paramRelDiff as Record<string, number>;
  const maxRelDiff = Math.max(lossRelDiff, ...Object.values(paramRelDiff));
  const maxGradRelDiff = Math.max(...Object.values(gradRelDiff));
  const agrees = maxRelDiff <= TORCH_CHECK_TOLERANCE.lossAndWeights && maxGradRelDiff <= TORCH_CHECK_TOLERANCE.gradients;
  return { task, mode, lossRelDiff, gradRelDiff, paramRelDiff, maxRelDiff, maxGradRelDiff, agrees, seconds: r.seconds as number };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await run();
