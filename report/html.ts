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
 * page script (report/page-script.ts, typed and compiled with the project, embedded as its
 * compiled source) that paints the cells on a diverging scale centred at 0, outlines the inter-area
 * bands, writes the significance stars and draws a colour bar; being chart.js charts, they are
 * exported to PNG like every other chart. The figures themselves are built in report/figures.ts.
 */
import { escapeHtml, fmt, table } from './html-parts.js';
import { paperComparisonHtml } from './paper-section.js';
import { chartJsSource } from './assets.js';
import { pageScriptSource } from './page-script.js';
import type { ChartSpec, ReportPageData } from './chart-spec.js';
import {
  celltypeSection, figureSection, histogramCharts, klCharts, lossCurves, mstCharts, pruningErrorCharts,
  type FigureContext, type Key,
} from './figures.js';
import type { Comparison, Summary } from '../analysis/types.js';

export type { ChartConfig, ChartSpec, HeatmapDraw, ReportPageData } from './chart-spec.js';
export { escapeHtml };

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

/** JSON for an inline `<script type="application/json">`: `<`, U+2028 and U+2029 escaped. */
export function jsonForScript(v: unknown): string {
  return JSON.stringify(v).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

// ---------------------------------------------------------------- tables


function comparisonsTable(cs: Comparison[], describeKey: FigureContext['describeKey']): string {
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
  const ctx: FigureContext = { summary, charts: [], describeKey };
  const s = summary.sweep;

  const sections = [
    figureSection('fig2c', 'Learning curves per rule (Fig. 2C)', 'Dense training, mean \u00b1 SEM over seeds.', lossCurves(ctx, 'dense', 'Fig. 2C', 'rule')),
    figureSection('fig2b', 'Weight distributions and KL divergence (Fig. 2B)', `Histograms pool every seed on shared bins. KL(conventional \u2016 rule) is averaged over all run pairs with ${summary.kl[0]?.bins ?? 100}-bin density histograms + ${summary.kl[0]?.epsilon ?? 1e-7}: paper-code bins each run on its own min\u2013max edges (the authors' code), corrected bins both on shared edges. This sweep's fidelity: ${s.fidelity}.`, [
      ...histogramCharts(ctx, 'dense', 'Fig. 2B'),
      ...klCharts(ctx),
    ]),
    figureSection('fig3a', 'Non-zero weights after pruning (Fig. 3A)', 'Pooled over seeds, shared bins per panel.', histogramCharts(ctx, 'pruned-nonzero', 'Fig. 3A')),
    figureSection('fig3b', 'MST overlap vs sparsity (Fig. 3B)', 'Fraction of maximum-spanning-tree edges kept (iterative pruning: of the dense network\u2019s tree); dashed: the expected overlap of random pruning, min(1, (1 \u2212 s)N\u00b2/(N\u00b2 \u2212 z0)) with z0 the exact zeros of the dense matrix (paper-code: the authors\u2019 int((1 \u2212 s)N\u00b2)/N\u00b2), mean over runs (and the top-prob lower bounds of App. 10.1 where available, dotted: with the printed probabilities \u03ba|w_(k)|, which exceed 1 for large weights and are then no bound, and with the pruner\u2019s renormalised probabilities min(1, p_(k)) of Alg. 3).', mstCharts(ctx)),
    figureSection('fig3c', 'Error after pruning without retraining (Fig. 3C)', 'Stars on the x labels: two-sided Mann-Whitney U, asymptotic with continuity correction, uncorrected (* p < 0.05, ** p < 0.01, *** p < 0.001). See the table for exact, Welch, Holm and BH.', pruningErrorCharts(ctx, 'pruned', 'Fig. 3C')),
    figureSection('fig3d', 'Fine-tuning after pruning (Fig. 3D)', 'Fine-tuning curves (mask fixed), mean \u00b1 SEM over seeds, and the error after fine-tuning.', [
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

  const data: ReportPageData = { width, height, charts: ctx.charts };
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
<script>${pageScriptSource()}</script>
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
