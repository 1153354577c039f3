/**
 * The sweep report: ONE self-contained HTML file (chart.js inlined, data inlined as JSON, no
 * external request of any kind, works from file://) with the paper's figures for whatever the
 * sweep contains, the comparison tables, the spec, code version, fidelity mode and status.
 *
 * Every user-supplied string is HTML-escaped; the chart data sits in a
 * `<script type="application/json">` block with `<` written as `\u003c`, so no string can close it.
 * A Content-Security-Policy meta tag forbids every network fetch as a second line of defence.
 *
 * Cell-type sweeps add Fig. 5: heatmaps of population and area × layer block means and of
 * condition differences. chart.js has no heatmap type, so each is a `scatter` chart (axes over
 * the cell indices, labels as ticks, invisible points for tooltips) plus an inline plugin of the
 * page script that paints the cells on a diverging scale centred at 0, outlines the inter-area
 * bands, writes the significance stars and draws a colour bar; being chart.js charts, they are
 * exported to PNG like every other chart.
 */
import { escapeHtml, fmt, table } from './html-parts.js';
import { paperComparisonHtml } from './paper-section.js';
import { chartJsSource } from './assets.js';
import type {
  Band,
  BandCells,
  CelltypeDifference,
  CelltypeSummary,
  Comparison,
  CurveSummary,
  HeatmapGrid,
  HistogramSummary,
  KlSummary,
  MstSummary,
  ParamValue,
  PruningErrorSummary,
  Summary,
} from '../analysis/types.js';

/** Options of {@link renderReport}. */
export interface RenderOptions {
  /** When set, the page reloads itself every this many seconds (live view of a running sweep). */
  refreshSeconds?: number;
  /** Canvas size of each chart in CSS pixels. @default 640 × 360 */
  chartWidth?: number;
  chartHeight?: number;
}

/** Invalid render options. */
export class ReportError extends Error {
  override name = 'ReportError';
}

/** A chart.js configuration made only of JSON values (functions are added by the page script). */
export interface ChartConfig {
  type: 'line' | 'bar' | 'scatter';
  data: { labels?: string[]; datasets: Record<string, unknown>[] };
  options: Record<string, unknown>;
}

/**
 * What the page script paints as a heatmap (chart.js has no heatmap type: the chart is a
 * `scatter` chart over linear axes [−0.5, k − 0.5] whose ticks are the labels, and an inline
 * plugin fills the cells, outlines the bands, writes the stars and draws the colour bar).
 */
export interface HeatmapDraw {
  /** Row labels (postsynaptic), top to bottom. */
  rows: string[];
  /** Column labels (presynaptic), left to right. */
  cols: string[];
  /** values[row][col]; null cells are grey. */
  values: (number | null)[][];
  /** Colour scale: diverging, −max (blue) … 0 (white) … +max (red). */
  max: number;
  /** Star text per cell ('' for none), or null. */
  stars: string[][] | null;
  /** Band outlines (solid: feedforward, dashed: feedback). */
  bands: BandCells[];
}

/** One chart of the report; `id` is the canvas id and the PNG file name stem. */
export interface ChartSpec {
  id: string;
  figure: string;
  title: string;
  config: ChartConfig;
  /** Present for heatmaps (see {@link HeatmapDraw}). */
  heatmap?: HeatmapDraw;
  /** Canvas size of this chart in CSS pixels when it differs from the report's default. */
  width?: number;
  height?: number;
}

type Key = Record<string, ParamValue>;


export { escapeHtml };

/** JSON for an inline `<script type="application/json">`: `<`, U+2028 and U+2029 escaped. */
export function jsonForScript(v: unknown): string {
  return JSON.stringify(v).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

const COLORS: Record<string, string> = {
  conventional: '#222222',
  dale: '#6495ed',
  rectified: '#fa8072',
  random: '#808080',
  'top-prob': '#2ca02c',
  'paper-code': '#c77c11',
  corrected: '#6a3d9a',
};
const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

function colorFor(name: string, i: number): string {
  return COLORS[name] ?? PALETTE[i % PALETTE.length];
}

function withAlpha(hex: string, alpha: number): string {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}


function keyWithout(k: Key, drop: string[]): Key {
  const o: Key = {};
  for (const n of Object.keys(k)) if (!drop.includes(n)) o[n] = k[n];
  return o;
}

function keyId(k: Key): string {
  return JSON.stringify(Object.keys(k).sort().map((n) => [n, k[n]]));
}

function groupByKey<T>(items: T[], key: (t: T) => Key): { key: Key; items: T[] }[] {
  const m = new Map<string, { key: Key; items: T[] }>();
  for (const t of items) {
    const k = key(t);
    const id = keyId(k);
    const g = m.get(id);
    if (g) g.items.push(t);
    else m.set(id, { key: k, items: [t] });
  }
  return [...m.values()];
}

interface Ctx {
  summary: Summary;
  charts: ChartSpec[];
  /** Human label of the parameters of `k` that vary in the sweep (others are constant). */
  describeKey(k: Key, exclude?: string[]): string;
}

function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 60) || 'chart';
}

