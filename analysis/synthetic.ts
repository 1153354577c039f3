/**
 * A synthetic {@link AggregateInput} with planted effects, for tests and report demos:
 * tasks × {conventional, dale, rectified} dense runs, and dale runs pruned by random / top-prob at
 * several sparsities (phases 'pruned' and 'finetuned'), 5 seeds each, with small N.
 *
 * Planted effects (all runs separated, so the asymptotic Mann-Whitney p is 0.0122 for 5 vs 5):
 * - dense testLoss: dale (≈0.0025) < conventional (≈0.011) < rectified (≈0.7);
 * - pruned testLoss: random ≈ 0.05 + s > top-prob ≈ 0.02, except at the lowest sparsity, where both
 *   draw from the same distribution (no effect);
 * - mstOverlap: random ≈ its theory, top-prob ≈ 1 − 0.3 s (with `mstLowerBoundRenormalised` = 1 − 0.5 s and
 *   `mstLowerBoundFormula` = 1.1 (1 − 0.5 s) on top-prob rows);
 *   `mstRandomTheory` on every pruned row is the random pruner's expectation
 *   min(1, (1 − s) n² / (n² − z0)) for a dense model with z0 = round((0.03 + 0.01 seed) n²) exact zeros.
 */
import { pruneCelltype } from '../celltype/connectivity.js';
import { celltypeLayout, population } from '../celltype/populations.js';
import { Rng } from '../rnn/rng.js';
import type { AggregateInput, CurvePoint, LoadedWeights, ParamValue, ResultRow } from './types.js';
import { excitatoryCount } from '../rnn/init.js';

/** Options of {@link syntheticInput}. */
export interface SyntheticOptions {
  /** @default ['flipflop', 'smnist'] (smnist rows carry testAccuracy) */
  tasks?: string[];
  /** @default [0.2, 0.381, 0.6] */
  sparsities?: number[];
  /** @default 5 */
  seeds?: number;
  /** Hidden units. @default 16 */
  n?: number;
  /** Sweep name (to test escaping). @default 'synthetic' */
  name?: string;
  /** Add one failed and one pending row. @default true */
  withFailures?: boolean;
}

