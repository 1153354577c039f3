/**
 * Plain-data contracts between the sweep glue (which reads results from the artifact store) and
 * the analysis / report code. Everything in {@link Summary} is JSON-serialisable: numbers that
 * cannot be computed are `null`, never NaN or Infinity.
 */

/** A sweep parameter value as it appears in results.json. */
export type ParamValue = string | number | boolean | null;

/** One row of results.json / results.csv: one evaluation. */
export interface ResultRow {
  /** task, rule, seed, pruning ('random' | 'top-prob' | null), sparsity (number | null),
   *  phase ('dense' | 'pruned' | 'finetuned'), fidelity, backend, nHidden, ... */
  params: Record<string, ParamValue>;
  /** Evaluate stage id. */
  stageId: string;
  /** Chain root-first (train, [prune, finetune], evaluate). */
  stageIds: string[];
  status: 'succeeded' | 'failed' | 'pending';
  reason?: string;
  /** testLoss, testAccuracy (smnist only, in [0, 1]), sparsity (achieved), mstOverlap
   *  (pruned/finetuned only), mstRandomTheory, mstLowerBoundFormula and mstLowerBoundRenormalised
   *  (top-prob), kept, ... */
  metrics: Record<string, number | null>;
}

/** Effective trained recurrent weights of one model. */
export interface LoadedWeights {
  /** W_hh, `[N, N]` row-major, `[post, pre]` (columns are presynaptic). */
  w: Float32Array;
  /** N, the number of hidden units. */
  n: number;
  /** Number of excitatory (first) columns. */
  nExc: number;
}

import type { Scorecard } from './scorecard.js';

/** One epoch of a learning curve. */
export interface CurvePoint {
  epoch: number;
  trainLoss: number;
  testLoss: number;
  /** Fraction in [0, 1] (smnist only). */
  testAccuracy?: number;
}

/** What {@link aggregate} reads. */
export interface AggregateInput {
  sweep: SweepInfo;
  rows: ResultRow[];
  /** Effective trained W_hh ([N,N] row-major, [post,pre]) of the model a row evaluated; null if unavailable. */
  loadWeights(row: ResultRow): Promise<LoadedWeights | null>;
  /** Per-epoch learning curve (dense training, or fine-tuning for finetuned rows). */
  loadCurve(row: ResultRow, which: 'dense' | 'finetune'): Promise<CurvePoint[] | null>;
}

/** Identity of a sweep, shown in the report header. */
export interface SweepInfo {
  name: string;
  sweepId: string;
  /** The sweep spec (YAML) verbatim. */
  specText: string;
  codeVersion: string;
  /** 'paper-code' | 'corrected'. */
  fidelity: string;
  /** ISO 8601. */
  createdAt: string;
}

/** Descriptive statistics of one metric over runs (seeds). */
export interface Describe {
  n: number;
  mean: number | null;
  /** Sample SD (n - 1 denominator); null for n < 2. */
  sd: number | null;
  /** sd / sqrt(n); null for n < 2. */
  sem: number | null;
  /** t-based 95% CI: mean ± t_{0.975, n-1} · sem; null for n < 2. */
  ci95: [number, number] | null;
}

/** One group of rows sharing every `groupBy` parameter. */
export interface GroupSummary {
  key: Record<string, ParamValue>;
  label: string;
  /** Rows in the group by status. */
  counts: { succeeded: number; failed: number; pending: number };
  /** Seeds of the succeeded rows. */
  seeds: ParamValue[];
  metrics: Record<string, Describe>;
}

export type TestName = 'mann-whitney-u' | 'welch-t' | 'paired-t' | 'wilcoxon-signed-rank';
export type TestMethod = 'asymptotic-continuity' | 'exact' | 'welch-satterthwaite' | 'paired';
export type Correction = 'none' | 'holm' | 'bh';

/** A p-value with everything needed to read it. */
export interface PValue {
  test: TestName;
  /** 'exact' for Mann-Whitney is the permutation distribution of U over the observed (mid)ranks:
   *  with no ties it is the classical exact distribution (= scipy method='exact'); with ties it is
   *  the exact conditional permutation p (scipy's 'exact' ignores ties instead). */
  method: TestMethod;
  alternative: 'two-sided';
  correction: Correction;
  /** Family of comparisons the correction runs over (also set when correction is 'none'). */
  family: string;
  p: number | null;
  /** U of the first sample (scipy's statistic) or Welch's t. */
  statistic: number | null;
  /** Welch–Satterthwaite degrees of freedom (Welch only). */
  df?: number | null;
}