function addChart(ctx: Ctx, figure: string, title: string, config: ChartConfig, extra: Pick<ChartSpec, 'heatmap' | 'width' | 'height'> = {}): ChartSpec {
  const id = `${slug(figure)}-${String(ctx.charts.length + 1).padStart(2, '0')}-${slug(title)}`;
  const spec: ChartSpec = { id, figure, title, config, ...extra };
  ctx.charts.push(spec);
  return spec;
}

function baseOptions(title: string, xTitle: string, yTitle: string, xLinear: boolean, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    animation: false,
    responsive: false,
    maintainAspectRatio: false,
    plugins: { title: { display: true, text: title }, legend: { display: true, labels: {} } },
    scales: {
      x: { type: xLinear ? 'linear' : 'category', offset: !xLinear, title: { display: true, text: xTitle } },
      y: { title: { display: true, text: yTitle }, ...extra },
    },
  };
}

/** Mean line plus a mean ± SEM band (two band datasets, hidden from the legend). */
function bandDatasets(label: string, color: string, xs: number[] | null, b: Band, dashed = false): Record<string, unknown>[] {
  const pts = (f: (i: number) => number | null): unknown[] =>
    b.mean.map((_, i) => (xs ? { x: xs[i], y: f(i) } : f(i)));
  const lo = (i: number): number | null => (b.mean[i] !== null && b.sem[i] !== null ? (b.mean[i] as number) - (b.sem[i] as number) : null);
  const hi = (i: number): number | null => (b.mean[i] !== null && b.sem[i] !== null ? (b.mean[i] as number) + (b.sem[i] as number) : null);
  const hasBand = b.sem.some((v) => v !== null);
  const out: Record<string, unknown>[] = [];
  if (hasBand) {
    out.push({ label: `${label} \u2212SEM`, band: true, data: pts(lo), borderWidth: 0, pointRadius: 0, borderColor: 'rgba(0,0,0,0)', backgroundColor: 'rgba(0,0,0,0)', fill: false });
    out.push({ label: `${label} +SEM`, band: true, data: pts(hi), borderWidth: 0, pointRadius: 0, borderColor: 'rgba(0,0,0,0)', backgroundColor: withAlpha(color, 0.2), fill: '-1' });
  }
  out.push({ label, data: pts((i) => b.mean[i]), borderColor: color, backgroundColor: color, borderWidth: 2, pointRadius: xs && xs.length > 30 ? 0 : 2, fill: false, borderDash: dashed ? [6, 4] : [] });
  return out;
}

function hasData(b: Band): boolean {
  return b.mean.some((v) => v !== null);
}

// ---------------------------------------------------------------- figures

function lossCurves(ctx: Ctx, which: 'dense' | 'finetune', figure: string, seriesAxis: string): string[] {
  const curves = ctx.summary.curves.filter((c) => c.which === which);
  const html: string[] = [];
  for (const g of groupByKey(curves, (c) => keyWithout(c.key, [seriesAxis]))) {
    const ctxText = ctx.describeKey(g.key, ['phase']);
    const metrics: [keyof Pick<CurveSummary, 'testLoss' | 'trainLoss' | 'testAccuracy'>, string][] = [
      ['testLoss', 'test loss'],
      ['trainLoss', 'train loss'],
      ['testAccuracy', 'test accuracy'],
    ];
    for (const [field, yTitle] of metrics) {
      const ds: Record<string, unknown>[] = [];
      g.items.forEach((c, i) => {
        const b = c[field];
        if (b && hasData(b)) ds.push(...bandDatasets(String(c.key[seriesAxis] ?? c.label), colorFor(String(c.key[seriesAxis]), i), c.epochs, b));
      });
      if (!ds.length) continue;
      const title = `${yTitle} (mean \u00b1 SEM)${ctxText ? ` \u00b7 ${ctxText}` : ''}`;
      html.push(canvasHtml(ctx, addChart(ctx, figure, title, { type: 'line', data: { datasets: ds }, options: baseOptions(title, which === 'dense' ? 'epoch' : 'fine-tuning epoch', yTitle, true) })));
    }
  }
  return html;
}

function histogramCharts(ctx: Ctx, kind: HistogramSummary['kind'], figure: string): string[] {
  const html: string[] = [];
  for (const h of ctx.summary.histograms.filter((x) => x.kind === kind)) {
    const centers = h.edges.slice(0, -1).map((e, i) => (e + h.edges[i + 1]) / 2);
    const ds = h.series.map((s, i) => ({
      label: `${s.label} (n = ${s.n})`,
      data: s.density.map((d, j) => ({ x: centers[j], y: d })),
      borderColor: colorFor(s.label, i),
      backgroundColor: withAlpha(colorFor(s.label, i), 0.15),
      fill: 'origin',
      stepped: 'middle',
      pointRadius: 0,
      borderWidth: 1.5,
    }));
    if (!ds.length) continue;
    const ctxText = ctx.describeKey(h.key, ['phase', 'sparsity']);
    const what = kind === 'dense' ? 'trained W_hh weights' : `non-zero W_hh weights after pruning at sparsity ${String(h.key.sparsity)}`;
    const title = `${what}${ctxText ? ` \u00b7 ${ctxText}` : ''}`;
    html.push(canvasHtml(ctx, addChart(ctx, figure, title, { type: 'line', data: { datasets: ds }, options: baseOptions(title, 'weight', 'density', true) })));
  }
  return html;
}