/** Builds the synthetic sweep (deterministic). */
export function syntheticInput(opts: SyntheticOptions = {}): AggregateInput {
  const tasks = opts.tasks ?? ['flipflop', 'smnist'];
  const sparsities = opts.sparsities ?? [0.2, 0.381, 0.6];
  const seeds = opts.seeds ?? 5;
  const n = opts.n ?? 16;
  const nExc = excitatoryCount(n);
  const rows: ResultRow[] = [];
  const base = { fidelity: 'corrected', backend: 'js', nHidden: n };
  let id = 0;
  const add = (params: Record<string, ParamValue>, metrics: Record<string, number | null>, status: ResultRow['status'] = 'succeeded', reason?: string): void => {
    const stageId = `eval-${id++}`;
    const row: ResultRow = { params: { ...base, ...params }, stageId, stageIds: [`train-${stageId}`, stageId], status, metrics };
    if (reason !== undefined) row.reason = reason;
    rows.push(row);
  };
  const denseLoss: Record<string, number> = { conventional: 0.011, dale: 0.0025, rectified: 0.7 };
  for (const task of tasks) {
    for (const rule of ['conventional', 'dale', 'rectified']) {
      for (let seed = 0; seed < seeds; seed++) {
        const rng = new Rng(seed, `synthetic:dense:${task}:${rule}`);
        const testLoss = denseLoss[rule] * (1 + 0.2 * (rng.uniform() - 0.5));
        const metrics: Record<string, number | null> = { testLoss };
        if (task === 'smnist') metrics.testAccuracy = rule === 'conventional' ? 0.968 + 0.005 * rng.uniform() : rule === 'dale' ? 0.95 + 0.005 * rng.uniform() : 0.78 + 0.05 * rng.uniform();
        add({ task, rule, seed, pruning: null, sparsity: null, phase: 'dense' }, metrics);
      }
    }
    for (const pruning of ['random', 'top-prob']) {
      for (const [si, s] of sparsities.entries()) {
        for (const phase of ['pruned', 'finetuned']) {
          for (let seed = 0; seed < seeds; seed++) {
            const rng = new Rng(seed, `synthetic:${task}:${pruning}:${s}:${phase}`);
            const noEffect = si === 0;
            const shared = new Rng(seed + 1000 * (pruning === 'random' ? 1 : 2), `synthetic:null:${task}:${s}:${phase}`);
            let testLoss = pruning === 'random' ? 0.05 + s + 0.01 * rng.uniform() : 0.02 + 0.01 * rng.uniform();
            if (noEffect) testLoss = 0.03 + 0.01 * shared.uniform();
            if (phase === 'finetuned') testLoss *= 0.5;
            const z0 = Math.round((0.03 + 0.01 * seed) * n * n);
            const mstRandomTheory = Math.min(1, ((1 - s) * n * n) / (n * n - z0));
            const mstOverlap = pruning === 'random' ? mstRandomTheory + 0.02 * (rng.uniform() - 0.5) : 1 - 0.3 * s + 0.02 * (rng.uniform() - 0.5);
            const metrics: Record<string, number | null> = { testLoss, sparsity: s, mstOverlap, mstRandomTheory, kept: Math.round((1 - s) * n * n) };
            if (pruning === 'top-prob') {
              metrics.mstLowerBoundRenormalised = 1 - 0.5 * s;
              metrics.mstLowerBoundFormula = 1.1 * (1 - 0.5 * s);
            }
            if (task === 'smnist') metrics.testAccuracy = pruning === 'random' ? 0.5 - 0.3 * s + 0.01 * rng.uniform() : 0.9 + 0.01 * rng.uniform();
            add({ task, rule: 'dale', seed, pruning, sparsity: s, phase }, metrics);
          }
        }
      }
    }
  }
  if (opts.withFailures ?? true) {
    add({ task: tasks[0], rule: 'dale', seed: seeds, pruning: 'random', sparsity: sparsities[0], phase: 'pruned' }, {}, 'failed', 'NaN loss at epoch 3 (<b>bold</b>)');
    add({ task: tasks[0], rule: 'dale', seed: seeds + 1, pruning: 'top-prob', sparsity: sparsities[0], phase: 'pruned' }, {}, 'pending');
  }

  const weights = (row: ResultRow): LoadedWeights => {
    const p = row.params;
    const rng = new Rng(Number(p.seed), `synthetic:w:${String(p.task)}`);
    const w = new Float32Array(n * n);
    const rule = String(p.rule);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        const g = rng.normal() * 0.25;
        // columns are presynaptic: E columns j < nExc
        w[i * n + j] = rule === 'conventional' ? g : rule === 'dale' ? (j < nExc ? Math.abs(g) : -Math.abs(g)) : j < nExc ? Math.abs(g) * 2 : -0.01 * Math.abs(g);
      }
    }
    const s = typeof p.sparsity === 'number' ? p.sparsity : 0;
    if (s > 0) {
      const prune = new Rng(Number(p.seed), `synthetic:prune:${String(p.task)}:${String(p.pruning)}:${s}`);
      const mags = Array.from(w, Math.abs).sort((a, b) => a - b);
      const threshold = mags[Math.floor(s * mags.length)];
      for (let k = 0; k < w.length; k++) {
        const drop = p.pruning === 'top-prob' ? Math.abs(w[k]) < threshold : prune.bernoulli(s);
        if (drop) w[k] = 0;
      }
    }
    return { w, n, nExc };
  };
  const curve = (row: ResultRow, which: 'dense' | 'finetune'): CurvePoint[] => {
    const p = row.params;
    const rng = new Rng(Number(p.seed), `synthetic:curve:${which}:${String(p.task)}:${String(p.rule)}:${String(p.pruning)}:${String(p.sparsity)}`);
    const epochs = which === 'dense' ? 10 : 5;
    const scale = which === 'dense' ? (denseLoss[String(p.rule)] ?? 0.01) : 0.02;
    return Array.from({ length: epochs }, (_, e) => {
      const pt: CurvePoint = { epoch: e, trainLoss: scale * (1 + 4 * Math.exp(-e / 2)) * (1 + 0.1 * rng.uniform()), testLoss: scale * (1 + 5 * Math.exp(-e / 2)) * (1 + 0.1 * rng.uniform()) };
      if (p.task === 'smnist') pt.testAccuracy = 0.9 - 0.5 * Math.exp(-e / 2) + 0.01 * rng.uniform();
      return pt;
    });
  };

  return {
    sweep: {
      name: opts.name ?? 'synthetic',
      sweepId: 'sw-synthetic-0001',
      specText: `name: ${opts.name ?? 'synthetic'}\naxes:\n  rule: [conventional, dale, rectified]\n  pruning: [random, top-prob]\n`,
      codeVersion: 'test-0000000',
      fidelity: 'corrected',
      createdAt: '2025-01-01T00:00:00.000Z',
    },
    rows,
    async loadWeights(row) {
      return row.status === 'succeeded' ? weights(row) : null;
    },
    async loadCurve(row, which) {
      if (row.status !== 'succeeded') return null;
      if (which === 'finetune' && row.params.phase !== 'finetuned') return null;
      return curve(row, which);
    },
  };
}