/** One two-sample comparison between two levels of an axis, with the other parameters fixed. */
export interface Comparison {
  family: string;
  axis: string;
  a: ParamValue;
  b: ParamValue;
  /** Every other parameter (seed excluded) shared by both samples. */
  context: Record<string, ParamValue>;
  metric: string;
  nA: number;
  nB: number;
  /** Seeds present at both levels: the pairs of the paired tests (`paired-t`, `wilcoxon-signed-rank`,
   *  p null when fewer than 2). Pairing by seed pairs runs that share everything but the axis (e.g.
   *  random and top-prob pruning of the same dense model). */
  nPairs: number;
  meanA: number | null;
  meanB: number | null;
  /** Cohen's d (pooled SD), Hedges' g (d · (1 − 3/(4(nA+nB−2)−1))), rank-biserial r = 2U_A/(nA nB) − 1
   *  (positive when A tends to be larger). */
  effect: { cohensD: number | null; hedgesG: number | null; rankBiserial: number | null };
  pValues: PValue[];
}

/** The authors' summary: the minimum p over the levels of a family (e.g. over sparsity). */
export interface MinPSummary {
  family: string;
  metric: string;
  test: TestName;
  method: TestMethod;
  correction: Correction;
  p: number | null;
  /** Context of the comparison that attains the minimum. */
  at: Record<string, ParamValue> | null;
  nLevels: number;
}

/** mean ± SEM per x over runs. */
export interface Band {
  mean: (number | null)[];
  sem: (number | null)[];
  n: number[];
}

/** Learning curve of one group (Fig. 2C, 3D). */
export interface CurveSummary {
  which: 'dense' | 'finetune';
  key: Record<string, ParamValue>;
  label: string;
  epochs: number[];
  trainLoss: Band;
  testLoss: Band;
  testAccuracy: Band | null;
}

/** MST overlap vs sparsity for one pruning method and context (Fig. 3B). */
export interface MstSummary {
  key: Record<string, ParamValue>;
  label: string;
  method: ParamValue;
  sparsity: number[];
  overlap: Band;
  /**
   * Random-pruning expectation of the overlap (App. 10.2) per sparsity: the mean of the runs'
   * `mstRandomTheory`, min(1, (1 − s) N² / (N² − z0)) for a dense matrix with z0 exact zeros
   * (`corrected`) or the authors' int((1 − s) N²) / N² (`paper-code`); see rnn/mst.ts
   * `randomOverlapTheory`.
   */
  theoryRandom: number[];
  /**
   * Top-prob lower bound (App. 10.1) with the printed probabilities κ|w_(k)| (SCIENCE.md §4; above
   * 1 where κ|w| > 1, and then no bound): mean of the rows' `mstLowerBoundFormula`; null where absent.
   */
  lowerBoundFormula: (number | null)[] | null;
  /**
   * Top-prob lower bound (App. 10.1) with the pruner's renormalised probabilities min(1, p_(k))
   * (Alg. 3; `paper-code`: the authors' notebook): mean of the rows' `mstLowerBoundRenormalised`;
   * null where absent.
   */
  lowerBoundRenormalised: (number | null)[] | null;
}

/** Error after pruning vs sparsity, random vs top-prob, with stars (Fig. 3C). */
export interface PruningErrorSummary {
  key: Record<string, ParamValue>;
  label: string;
  metric: string;
  phase: ParamValue;
  sparsity: number[];
  series: { method: ParamValue; band: Band }[];
  /** Raw two-sided Mann-Whitney asymptotic+continuity p per sparsity (the authors' test); null where not computable. */
  p: (number | null)[];
  stars: string[];
  starsFrom: string;
}

export type KlMode = 'paper-code' | 'corrected';

/** KL(reference ‖ rule) of trained W_hh distributions, averaged over all run pairs (Fig. 2B). */
export interface KlSummary {
  key: Record<string, ParamValue>;
  label: string;
  rule: ParamValue;
  reference: ParamValue;
  mode: KlMode;
  bins: number;
  epsilon: number;
  direction: string;
  /** Runs of the reference rule and of this rule; every pair of them is one KL value. */
  nReference: number;
  nRule: number;
  /** nReference · nRule. */
  nPairs: number;
  /** Mean KL over the pairs (nats). */
  mean: number | null;
  /** SD of the pair values (n − 1): their spread, not an uncertainty of the mean (pairs share runs). */
  pairSd: number | null;
  /** SE of the mean under a bootstrap over runs, both rules resampled (analysis/kl.ts `pairMeanBootstrapSe`); null with one run a side. */
  bootstrapSe: number | null;
}

/** Density histograms on shared edges (Fig. 2B, 3A). */
export interface HistogramSummary {
  kind: 'dense' | 'pruned-nonzero';
  key: Record<string, ParamValue>;
  label: string;
  /** bins + 1 edges. */
  edges: number[];
  series: { label: string; density: number[]; n: number }[];
}

/** A labelled matrix in JSON form: rows postsynaptic, columns presynaptic (nesting order). */
export interface HeatmapGrid {
  resolution: 'population' | 'layer';
  /** Row labels (postsynaptic), e.g. `V1 L2/3 Pyr` (population) or `V1 L2/3` (layer). */
  rows: string[];
  /** Column labels (presynaptic). */
  cols: string[];
  /** values[row][col]; null where undefined. */
  values: (number | null)[][];
}