function klCharts(ctx: Ctx): string[] {
  const html: string[] = [];
  const fid = ctx.summary.sweep.fidelity;
  for (const g of groupByKey(ctx.summary.kl, (k) => k.key)) {
    const rules = [...new Set(g.items.map((k) => String(k.rule)))];
    const modes: KlSummary['mode'][] = ['paper-code', 'corrected'];
    const ds = modes.map((mode) => ({
      label: `${mode} binning${mode === fid ? ' (this sweep\u2019s fidelity)' : ''}`,
      data: rules.map((r) => g.items.find((k) => String(k.rule) === r && k.mode === mode)?.mean ?? null),
      backgroundColor: colorFor(mode, 0),
    }));
    const ctxText = ctx.describeKey(g.key, ['phase']);
    const title = `KL(conventional \u2016 rule) of W_hh weights, mean over run pairs${ctxText ? ` \u00b7 ${ctxText}` : ''}`;
    html.push(canvasHtml(ctx, addChart(ctx, 'Fig. 2B', title, { type: 'bar', data: { labels: rules, datasets: ds }, options: baseOptions(title, 'rule', 'KL divergence (nats)', false) })));
  }
  return html;
}

function mstCharts(ctx: Ctx): string[] {
  const html: string[] = [];
  for (const g of groupByKey(ctx.summary.mst, (m) => keyWithout(m.key, ['pruning']))) {
    const ds: Record<string, unknown>[] = [];
    g.items.forEach((m: MstSummary, i) => ds.push(...bandDatasets(`${String(m.method)} (empirical)`, colorFor(String(m.method), i), m.sparsity, m.overlap)));
    // The random pruner's expectation given the runs' dense matrices (exact zeros counted); the
    // random method's curve carries it, else any method's (the same dense models).
    const th = g.items.find((m) => m.method === 'random') ?? g.items[0];
    const fidelity = String(th.key.fidelity ?? ctx.summary.sweep.fidelity);
    const thLabel = fidelity === 'paper-code' ? 'random theory int((1 \u2212 s)N\u00b2)/N\u00b2 (authors)' : 'random theory min(1, (1 \u2212 s)N\u00b2/(N\u00b2 \u2212 z0)), z0 exact zeros';
    ds.push({ label: thLabel, data: th.sparsity.map((s, j) => ({ x: s, y: th.theoryRandom[j] })), borderColor: '#808080', borderDash: [6, 4], pointRadius: 0, borderWidth: 1.5, fill: false });
    for (const m of g.items) {
      const bounds: [(number | null)[] | null, string, string][] = [
        [m.lowerBoundFormula, 'printed \u03ba|w_(k)|', '#2ca02c'],
        [m.lowerBoundRenormalised, `renormalised min(1, p_(k)) (Alg. 3${String(m.key.fidelity ?? ctx.summary.sweep.fidelity) === 'paper-code' ? ', authors\u2019 notebook' : ''})`, '#9467bd'],
      ];
      for (const [values, what, color] of bounds) {
        if (values) ds.push({ label: `${String(m.method)} lower bound, ${what}`, data: m.sparsity.map((s, j) => ({ x: s, y: values[j] ?? null })), borderColor: color, borderDash: [2, 3], pointRadius: 0, borderWidth: 1.5, fill: false });
      }
    }
    const ctxText = ctx.describeKey(g.key);
    const title = `MST overlap vs sparsity (mean \u00b1 SEM)${ctxText ? ` \u00b7 ${ctxText}` : ''}`;
    html.push(canvasHtml(ctx, addChart(ctx, 'Fig. 3B', title, { type: 'line', data: { datasets: ds }, options: baseOptions(title, 'sparsity s', 'fraction of MST edges kept', true, { min: 0, max: 1 }) })));
  }
  return html;
}

function pruningErrorCharts(ctx: Ctx, phase: string, figure: string): string[] {
  const html: string[] = [];
  for (const pe of ctx.summary.pruningErrors.filter((p: PruningErrorSummary) => (p.phase ?? 'pruned') === phase)) {
    const labels = pe.sparsity.map((s, i) => `${s} ${pe.stars[i]}`);
    const ds: Record<string, unknown>[] = [];
    pe.series.forEach((s, i) => {
      if (hasData(s.band)) ds.push(...bandDatasets(String(s.method), colorFor(String(s.method), i), null, s.band));
    });
    if (!ds.length) continue;
    const ctxText = ctx.describeKey(pe.key, ['phase']);
    const title = `${pe.metric} ${phase === 'pruned' ? 'after pruning, no retraining' : 'after fine-tuning'} (mean \u00b1 SEM)${ctxText ? ` \u00b7 ${ctxText}` : ''}`;
    html.push(canvasHtml(ctx, addChart(ctx, figure, title, { type: 'line', data: { labels, datasets: ds }, options: baseOptions(title, 'sparsity s (stars: Mann-Whitney U two-sided asymptotic+continuity, uncorrected)', pe.metric, false) })));
  }
  return html;
}

// ---------------------------------------------------------------- cell-type heatmaps (Fig. 5)

const PHASE_ORDER = ['finetuned', 'pruned', 'dense'];

