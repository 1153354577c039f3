import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runInNewContext } from 'node:vm';
import type { ChartSpec, ReportPageData } from './chart-spec.js';
import { divergingColor, formatHeatmapNumber, pageScriptSource } from './page-script.js';

test('heatmap numbers: 3 significant digits, exponent form outside [1e-3, 1e4)', () => {
  assert.equal(formatHeatmapNumber(0), '0');
  assert.equal(formatHeatmapNumber(0.123456), '0.123');
  assert.equal(formatHeatmapNumber(-42.42), '-42.4');
  assert.equal(formatHeatmapNumber(12345), '1.23e+4');
  assert.equal(formatHeatmapNumber(0.0004567), '4.57e-4');
});

test('diverging colour scale: blue at -1, white at 0, red at +1, clamped, linear between stops', () => {
  assert.equal(divergingColor(-1), 'rgb(33,102,172)');
  assert.equal(divergingColor(0), 'rgb(247,247,247)');
  assert.equal(divergingColor(1), 'rgb(178,24,43)');
  assert.equal(divergingColor(-7), divergingColor(-1));
  assert.equal(divergingColor(7), divergingColor(1));
  // halfway between the stops at 0 and 0.5: (247 + 244) / 2, (247 + 165) / 2, (247 + 130) / 2
  assert.equal(divergingColor(0.25), `rgb(${Math.round(245.5)},206,${Math.round(188.5)})`);
});

/**
 * Runs the embedded page script in a bare context with a fake DOM and chart.js; returns what it
 * made (objects of the other realm: compare arrays through Array.from).
 */
function runPage(data: ReportPageData): { charts: Record<string, { canvas: { width: number; height: number }; config: any }>; ready: unknown } {
  const canvases: Record<string, { width: number; height: number }> = {};
  for (const c of data.charts) canvases[c.id] = { width: 0, height: 0 };
  const win: Record<string, unknown> = {};
  const context = {
    document: {
      getElementById: (id: string) => (id === 'dalesweep-data' ? { textContent: JSON.stringify(data) } : canvases[id] ?? null),
    },
    window: win,
    Chart: class {
      constructor(readonly canvas: unknown, readonly config: unknown) {}
    },
  };
  runInNewContext(pageScriptSource(), context);
  return { charts: win.__dalesweepCharts as never, ready: win.__dalesweepReady };
}

const line: ChartSpec = {
  id: 'fig-2c-01-loss',
  figure: 'Fig. 2C',
  title: 'loss',
  config: { type: 'line', data: { datasets: [{ label: 'a -SEM', band: true }, { label: 'a' }] }, options: { plugins: { legend: { labels: {} } }, scales: { x: {}, y: {} } } },
};
const heat: ChartSpec = {
  id: 'fig-5-02-heat',
  figure: 'Fig. 5',
  title: 'heat',
  width: 560,
  height: 480,
  config: { type: 'scatter', data: { datasets: [] }, options: { plugins: { legend: { labels: {} } }, scales: { x: { ticks: {} }, y: { ticks: {} } } } },
  heatmap: { rows: ['E', 'I'], cols: ['A', 'B', 'C'], values: [[1, null, -0.5], [0.25, 2, 0]], max: 2, stars: [['*', '', ''], ['', '**', '']], bands: [] },
};

test('the embedded page script draws every chart of the data block and completes each configuration', () => {
  const { charts, ready } = runPage({ width: 640, height: 360, charts: [line, heat] });
  assert.equal(ready, true);
  assert.deepEqual(Object.keys(charts).sort(), [line.id, heat.id]);
  // canvas size: the chart's own when given, else the page's default
  assert.deepEqual({ ...charts[line.id].canvas }, { width: 640, height: 360 });
  assert.deepEqual({ ...charts[heat.id].canvas }, { width: 560, height: 480 });
  const lc = charts[line.id].config;
  assert.equal(lc.options.animation, false);
  assert.deepEqual(Array.from(lc.plugins, (p: { id: string }) => p.id), ['dalesweepBackground']);
  // the legend hides the SEM band datasets
  const filter = lc.options.plugins.legend.labels.filter;
  const datasets = lc.data.datasets;
  assert.equal(filter({ datasetIndex: 0 }, { datasets }), false);
  assert.equal(filter({ datasetIndex: 1 }, { datasets }), true);
  // heatmaps: label ticks, tooltips with value and stars, and the painting plugin
  const hc = charts[heat.id].config;
  assert.deepEqual(Array.from(hc.plugins, (p: { id: string }) => p.id), ['dalesweepBackground', 'dalesweepHeatmap']);
  assert.equal(hc.options.scales.x.ticks.callback(2), 'C');
  assert.equal(hc.options.scales.y.ticks.callback(1), 'I');
  assert.equal(hc.options.scales.y.ticks.callback(5), '');
  const axis = { ticks: [] as { value: number }[] };
  hc.options.scales.x.afterBuildTicks(axis);
  assert.deepEqual(Array.from(axis.ticks, (t) => t.value), [0, 1, 2]);
  const label = hc.options.plugins.tooltip.callbacks.label;
  assert.equal(label({ raw: { x: 0, y: 0 } }), 'E \u2190 A: 1 *');
  assert.equal(label({ raw: { x: 1, y: 0 } }), 'E \u2190 B: n/a');
  assert.equal(label({ raw: { x: 1, y: 1 } }), 'I \u2190 B: 2 **');
});

test('the heatmap plugin paints each cell with the diverging colour of value / max, null cells grey', () => {
  const { charts } = runPage({ width: 640, height: 360, charts: [heat] });
  const plugin = charts[heat.id].config.plugins[1];
  const fills: { style: string; x: number; y: number }[] = [];
  const ctx = {
    fillStyle: '', strokeStyle: '', lineWidth: 0, font: '', textAlign: '', textBaseline: '', globalCompositeOperation: '',
    save() {}, restore() {}, setLineDash() {}, strokeRect() {}, fillText() {},
    fillRect(x: number, y: number) { fills.push({ style: this.fillStyle, x, y }); },
  };
  // 10 px per cell: x = 10·(col + 0.5), y = 10·(row + 0.5)
  const scale = { getPixelForValue: (v: number) => 10 * (v + 0.5) };
  plugin.beforeDatasetsDraw({ ctx, width: 100, height: 100, scales: { x: scale, y: scale }, chartArea: { left: 0, right: 30, top: 0, bottom: 20 } });
  const cell = (r: number, c: number) => fills.find((f) => f.x === 10 * c && f.y === 10 * r)?.style;
  assert.equal(cell(0, 0), divergingColor(0.5));
  assert.equal(cell(0, 1), '#d0d0d0');
  assert.equal(cell(0, 2), divergingColor(-0.25));
  assert.equal(cell(1, 1), divergingColor(1));
});