/** The cells of a heatmap an inter-area band falls in: rows [r0, r1) × columns [c0, c1). */
export interface BandCells {
  name: string;
  kind: 'feedforward' | 'feedback';
  rows: [number, number];
  cols: [number, number];
}

/** Per-cell p-values of a heatmap, with everything needed to read them. */
export interface CellPValues {
  test: TestName;
  method: TestMethod;
  alternative: 'two-sided';
  correction: Correction;
  /** Family the correction runs over (the non-null cells of this heatmap). */
  family: string;
  /** values[row][col]; null where the test is undefined (e.g. zero variance in both conditions). */
  values: (number | null)[][];
}

/** One inter-area band's mean weight in one condition, over seeds. */
export interface CelltypeBandValue {
  name: string;
  kind: 'feedforward' | 'feedback';
  n: number;
  mean: number | null;
  sd: number | null;
  /** Per-seed values, in the order of {@link CelltypeConditionSummary.seeds}. */
  values: number[];
}

/** Block means of one condition (one phase and context), averaged over seeds. */
export interface CelltypeConditionSummary {
  /** Every parameter but seed that the rows share (condition and phase included). */
  key: Record<string, ParamValue>;
  label: string;
  condition: string;
  phase: ParamValue;
  seeds: ParamValue[];
  /** 18 × 18 population blocks, mean over seeds. */
  population: HeatmapGrid;
  /** 6 × 6 area × layer blocks, mean over seeds. */
  layer: HeatmapGrid;
  /** Feedforward and feedback bands. */
  bands: CelltypeBandValue[];
}

/** One resolution of a condition difference. */
export interface CelltypeResolutionDifference {
  /** Mean over the seeds of the first condition. */
  first: HeatmapGrid;
  /** Mean over the seeds of the second condition. */
  second: HeatmapGrid;
  /** second − first. */
  difference: HeatmapGrid;
  /** Per-cell Welch t-tests (second vs first, per-seed block means), correction none and BH;
   *  empty when a condition has fewer than 2 seeds. */
  p: CellPValues[];
  /** Stars of the BH-corrected p per cell ('*' p < 0.05, '**' < 0.01, '***' < 0.001, '' otherwise); null without tests. */
  stars: string[][] | null;
}

/** One band of a condition difference. */
export interface CelltypeBandDifference {
  name: string;
  kind: 'feedforward' | 'feedback';
  first: number | null;
  second: number | null;
  /** second − first. */
  difference: number | null;
  /** Welch t and Mann-Whitney U (asymptotic, continuity), each uncorrected and BH over the three bands. */
  pValues: PValue[];
}

/** The difference between two conditions (second minus first) in one phase and context (Fig. 5). */
export interface CelltypeDifference {
  /** Context shared by both conditions (condition excluded; phase included). */
  key: Record<string, ParamValue>;
  label: string;
  phase: ParamValue;
  first: string;
  second: string;
  nFirst: number;
  nSecond: number;
  population: CelltypeResolutionDifference;
  layer: CelltypeResolutionDifference;
  bands: CelltypeBandDifference[];
}

/** Connectivity analysis of a cell-type sweep (SCIENCE.md §6, paper Fig. 5). */
export interface CelltypeSummary {
  /** What a block value is. */
  measure: string;
  /** Whether |w| (true, the authors' compare_all) or w is averaged. */
  absolute: boolean;
  /** Where the stars come from. */
  starsFrom: string;
  /** Cells of each band in the population and layer heatmaps. */
  bandCells: { population: BandCells[]; layer: BandCells[] };
  /** The condition pairs looked for, [first, second] (difference = second − first). */
  pairs: [string, string][];
  conditions: CelltypeConditionSummary[];
  differences: CelltypeDifference[];
}

/** Output of {@link aggregate}; written to summary.json. */
export interface Summary {
  schemaVersion: 1;
  sweep: SweepInfo;
  groupBy: string[];
  statusCounts: { succeeded: number; failed: number; pending: number; total: number };
  failures: { stageId: string; params: Record<string, ParamValue>; status: 'failed' | 'pending'; reason: string | null }[];
  /** Levels of every parameter seen. */
  axes: Record<string, ParamValue[]>;
  groups: GroupSummary[];
  curves: CurveSummary[];
  comparisons: Comparison[];
  minP: MinPSummary[];
  pruningErrors: PruningErrorSummary[];
  mst: MstSummary[];
  kl: KlSummary[];
  histograms: HistogramSummary[];
  /** Cell-type connectivity (sweeps with task celltype only). */
  celltype?: CelltypeSummary;
  /** The paper comparison: our numbers beside the authors', the paper's claims with verdicts (analysis/scorecard.ts). */
  paperComparison?: Scorecard;
  /** Non-fatal problems met while aggregating (e.g. weights that could not be loaded). */
  notes: string[];
}