function phaseRank(p: ParamValue): number {
  const i = PHASE_ORDER.indexOf(String(p));
  return i < 0 ? PHASE_ORDER.length : i;
}

function maxAbs(values: (number | null)[][]): number {
  let m = 0;
  for (const r of values) for (const v of r) if (v !== null && Number.isFinite(v)) m = Math.max(m, Math.abs(v));
  return m > 0 ? m : 1;
}

/** A heatmap chart: invisible points at the cell centres (tooltips), cells painted by the page script. */
function heatmapChart(ctx: Ctx, figure: string, titleLines: string[], grid: HeatmapGrid, stars: string[][] | null, bands: BandCells[]): string {
  const title = titleLines.join(' \u00b7 ');
  const k = grid.rows.length;
  const data: { x: number; y: number }[] = [];
  for (let i = 0; i < k; i++) for (let j = 0; j < grid.cols.length; j++) data.push({ x: j, y: i });
  const big = k > 6;
  const config: ChartConfig = {
    type: 'scatter',
    data: { datasets: [{ label: 'cells', data, pointRadius: 0, pointHitRadius: big ? 8 : 20, showLine: false }] },
    options: {
      animation: false,
      responsive: false,
      maintainAspectRatio: false,
      layout: { padding: { right: 80 } },
      plugins: { title: { display: true, text: titleLines }, legend: { display: false, labels: {} } },
      scales: {
        x: { type: 'linear', min: -0.5, max: grid.cols.length - 0.5, grid: { display: false }, ticks: { autoSkip: false, maxRotation: 90, minRotation: big ? 90 : 0, font: { size: big ? 10 : 12 } }, title: { display: true, text: 'presynaptic (columns)' } },
        y: { type: 'linear', min: -0.5, max: k - 0.5, reverse: true, grid: { display: false }, ticks: { autoSkip: false, font: { size: big ? 10 : 12 } }, title: { display: true, text: 'postsynaptic (rows)' } },
      },
    },
  };
  const heatmap: HeatmapDraw = { rows: grid.rows, cols: grid.cols, values: grid.values, max: maxAbs(grid.values), stars, bands };
  return canvasHtml(ctx, addChart(ctx, figure, title, config, { heatmap, width: big ? 720 : 560, height: big ? 660 : 480 }));
}

function bandP(d: CelltypeDifference['bands'][number], test: string, correction: string): number | null {
  return d.pValues.find((p) => p.test === test && p.correction === correction)?.p ?? null;
}

/** Fig. 5: difference heatmaps (every pair and phase), condition means (primary phase), band tables. */
function celltypeSection(ctx: Ctx, ct: CelltypeSummary): string {
  const phases = [...new Set([...ct.conditions.map((c) => c.phase), ...ct.differences.map((d) => d.phase)])].sort((a, b) => phaseRank(a) - phaseRank(b));
  const primary = phases[0] ?? null;
  const charts: string[] = [];
  const what = (res: 'population' | 'layer'): string => (res === 'population' ? 'population blocks' : 'area \u00d7 layer blocks');
  for (const phase of phases) {
    for (const d of ct.differences.filter((x) => x.phase === phase)) {
      const ctxText = ctx.describeKey(d.key);
      for (const res of ['population', 'layer'] as const) {
        const r = d[res];
        const lines = [`${d.second} \u2212 ${d.first} \u00b7 ${what(res)}`, `n = ${d.nSecond} / ${d.nFirst}${ctxText ? ` \u00b7 ${ctxText}` : ''}`];
        charts.push(heatmapChart(ctx, 'Fig. 5', lines, r.difference, r.stars, ct.bandCells[res]));
      }
    }
  }
  for (const c of ct.conditions.filter((x) => x.phase === primary)) {
    const ctxText = ctx.describeKey(c.key, ['condition']);
    for (const res of ['population', 'layer'] as const) {
      const lines = [`${c.condition} \u00b7 mean |w| of ${what(res)}`, `n = ${c.seeds.length}${ctxText ? ` \u00b7 ${ctxText}` : ''}`];
      charts.push(heatmapChart(ctx, 'Fig. 5', lines, c[res], null, ct.bandCells[res]));
    }
  }
  const condRows = [...ct.conditions]
    .sort((a, b) => phaseRank(a.phase) - phaseRank(b.phase))
    .map((c) => [
      escapeHtml(c.condition),
      escapeHtml(ctx.describeKey(c.key, ['condition']) || '\u2014'),
      String(c.seeds.length),
      ...c.bands.map((b) => `${fmt(b.mean)}${b.sd !== null ? ` \u00b1 ${fmt(b.sd)}` : ''}`),
    ]);
  const diffRows = [...ct.differences]
    .sort((a, b) => phaseRank(a.phase) - phaseRank(b.phase))
    .flatMap((d) =>
      d.bands.map((b) => {
        const w = b.pValues.find((p) => p.test === 'welch-t' && p.correction === 'none');
        const mw = b.pValues.find((p) => p.test === 'mann-whitney-u' && p.correction === 'none');
        return [
          `${escapeHtml(d.second)} \u2212 ${escapeHtml(d.first)}`,
          escapeHtml(ctx.describeKey(d.key) || '\u2014'),
          `${d.nSecond} / ${d.nFirst}`,
          escapeHtml(b.name),
          fmt(b.first),
          fmt(b.second),
          fmt(b.difference),
          `t ${fmt(w?.statistic)}${w?.df !== undefined && w.df !== null ? ` (df ${fmt(w.df)})` : ''}`,
          fmt(bandP(b, 'welch-t', 'none')),
          fmt(bandP(b, 'welch-t', 'bh')),
          `U ${fmt(mw?.statistic)}`,
          fmt(bandP(b, 'mann-whitney-u', 'none')),
          fmt(bandP(b, 'mann-whitney-u', 'bh')),
        ];
      }),
    );
  const bandNames = ct.bandCells.population.map((b) => b.name);
  const intro = `Block value: ${ct.measure}. Heatmaps: rows postsynaptic, columns presynaptic; diverging colour scale centred at 0 (blue negative, red positive, symmetric about the largest |value| of each panel; grey: undefined). Outlined: the inter-area bands (solid: ${bandNames[0] ?? 'feedforward'}; dashed: ${bandNames.slice(1).join(', ') || 'feedback'}). Differences are second \u2212 first; stars: ${ct.starsFrom} (* p < 0.05, ** p < 0.01, *** p < 0.001). Differences are drawn for every phase${primary !== null ? `, condition means for phase ${String(primary)}` : ''}; every number is in summary.json.`;
  return `<section id="fig5"><h2>Cell-type connectivity by condition (Fig. 5)</h2><p class="intro">${escapeHtml(intro)}</p>${charts.length ? `<div class="grid">${charts.join('')}</div>` : ''}
${table(['condition', 'context', 'seeds', ...bandNames.map((n) => `${n} (mean \u00b1 SD)`)], condRows)}
${diffRows.length ? `<h3>Band differences (second \u2212 first), two-sided tests over seeds; BH over the three bands of a comparison</h3>${table(['comparison', 'context', 'n', 'band', 'first', 'second', 'difference', 'Welch', 'p (Welch)', 'p (Welch, BH)', 'Mann-Whitney (asymptotic+continuity)', 'p (MWU)', 'p (MWU, BH)'], diffRows, 'wide')}` : ''}</section>`;
}