/** Options of {@link celltypeSyntheticInput}. */
export interface CelltypeSyntheticOptions {
  /** @default ['familiar_no_change_full', 'familiar_change_full', 'familiar_no_change_half', 'familiar_change_half'] */
  conditions?: string[];
  /** @default 4 */
  seeds?: number;
  /** Cell-type latent scaling (N = 90 · latentScaling). @default 1 */
  latentScaling?: number;
  /** Added to every kept entry of the feedforward band (V1 L2/3 Pyr → LM L4) in change conditions. @default 0.05 */
  feedforwardDelta?: number;
}

/**
 * A synthetic cell-type sweep ({@link AggregateInput}): task celltype, phases dense and finetuned,
 * `seeds` seeds per condition; each model's W_hh (internal order, Dale-signed, Table 1 pruned for
 * finetuned rows) is random with one planted effect: every kept entry of the feedforward band
 * V1 L2/3 Pyr → LM L4 is larger by `feedforwardDelta` in the change conditions, as the synthetic
 * data of celltype/data.ts couple those populations more strongly on change than on no change.
 */
export function celltypeSyntheticInput(opts: CelltypeSyntheticOptions = {}): AggregateInput {
  const conditions = opts.conditions ?? ['familiar_no_change_full', 'familiar_change_full', 'familiar_no_change_half', 'familiar_change_half'];
  const seeds = opts.seeds ?? 4;
  const L = celltypeLayout(opts.latentScaling ?? 1);
  const delta = opts.feedforwardDelta ?? 0.05;
  const rows: ResultRow[] = [];
  for (const condition of conditions) {
    for (const phase of ['dense', 'finetuned']) {
      for (let seed = 0; seed < seeds; seed++) {
        const stageId = `eval-${condition}-${phase}-${seed}`;
        rows.push({
          params: { task: 'celltype', rule: 'dale', fidelity: 'corrected', backend: 'js', nHidden: L.N, excFraction: L.nExc / L.N, latentScaling: L.latentScaling, condition, seed, pruning: phase === 'dense' ? null : 'celltype', phase },
          stageId,
          stageIds: [`train-${stageId}`, stageId],
          status: 'succeeded',
          metrics: { testLoss: 0.01 + 0.001 * seed },
        });
      }
    }
  }
  const ffPre = population(L, 'V1', 'L23', 'Pyr');
  const weights = (row: ResultRow): LoadedWeights => {
    const p = row.params;
    const seed = Number(p.seed);
    // Condition-specific noise, so that conditions differ a little everywhere.
    const rng = new Rng(seed, `synthetic:celltype:${String(p.condition)}`);
    let w: Float32Array = new Float32Array(L.N * L.N);
    for (let i = 0; i < L.N; i++) {
      for (let j = 0; j < L.N; j++) {
        const v = 0.001 + rng.uniform() / Math.sqrt(L.N);
        w[i * L.N + j] = j < L.nExc ? v : -v;
      }
    }
    if (p.phase !== 'dense') w = pruneCelltype(L, w, seed, seed, 'corrected').weights;
    if (String(p.condition).includes('_change_') && !String(p.condition).includes('no_change')) {
      for (const t of ['Pyr', 'Sst', 'Vip'] as const) {
        const post = population(L, 'LM', 'L4', t);
        for (let i = post.internalStart; i < post.internalEnd; i++) {
          for (let j = ffPre.internalStart; j < ffPre.internalEnd; j++) if (w[i * L.N + j] !== 0) w[i * L.N + j] += delta;
        }
      }
    }
    return { w, n: L.N, nExc: L.nExc };
  };
  return {
    sweep: {
      name: 'celltype-synthetic-summary',
      sweepId: 'sw-celltype-0001',
      specText: `name: celltype-synthetic-summary\naxes:\n  condition: [${conditions.join(', ')}]\n`,
      codeVersion: 'test-0000000',
      fidelity: 'corrected',
      createdAt: '2025-01-01T00:00:00.000Z',
    },
    rows,
    async loadWeights(row) {
      return row.status === 'succeeded' ? weights(row) : null;
    },
    async loadCurve() {
      return null;
    },
  };
}
