/**
 * The report's figures: for each of the paper's figures the sweep has data for, chart.js
 * configurations ({@link ChartSpec}, JSON only) built from the aggregated {@link Summary} and
 * the `<canvas>` elements they draw on; colours per rule and pruning method; Fig. 5's cell-type
 * heatmaps (scatter charts the page script paints, report/page-script.ts) and band tables.
 */
import { escapeHtml, fmt, table } from './html-parts.js';
import type { ChartConfig, ChartSpec, HeatmapDraw } from './chart-spec.js';
import type {
  Band,
  BandCells,
  CelltypeDifference,
  CelltypeSummary,
  CurveSummary,
  HeatmapGrid,
  HistogramSummary,
  KlSummary,
  MstSummary,
  ParamValue,
  PruningErrorSummary,
  Summary,
} from '../analysis/types.js';

/** A group's parameter values. */
export type Key = Record<string, ParamValue>;


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

/** What the figure builders share: the summary, the charts drawn so far, and how keys read. */
export interface FigureContext {
  summary: Summary;
  charts: ChartSpec[];
  /** Human label of the parameters of `k` that vary in the sweep (others are constant). */
  describeKey(k: Key, exclude?: string[]): string;
}

function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 60) || 'chart';
}

function addChart(ctx: FigureContext, figure: string, title: string, config: ChartConfig, extra: Pick<ChartSpec, 'heatmap' | 'width' | 'height'> = {}): ChartSpec {
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

/** Loss curves (mean ± SEM over seeds) of `which` training, one series per level of `seriesAxis`, one chart per context; returns their canvases. */
export function lossCurves(ctx: FigureContext, which: 'dense' | 'finetune', figure: string, seriesAxis: string): string[] {
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
      html.push(canvasHtml(addChart(ctx, figure, title, { type: 'line', data: { datasets: ds }, options: baseOptions(title, which === 'dense' ? 'epoch' : 'fine-tuning epoch', yTitle, true) })));
    }
  }
  return html;
}

/** Weight histograms of `kind`, one chart per context; returns their canvases. */
export function histogramCharts(ctx: FigureContext, kind: HistogramSummary['kind'], figure: string): string[] {
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
    html.push(canvasHtml(addChart(ctx, figure, title, { type: 'line', data: { datasets: ds }, options: baseOptions(title, 'weight', 'density', true) })));
  }
  return html;
}

/** KL divergence charts (Fig. 2B); returns their canvases. */
export function klCharts(ctx: FigureContext): string[] {
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
    html.push(canvasHtml(addChart(ctx, 'Fig. 2B', title, { type: 'bar', data: { labels: rules, datasets: ds }, options: baseOptions(title, 'rule', 'KL divergence (nats)', false) })));
  }
  return html;
}

/** MST overlap vs sparsity charts (Fig. 3B); returns their canvases. */
export function mstCharts(ctx: FigureContext): string[] {
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
    html.push(canvasHtml(addChart(ctx, 'Fig. 3B', title, { type: 'line', data: { datasets: ds }, options: baseOptions(title, 'sparsity s', 'fraction of MST edges kept', true, { min: 0, max: 1 }) })));
  }
  return html;
}

/** Error after pruning (`phase` pruned or finetuned) vs sparsity charts; returns their canvases. */
export function pruningErrorCharts(ctx: FigureContext, phase: string, figure: string): string[] {
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
    html.push(canvasHtml(addChart(ctx, figure, title, { type: 'line', data: { labels, datasets: ds }, options: baseOptions(title, 'sparsity s (stars: Mann-Whitney U two-sided asymptotic+continuity, uncorrected)', pe.metric, false) })));
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
function heatmapChart(ctx: FigureContext, figure: string, titleLines: string[], grid: HeatmapGrid, stars: string[][] | null, bands: BandCells[]): string {
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
  return canvasHtml(addChart(ctx, figure, title, config, { heatmap, width: big ? 720 : 560, height: big ? 660 : 480 }));
}

function bandP(d: CelltypeDifference['bands'][number], test: string, correction: string): number | null {
  return d.pValues.find((p) => p.test === test && p.correction === correction)?.p ?? null;
}

/** Fig. 5: difference heatmaps (every pair and phase), condition means (primary phase), band tables. */
export function celltypeSection(ctx: FigureContext, ct: CelltypeSummary): string {
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

function canvasHtml(spec: ChartSpec): string {
  return `<figure><canvas id="${escapeHtml(spec.id)}" role="img" aria-label="${escapeHtml(spec.title)}"></canvas><figcaption>${escapeHtml(spec.figure)} \u00b7 ${escapeHtml(spec.title)}</figcaption></figure>`;
}

/** A report section of figures (`body`: canvases); '' when there are none. */
export function figureSection(id: string, title: string, intro: string, body: string[]): string {
  if (!body.length) return '';
  return `<section id="${id}"><h2>${escapeHtml(title)}</h2>${intro ? `<p class="intro">${escapeHtml(intro)}</p>` : ''}<div class="grid">${body.join('')}</div></section>`;
}