function canvasHtml(ctx: Ctx, spec: ChartSpec): string {
  return `<figure><canvas id="${escapeHtml(spec.id)}" role="img" aria-label="${escapeHtml(spec.title)}"></canvas><figcaption>${escapeHtml(spec.figure)} \u00b7 ${escapeHtml(spec.title)}</figcaption></figure>`;
}

function section(id: string, title: string, intro: string, body: string[]): string {
  if (!body.length) return '';
  return `<section id="${id}"><h2>${escapeHtml(title)}</h2>${intro ? `<p class="intro">${escapeHtml(intro)}</p>` : ''}<div class="grid">${body.join('')}</div></section>`;
}

// ---------------------------------------------------------------- tables


function comparisonsTable(cs: Comparison[], describeKey: Ctx['describeKey']): string {
  const rows: string[][] = [];
  for (const c of cs) {
    const tests = [...new Set(c.pValues.map((p) => `${p.test}|${p.method}`))];
    for (const t of tests) {
      const [test, method] = t.split('|');
      const get = (corr: string) => c.pValues.find((p) => p.test === test && p.method === method && p.correction === corr);
      const none = get('none');
      rows.push([
        escapeHtml(c.family),
        escapeHtml(describeKey(c.context) || '\u2014'),
        escapeHtml(c.metric),
        `${escapeHtml(String(c.a))} vs ${escapeHtml(String(c.b))}`,
        test === 'paired-t' || test === 'wilcoxon-signed-rank' ? `${c.nPairs} pairs` : `${c.nA} / ${c.nB}`,
        `${fmt(c.meanA)} / ${fmt(c.meanB)}`,
        escapeHtml(test),
        escapeHtml(method),
        escapeHtml(none?.alternative ?? 'two-sided'),
        `${fmt(none?.statistic)}${none?.df !== undefined && none.df !== null ? ` (df ${fmt(none.df)})` : ''}`,
        fmt(none?.p),
        fmt(get('holm')?.p),
        fmt(get('bh')?.p),
        `d ${fmt(c.effect.cohensD)}, g ${fmt(c.effect.hedgesG)}, r<sub>rb</sub> ${fmt(c.effect.rankBiserial)}`,
      ]);
    }
  }
  return table(['family', 'context', 'metric', 'A vs B', 'n', 'mean A / B', 'test', 'method', 'alternative', 'statistic', 'p (none)', 'p (Holm)', 'p (BH)', 'effect sizes'], rows, 'wide');
}

// ---------------------------------------------------------------- page

const CSS = `body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#222;background:#fff}h1{font-size:22px;margin:0 0 8px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px}dl.meta dt{font-weight:600}pre{background:#f6f6f6;padding:8px;overflow:auto;max-height:320px}
.grid{display:flex;flex-wrap:wrap;gap:16px}figure{margin:0;border:1px solid #eee;padding:6px}figcaption{font-size:12px;color:#555;max-width:640px}
table{border-collapse:collapse;margin:8px 0;font-size:12px}th,td{border:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top}th{background:#f3f3f3}
.intro{color:#444;max-width:900px}.bad{color:#b00020}.good{color:#1b7f3b}.live{color:#555;font-style:italic}`;

