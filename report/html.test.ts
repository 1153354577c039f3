import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { aggregate } from '../analysis/aggregate.js';
import { celltypeSyntheticInput, syntheticInput } from '../analysis/synthetic.js';
import type { Summary } from '../analysis/types.js';
import { escapeHtml, jsonForScript, renderReport, reportCharts, ReportError } from './html.js';
import { fmt } from './html-parts.js';
import { inspectReport } from './inspect.js';
import { launchChromium } from './png.js';

const EVIL = '<script>alert(1)</script>';
let summary: Summary;
let browser: Browser;
let dir: string;

before(async () => {
  summary = await aggregate(syntheticInput({ name: EVIL }));
  dir = await mkdtemp(join(tmpdir(), 'dalesweep-report-'));
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function dataBlock(html: string): string {
  const m = /<script type="application\/json" id="dalesweep-data">([\s\S]*?)<\/script>/.exec(html);
  assert.ok(m, 'data block present');
  return m[1];
}

test('escaping helpers', () => {
  assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  const j = jsonForScript({ s: '</script><b>\u2028' });
  assert.ok(!j.includes('<'));
  assert.deepEqual(JSON.parse(j), { s: '</script><b>\u2028' });
});

test('user strings are escaped everywhere and the data block cannot be closed early', () => {
  const html = renderReport(summary);
  assert.ok(!html.includes(EVIL));
  assert.ok(html.includes('dalesweep report \u2014 &lt;script&gt;alert(1)&lt;/script&gt;'));
  assert.ok(html.includes('NaN loss at epoch 3 (&lt;b&gt;bold&lt;/b&gt;)'));
  assert.ok(!dataBlock(html).includes('<'));
  // exactly three script elements: data, chart.js, page script; no external source of any kind
  assert.equal(html.match(/<script/g)?.length, 3);
  assert.ok(!/<(script|link|img|iframe)[^>]+(src|href)=/i.test(html));
  assert.match(html, /Content-Security-Policy" content="default-src 'none'/);
  assert.ok(html.includes(summary.sweep.sweepId) && html.includes('test-0000000') && html.includes('<dd>corrected</dd>'));
});

test('charts present only for the data the sweep has; ids are unique', async () => {
  const charts = reportCharts(summary);
  const figures = new Set(charts.map((c) => c.figure));
  assert.deepEqual([...figures].sort(), ['Fig. 2B', 'Fig. 2C', 'Fig. 3A', 'Fig. 3B', 'Fig. 3C', 'Fig. 3D']);
  assert.equal(new Set(charts.map((c) => c.id)).size, charts.length);
  for (const c of charts) assert.match(c.id, /^[a-z0-9-]+$/);
  // a dense-only sweep has no pruning figures and no empty canvases
  const input = syntheticInput();
  const denseOnly = await aggregate({ ...input, rows: input.rows.filter((r) => r.params.phase === 'dense') });
  const html = renderReport(denseOnly);
  const dense = reportCharts(denseOnly);
  assert.deepEqual([...new Set(dense.map((c) => c.figure))].sort(), ['Fig. 2B', 'Fig. 2C']);
  assert.equal(html.match(/<canvas/g)?.length, dense.length);
  assert.ok(!html.includes('id="fig3b"'));
  // nothing at all: no canvas
  const empty = await aggregate({ ...input, rows: [] });
  assert.equal(renderReport(empty).match(/<canvas/g), null);
});

test('the paper comparison section shows our numbers beside the authors\' and each claim\'s verdict; absent without paper data', async () => {
  const html = renderReport(summary);
  const m = /<section id="paper">([\s\S]*?)<\/section>/.exec(html);
  assert.ok(m, 'paper comparison section present');
  const sec = m[1];
  assert.ok(html.indexOf('id="paper"') < html.indexOf('id="fig2c"'), 'shown before the figures');
  assert.match(sec, /dense test loss, dale/);
  assert.match(sec, /<td>0\.0024 \u00b1 0\.0015<\/td>/, 'the authors\' flip-flop Dale value');
  assert.match(sec, /MSE summed over 5 test batches/);
  const verdicts = [...sec.matchAll(/<strong class="(\w*)">([^<]+)<\/strong>/g)].map((v) => v[2]);
  assert.ok(verdicts.length >= 5 && verdicts.every((v) => v === 'reproduced'), verdicts.join(', '));
  const input = syntheticInput();
  const other = await aggregate({ ...input, rows: input.rows.map((r) => ({ ...r, params: { ...r.params, task: 'copy' } })) });
  assert.ok(!renderReport(other).includes('id="paper"'));
});

test('Fig. 3B draws the summary\u2019s random theory (exact zeros counted), not 1 \u2212 s', () => {
  const chart = reportCharts(summary).find((c) => c.figure === 'Fig. 3B' && c.title.includes('flipflop'));
  assert.ok(chart, 'an MST chart for flipflop');
  const datasets = chart.config.data.datasets as { label: string; data: { x: number; y: number | null }[] }[];
  const theory = datasets.find((d) => /random/.test(d.label) && /theory/.test(d.label));
  assert.ok(theory, datasets.map((d) => d.label).join(' | '));
  const random = summary.mst.find((m) => m.method === 'random' && m.key.task === 'flipflop')!;
  assert.deepEqual(theory.data.map((p) => p.x), random.sparsity);
  assert.deepEqual(theory.data.map((p) => p.y), random.theoryRandom);
  assert.match(theory.label, /zeros/);
  // The top-prob lower bounds are named in the legend: printed formula and renormalised.
  const top = summary.mst.find((m) => m.method === 'top-prob' && m.key.task === 'flipflop')!;
  const formula = datasets.find((d) => /lower bound/.test(d.label) && /\u03ba\|w_\(k\)\|/.test(d.label));
  const renormalised = datasets.find((d) => /lower bound/.test(d.label) && /renormalised/.test(d.label));
  assert.ok(formula && renormalised, datasets.map((d) => d.label).join(' | '));
  assert.deepEqual(formula.data.map((p) => p.y), top.lowerBoundFormula);
  assert.deepEqual(renormalised.data.map((p) => p.y), top.lowerBoundRenormalised);
});

test('KL table: pair spread and a bootstrap SE over runs, no SEM of overlapping pairs', () => {
  const html = renderReport(summary);
  const m = /<section id="kl">([\s\S]*?)<\/section>/.exec(html);
  assert.ok(m, 'KL section present');
  assert.match(m[1], /<th>pair SD<\/th>/);
  assert.match(m[1], /<th>bootstrap SE \(runs\)<\/th>/);
  assert.ok(!/<th>SEM<\/th>/.test(m[1]));
  for (const k of summary.kl) assert.ok(m[1].includes(`<td>${fmt(k.pairSd)}</td><td>${fmt(k.bootstrapSe)}</td>`), `row of ${k.rule} ${k.mode}`);
});

test('refresh option and invalid options', () => {
  assert.match(renderReport(summary, { refreshSeconds: 5 }), /<meta http-equiv="refresh" content="5">/);
  assert.ok(!renderReport(summary).includes('http-equiv="refresh"'));
  assert.throws(() => renderReport(summary, { refreshSeconds: 0 }), ReportError);
  assert.throws(() => renderReport(summary, { chartWidth: 10 }), /chartWidth/);
});

test('report opens in headless Chromium offline: no console errors, no requests, every chart drawn, name shown as text', async () => {
  const html = renderReport(summary);
  const file = join(dir, 'report.html');
  await writeFile(file, html);
  const { url, problems, requests, dialogs, ...result } = await inspectReport(browser, file);

  assert.deepEqual(problems, []);
  assert.deepEqual(requests, [url]);
  assert.equal(dialogs, 0);
  assert.ok(result.text.includes(EVIL), 'sweep name rendered as text');
  assert.ok(result.title.includes(EVIL));
  const expected = reportCharts(summary).map((c) => c.id);
  assert.deepEqual(result.canvases.map((c) => c.id), expected);
  assert.deepEqual(result.charts, expected);
  for (const c of result.canvases) {
    assert.ok(c.opaque > 0 && c.colours > 2, `canvas ${c.id} is drawn (${c.colours} colours)`);
    assert.equal(c.w, 640);
    assert.equal(c.h, 360);
  }
});

test('cell-type report: Fig. 5 heatmaps (differences per phase, condition means), band tables; drawn in Chromium with a diverging scale and stars', async () => {
  const ct = await aggregate(celltypeSyntheticInput({ seeds: 5 }));
  assert.ok(ct.celltype);
  const html = renderReport(ct);
  const charts = reportCharts(ct);
  const heatmaps = charts.filter((c) => c.heatmap !== undefined);
  // 4 differences (2 windows x 2 phases) x 2 resolutions + 4 conditions of the primary phase (finetuned) x 2.
  assert.equal(heatmaps.length, 4 * 2 + 4 * 2);
  assert.ok(heatmaps.every((c) => c.figure === 'Fig. 5' && c.config.type === 'scatter'));
  for (const c of heatmaps) {
    const h = c.heatmap!;
    assert.equal(h.values.length, h.rows.length);
    assert.ok(h.rows.length === 18 || h.rows.length === 6);
    assert.deepEqual(h.rows, h.cols);
    assert.equal(h.bands.length, 3);
    assert.ok(h.max > 0);
    assert.ok(c.width !== undefined && c.height !== undefined);
  }
  // Differences of the dense phase carry stars on the planted band; condition means carry none.
  const denseDiff = heatmaps.find((c) => c.title.includes('familiar_change_full \u2212 familiar_no_change_full') && c.title.includes('population') && c.title.includes('phase=dense'))!;
  assert.ok(denseDiff, heatmaps.map((c) => c.title).join('\n'));
  assert.ok(denseDiff.heatmap!.stars![9][3].startsWith('*'));
  assert.ok(heatmaps.filter((c) => c.title.includes('mean |w|')).every((c) => c.heatmap!.stars === null));
  assert.ok(html.includes('id="fig5"'));
  assert.ok(html.includes('Band differences (second \u2212 first)'));
  assert.ok(html.includes('feedforward V1 L2/3 \u2192 LM L4'));
  assert.equal(html.match(/<script/g)?.length, 3);

  const file = join(dir, 'celltype-report.html');
  await writeFile(file, html);
  const { url, problems, requests, ...result } = await inspectReport(browser, file);
  assert.deepEqual(problems, []);
  assert.deepEqual(requests, [url]);
  assert.deepEqual(result.canvases.map((c) => c.id), charts.map((c) => c.id));
  assert.deepEqual(result.charts, charts.map((c) => c.id));
  const byId = new Map(charts.map((c) => [c.id, c]));
  for (const c of result.canvases) {
    const spec = byId.get(c.id)!;
    assert.ok(c.opaque > 0 && c.colours > 2, `canvas ${c.id} is drawn (${c.colours} colours)`);
    assert.equal(c.w, spec.width ?? 640);
    assert.equal(c.h, spec.height ?? 360);
  }
  // Pixel colours of the dense difference heatmap: the planted band cell is red (positive), the
  // colour bar runs red (top) to blue (bottom), and the band outline is black.
  const page = await browser.newPage();
  try {
    await page.goto(url);
    await page.waitForFunction('window.__dalesweepReady === true');
    const px = (await page.evaluate(`(() => {
      const chart = window.__dalesweepCharts[${JSON.stringify(denseDiff.id)}];
      const c = chart.canvas.getContext('2d');
      const at = (x, y) => Array.from(c.getImageData(Math.round(x), Math.round(y), 1, 1).data);
      const xs = chart.scales.x, ys = chart.scales.y, a = chart.chartArea;
      return {
        band: at(xs.getPixelForValue(3) + 6, ys.getPixelForValue(10)),
        barTop: at(a.right + 18, a.top + 2),
        barBottom: at(a.right + 18, a.bottom - 2),
        outline: at(xs.getPixelForValue(3), ys.getPixelForValue(11.5)),
      };
    })()`)) as Record<string, number[]>;
    assert.ok(px.band[0] > 150 && px.band[2] < 120, `band cell ${px.band}`);
    assert.ok(px.barTop[0] > 150 && px.barTop[2] < 100, `bar top ${px.barTop}`);
    assert.ok(px.barBottom[2] > 150 && px.barBottom[0] < 100, `bar bottom ${px.barBottom}`);
    assert.ok(px.outline[0] < 60 && px.outline[1] < 60 && px.outline[2] < 60, `outline ${px.outline}`);
  } finally {
    await page.close();
  }
});