const PAGE_SCRIPT = `(function () {
  var spec = JSON.parse(document.getElementById('dalesweep-data').textContent);
  var background = { id: 'dalesweepBackground', beforeDraw: function (chart) {
    var c = chart.ctx; c.save(); c.globalCompositeOperation = 'destination-over';
    c.fillStyle = '#ffffff'; c.fillRect(0, 0, chart.width, chart.height); c.restore(); } };
  function num(v) {
    var a = Math.abs(v);
    return a === 0 ? '0' : (a >= 1e4 || a < 1e-3) ? v.toExponential(2) : String(Number(v.toPrecision(3)));
  }
  var STOPS = [[-1, [33, 102, 172]], [-0.5, [146, 197, 222]], [0, [247, 247, 247]], [0.5, [244, 165, 130]], [1, [178, 24, 43]]];
  function diverging(t) {
    t = Math.max(-1, Math.min(1, t));
    for (var k = 1; k < STOPS.length; k++) {
      if (t <= STOPS[k][0]) {
        var a = STOPS[k - 1], b = STOPS[k], f = (t - a[0]) / (b[0] - a[0]);
        return 'rgb(' + [0, 1, 2].map(function (i) { return Math.round(a[1][i] + f * (b[1][i] - a[1][i])); }).join(',') + ')';
      }
    }
    return 'rgb(178,24,43)';
  }
  function heatmap(h) {
    return { id: 'dalesweepHeatmap', beforeDatasetsDraw: function (chart) {
      var c = chart.ctx, xs = chart.scales.x, ys = chart.scales.y;
      function box(r0, r1, c0, c1) {
        var x0 = xs.getPixelForValue(c0 - 0.5), x1 = xs.getPixelForValue(c1 - 0.5);
        var y0 = ys.getPixelForValue(r0 - 0.5), y1 = ys.getPixelForValue(r1 - 0.5);
        return [Math.min(x0, x1), Math.min(y0, y1), Math.abs(x1 - x0), Math.abs(y1 - y0)];
      }
      c.save();
      var size = Math.max(8, Math.min(14, Math.floor(Math.abs(ys.getPixelForValue(1) - ys.getPixelForValue(0)) * 0.6)));
      for (var i = 0; i < h.rows.length; i++) {
        for (var j = 0; j < h.cols.length; j++) {
          var v = h.values[i][j], b = box(i, i + 1, j, j + 1);
          c.fillStyle = v === null ? '#d0d0d0' : diverging(v / h.max);
          c.fillRect(b[0], b[1], b[2] + 0.5, b[3] + 0.5);
          var st = h.stars && h.stars[i][j];
          if (st) {
            c.fillStyle = v !== null && Math.abs(v / h.max) > 0.6 ? '#ffffff' : '#000000';
            c.font = 'bold ' + size + 'px sans-serif'; c.textAlign = 'center'; c.textBaseline = 'middle';
            c.fillText(st, b[0] + b[2] / 2, b[1] + b[3] / 2);
          }
        }
      }
      h.bands.forEach(function (band) {
        var b = box(band.rows[0], band.rows[1], band.cols[0], band.cols[1]);
        c.lineWidth = 2; c.strokeStyle = '#000000'; c.setLineDash(band.kind === 'feedforward' ? [] : [4, 3]);
        c.strokeRect(b[0], b[1], b[2], b[3]);
      });
      c.setLineDash([]);
      var area = chart.chartArea, bx = area.right + 12, bw = 12, top = area.top, bot = area.bottom;
      for (var y = top; y < bot; y++) { c.fillStyle = diverging(1 - 2 * (y - top) / (bot - top)); c.fillRect(bx, y, bw, 1.5); }
      c.strokeStyle = '#555555'; c.lineWidth = 1; c.strokeRect(bx, top, bw, bot - top);
      c.fillStyle = '#222222'; c.font = '10px sans-serif'; c.textAlign = 'left'; c.textBaseline = 'middle';
      c.fillText(num(h.max), bx + bw + 3, top + 5); c.fillText('0', bx + bw + 3, (top + bot) / 2); c.fillText(num(-h.max), bx + bw + 3, bot - 5);
      c.restore();
    } };
  }
  function heatmapOptions(cfg, h) {
    var axes = { x: h.cols, y: h.rows };
    Object.keys(axes).forEach(function (a) {
      var labels = axes[a];
      cfg.options.scales[a].afterBuildTicks = function (axis) { axis.ticks = labels.map(function (_, i) { return { value: i }; }); };
      cfg.options.scales[a].ticks.callback = function (v) { return labels[v] === undefined ? '' : labels[v]; };
    });
    cfg.options.plugins.tooltip = { callbacks: {
      title: function () { return ''; },
      label: function (item) {
        var i = item.raw.y, j = item.raw.x, v = h.values[i][j];
        return h.rows[i] + ' \\u2190 ' + h.cols[j] + ': ' + (v === null ? 'n/a' : num(v)) + (h.stars && h.stars[i][j] ? ' ' + h.stars[i][j] : '');
      } } };
  }
  var charts = {};
  spec.charts.forEach(function (s) {
    var cfg = s.config;
    cfg.options.animation = false;
    cfg.options.plugins.legend.labels.filter = function (item, data) { return !data.datasets[item.datasetIndex].band; };
    cfg.plugins = [background];
    if (s.heatmap) { heatmapOptions(cfg, s.heatmap); cfg.plugins.push(heatmap(s.heatmap)); }
    var canvas = document.getElementById(s.id);
    canvas.width = s.width || spec.width; canvas.height = s.height || spec.height;
    charts[s.id] = new Chart(canvas, cfg);
  });
  window.__dalesweepCharts = charts;
  window.__dalesweepReady = true;
})();`;

/**
 * Renders the summary as one self-contained HTML page (string). Charts whose data is absent are
 * omitted. Each chart's canvas id is also its PNG name (see exportPngs).
 */
export function renderReport(summary: Summary, opts: RenderOptions = {}): string {
  const width = opts.chartWidth ?? 640;
  const height = opts.chartHeight ?? 360;
  for (const [name, v] of [['chartWidth', width], ['chartHeight', height]] as const) {
    if (!Number.isInteger(v) || v < 50 || v > 8000) throw new ReportError(`${name} must be an integer in [50, 8000], got ${v}`);
  }
  if (opts.refreshSeconds !== undefined && !(Number.isFinite(opts.refreshSeconds) && opts.refreshSeconds > 0)) {
    throw new ReportError(`refreshSeconds must be a positive number, got ${opts.refreshSeconds}`);
  }
  const axes = summary.axes ?? {};
  const describeKey = (k: Key, exclude: string[] = []): string =>
    Object.keys(k)
      .filter((n) => !exclude.includes(n) && k[n] !== null && (axes[n]?.length ?? 0) > 1)
      .map((n) => `${n}=${String(k[n])}`)
      .join(', ');
  const ctx: Ctx = { summary, charts: [], describeKey };
  const s = summary.sweep;

  const sections = [
    section('fig2c', 'Learning curves per rule (Fig. 2C)', 'Dense training, mean \u00b1 SEM over seeds.', lossCurves(ctx, 'dense', 'Fig. 2C', 'rule')),
    section('fig2b', 'Weight distributions and KL divergence (Fig. 2B)', `Histograms pool every seed on shared bins. KL(conventional \u2016 rule) is averaged over all run pairs with ${summary.kl[0]?.bins ?? 100}-bin density histograms + ${summary.kl[0]?.epsilon ?? 1e-7}: paper-code bins each run on its own min\u2013max edges (the authors' code), corrected bins both on shared edges. This sweep's fidelity: ${s.fidelity}.`, [
      ...histogramCharts(ctx, 'dense', 'Fig. 2B'),
      ...klCharts(ctx),
    ]),
    section('fig3a', 'Non-zero weights after pruning (Fig. 3A)', 'Pooled over seeds, shared bins per panel.', histogramCharts(ctx, 'pruned-nonzero', 'Fig. 3A')),
    section('fig3b', 'MST overlap vs sparsity (Fig. 3B)', 'Fraction of maximum-spanning-tree edges kept (iterative pruning: of the dense network\u2019s tree); dashed: the expected overlap of random pruning, min(1, (1 \u2212 s)N\u00b2/(N\u00b2 \u2212 z0)) with z0 the exact zeros of the dense matrix (paper-code: the authors\u2019 int((1 \u2212 s)N\u00b2)/N\u00b2), mean over runs (and the top-prob lower bounds of App. 10.1 where available, dotted: with the printed probabilities \u03ba|w_(k)|, which exceed 1 for large weights and are then no bound, and with the pruner\u2019s renormalised probabilities min(1, p_(k)) of Alg. 3).', mstCharts(ctx)),
    section('fig3c', 'Error after pruning without retraining (Fig. 3C)', 'Stars on the x labels: two-sided Mann-Whitney U, asymptotic with continuity correction, uncorrected (* p < 0.05, ** p < 0.01, *** p < 0.001). See the table for exact, Welch, Holm and BH.', pruningErrorCharts(ctx, 'pruned', 'Fig. 3C')),
    section('fig3d', 'Fine-tuning after pruning (Fig. 3D)', 'Fine-tuning curves (mask fixed), mean \u00b1 SEM over seeds, and the error after fine-tuning.', [
      ...lossCurves(ctx, 'finetune', 'Fig. 3D', 'pruning'),
      ...pruningErrorCharts(ctx, 'finetuned', 'Fig. 3D'),
    ]),
    summary.celltype ? celltypeSection(ctx, summary.celltype) : '',
  ].join('');

  const sc = summary.statusCounts;
  const metricNames = [...new Set(summary.groups.flatMap((g) => Object.keys(g.metrics)))].sort();
  const groupRows = summary.groups.map((g) => [
    escapeHtml(g.label),
    `${g.counts.succeeded}${g.counts.failed ? ` <span class="bad">(${g.counts.failed} failed)</span>` : ''}${g.counts.pending ? ` (${g.counts.pending} pending)` : ''}`,
    ...metricNames.map((m) => {
      const d = g.metrics[m];
      if (!d || d.n === 0) return '\u2014';
      return `${fmt(d.mean)} \u00b1 ${fmt(d.sd)} <small>(SEM ${fmt(d.sem)}; 95% CI ${d.ci95 ? `${fmt(d.ci95[0])}\u2013${fmt(d.ci95[1])}` : '\u2014'}; n ${d.n})</small>`;
    }),
  ]);
  const minPRows = summary.minP.map((m) => [escapeHtml(m.family), escapeHtml(m.test), escapeHtml(m.method), 'two-sided', escapeHtml(m.correction), fmt(m.p), escapeHtml(m.at ? describeKey(m.at) || JSON.stringify(m.at) : '\u2014'), String(m.nLevels)]);
  const klRows = summary.kl.map((k) => [escapeHtml(describeKey(k.key) || '\u2014'), escapeHtml(String(k.rule)), escapeHtml(k.mode + (k.mode === s.fidelity ? ' (this sweep)' : '')), escapeHtml(k.direction), String(k.nPairs), fmt(k.mean), fmt(k.pairSd), fmt(k.bootstrapSe)]);
  const failRows = summary.failures.map((f) => [escapeHtml(f.stageId), escapeHtml(f.status), escapeHtml(Object.entries(f.params).map(([n, v]) => `${n}=${String(v)}`).join(', ')), escapeHtml(f.reason ?? '\u2014')]);

  const data = { width, height, charts: ctx.charts };
  const refresh = opts.refreshSeconds !== undefined ? `<meta http-equiv="refresh" content="${escapeHtml(String(opts.refreshSeconds))}">` : '';

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
${refresh}<title>dalesweep report \u2014 ${escapeHtml(s.name)}</title><style>${CSS}</style></head>
<body>
<h1>dalesweep report \u2014 ${escapeHtml(s.name)}</h1>
${opts.refreshSeconds !== undefined ? `<p class="live">Live view: this page reloads every ${escapeHtml(String(opts.refreshSeconds))} s.</p>` : ''}
<dl class="meta"><dt>sweep id</dt><dd>${escapeHtml(s.sweepId)}</dd><dt>code version</dt><dd>${escapeHtml(s.codeVersion)}</dd><dt>fidelity</dt><dd>${escapeHtml(s.fidelity)}</dd><dt>created</dt><dd>${escapeHtml(s.createdAt)}</dd>
<dt>evaluations</dt><dd>${sc.total} total: ${sc.succeeded} succeeded, <span class="${sc.failed ? 'bad' : ''}">${sc.failed} failed</span>, ${sc.pending} pending</dd></dl>
${failRows.length ? `<h2>Failed and pending stages</h2>${table(['stage', 'status', 'params', 'reason'], failRows)}` : ''}
${paperComparisonHtml(summary.paperComparison)}
${sections}
${groupRows.length ? `<section id="groups"><h2>Per-group statistics (mean \u00b1 SD over seeds)</h2>${table(['group', 'runs', ...metricNames], groupRows, 'wide')}</section>` : ''}
${summary.comparisons.length ? `<section id="comparisons"><h2>Comparisons</h2><p class="intro">Every test is two-sided. Mann-Whitney asymptotic-continuity = scipy.stats.mannwhitneyu(method='asymptotic', use_continuity=True) (the authors' test); exact = the permutation distribution of U over the observed ranks (exact conditional p with ties); Welch = unequal-variance t with Welch\u2013Satterthwaite df. Paired tests pair the runs of the two levels that share a seed (e.g. random and top-prob pruning of the same dense model): paired t = scipy.stats.ttest_rel; Wilcoxon signed-rank exact = scipy.stats.wilcoxon(method='exact'), zero differences dropped. Holm and BH adjust within each family.</p>${comparisonsTable(summary.comparisons, describeKey)}</section>` : ''}
${minPRows.length ? `<section id="minp"><h2>Minimum p over sparsity (as the authors quote it)</h2>${table(['family', 'test', 'method', 'alternative', 'correction', 'min p', 'at', 'levels'], minPRows)}</section>` : ''}
${klRows.length ? `<section id="kl"><h2>KL divergences</h2><p class="intro">Every run of the rule is paired with every conventional run, so the pairs share runs: pair SD is the spread of the pair values, and the uncertainty of the mean is the bootstrap SE over runs (both rules' runs resampled with replacement, computed exactly).</p>${table(['context', 'rule', 'binning', 'direction', 'pairs', 'mean', 'pair SD', 'bootstrap SE (runs)'], klRows)}</section>` : ''}
${summary.notes.length ? `<section id="notes"><h2>Notes</h2><ul>${summary.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul></section>` : ''}
<section id="spec"><h2>Sweep spec</h2><pre>${escapeHtml(s.specText)}</pre></section>
<script type="application/json" id="dalesweep-data">${jsonForScript(data)}</script>
<script>${chartJsSource()}</script>
<script>${PAGE_SCRIPT}</script>
</body></html>
`;
}

/** The charts {@link renderReport} would draw for a summary (ids, titles, configs). */
export function reportCharts(summary: Summary, opts: RenderOptions = {}): ChartSpec[] {
  const html = renderReport(summary, opts);
  const m = /<script type="application\/json" id="dalesweep-data">([\s\S]*?)<\/script>/.exec(html);
  if (!m) throw new ReportError('rendered report has no data block');
  return (JSON.parse(m[1]) as { charts: ChartSpec[] }).charts;
}
