/**
 * The report page's script, typed and compiled by tsc with the rest of the project, run in the
 * browser: it parses the page's {@link ReportPageData} block, adds what JSON cannot carry to each
 * chart.js configuration (a white background, the legend filter that hides SEM bands, and for
 * heatmaps the tick labels, tooltips and a plugin that paints the cells), creates the charts and
 * sets `window.__dalesweepCharts` / `window.__dalesweepReady` for the PNG export and the tests.
 *
 * Embedding: {@link pageScriptSource} joins the compiled source of the functions below
 * (`Function.prototype.toString`) and a call of its entry point, so the report stays one
 * self-contained file. Each function therefore refers only to the others and to the browser's
 * globals (`document`, `window`, chart.js's `Chart`), declared here with the few members used;
 * nothing else at module scope is reachable from the page. The pure parts (number format,
 * colour scale) are unit-tested in Node.
 */
import type { ChartSpec, HeatmapDraw, ReportPageData } from './chart-spec.js';

/** The members of a canvas 2D context the page uses. */
interface Canvas2D {
  save(): void;
  restore(): void;
  fillRect(x: number, y: number, w: number, h: number): void;
  strokeRect(x: number, y: number, w: number, h: number): void;
  fillText(text: string, x: number, y: number): void;
  setLineDash(segments: number[]): void;
  fillStyle: string;
  strokeStyle: string;
  lineWidth: number;
  font: string;
  textAlign: string;
  textBaseline: string;
  globalCompositeOperation: string;
}

/** A chart.js chart as its plugins see it. */
interface LiveChart {
  ctx: Canvas2D;
  width: number;
  height: number;
  scales: Record<'x' | 'y', { getPixelForValue(v: number): number }>;
  chartArea: { left: number; right: number; top: number; bottom: number };
}

/** A chart.js inline plugin. */
interface ChartPlugin {
  id: string;
  beforeDraw?(chart: LiveChart): void;
  beforeDatasetsDraw?(chart: LiveChart): void;
}

/** An axis of a live configuration (the server side gives heatmap axes a `ticks` object). */
interface LiveScale {
  ticks: { callback?: (value: number) => string };
  afterBuildTicks?: (axis: { ticks: { value: number }[] }) => void;
}

/**
 * The parts of a chart's options the page completes (every configuration has
 * `plugins.legend.labels`; heatmaps also have both scales with `ticks`; see report/figures.ts).
 */
interface LiveOptions {
  animation: boolean;
  plugins: {
    legend: { labels: { filter?: (item: { datasetIndex: number }, data: { datasets: { band?: boolean }[] }) => boolean } };
    tooltip?: { callbacks: { title(): string; label(item: { raw: { x: number; y: number } }): string } };
  };
  scales: Record<'x' | 'y', LiveScale>;
}

/** A chart's configuration once the page has completed it. */
interface LiveConfig {
  options: LiveOptions;
  plugins?: ChartPlugin[];
}

declare const document: { getElementById(id: string): ({ textContent: string | null; width: number; height: number }) | null };
declare const window: { __dalesweepCharts?: Record<string, unknown>; __dalesweepReady?: boolean };
declare const Chart: new (canvas: unknown, config: unknown) => unknown;

/** A number as the heatmap labels show it: 3 significant digits, exponent form outside [1e-3, 1e4). */
export function formatHeatmapNumber(v: number): string {
  const a = Math.abs(v);
  return a === 0 ? '0' : a >= 1e4 || a < 1e-3 ? v.toExponential(2) : String(Number(v.toPrecision(3)));
}

/**
 * The diverging colour of t ∈ [−1, 1] (clamped): blue at −1, white at 0, red at +1, linear
 * between five stops. Returns a CSS `rgb(r,g,b)` string.
 */
export function divergingColor(t: number): string {
  const stops: [number, [number, number, number]][] = [[-1, [33, 102, 172]], [-0.5, [146, 197, 222]], [0, [247, 247, 247]], [0.5, [244, 165, 130]], [1, [178, 24, 43]]];
  t = Math.max(-1, Math.min(1, t));
  for (let k = 1; k < stops.length; k++) {
    if (t <= stops[k][0]) {
      const a = stops[k - 1], b = stops[k], f = (t - a[0]) / (b[0] - a[0]);
      return 'rgb(' + [0, 1, 2].map((i) => Math.round(a[1][i] + f * (b[1][i] - a[1][i]))).join(',') + ')';
    }
  }
  return 'rgb(178,24,43)';
}

/** Plugin painting a white background under the chart (so PNG exports are not transparent). */
function whiteBackgroundPlugin(): ChartPlugin {
  return {
    id: 'dalesweepBackground',
    beforeDraw(chart) {
      const c = chart.ctx;
      c.save();
      c.globalCompositeOperation = 'destination-over';
      c.fillStyle = '#ffffff';
      c.fillRect(0, 0, chart.width, chart.height);
      c.restore();
    },
  };
}

/** Plugin painting heatmap `h`: cells, stars, band outlines and a colour bar right of the plot. */
function heatmapPlugin(h: HeatmapDraw): ChartPlugin {
  return {
    id: 'dalesweepHeatmap',
    beforeDatasetsDraw(chart) {
      const c = chart.ctx, xs = chart.scales.x, ys = chart.scales.y;
      const box = (r0: number, r1: number, c0: number, c1: number): [number, number, number, number] => {
        const x0 = xs.getPixelForValue(c0 - 0.5), x1 = xs.getPixelForValue(c1 - 0.5);
        const y0 = ys.getPixelForValue(r0 - 0.5), y1 = ys.getPixelForValue(r1 - 0.5);
        return [Math.min(x0, x1), Math.min(y0, y1), Math.abs(x1 - x0), Math.abs(y1 - y0)];
      };
      c.save();
      const size = Math.max(8, Math.min(14, Math.floor(Math.abs(ys.getPixelForValue(1) - ys.getPixelForValue(0)) * 0.6)));
      for (let i = 0; i < h.rows.length; i++) {
        for (let j = 0; j < h.cols.length; j++) {
          const v = h.values[i][j], b = box(i, i + 1, j, j + 1);
          c.fillStyle = v === null ? '#d0d0d0' : divergingColor(v / h.max);
          c.fillRect(b[0], b[1], b[2] + 0.5, b[3] + 0.5);
          const st = h.stars && h.stars[i][j];
          if (st) {
            c.fillStyle = v !== null && Math.abs(v / h.max) > 0.6 ? '#ffffff' : '#000000';
            c.font = 'bold ' + size + 'px sans-serif';
            c.textAlign = 'center';
            c.textBaseline = 'middle';
            c.fillText(st, b[0] + b[2] / 2, b[1] + b[3] / 2);
          }
        }
      }
      for (const band of h.bands) {
        const b = box(band.rows[0], band.rows[1], band.cols[0], band.cols[1]);
        c.lineWidth = 2;
        c.strokeStyle = '#000000';
        c.setLineDash(band.kind === 'feedforward' ? [] : [4, 3]);
        c.strokeRect(b[0], b[1], b[2], b[3]);
      }
      c.setLineDash([]);
      const area = chart.chartArea, bx = area.right + 12, bw = 12, top = area.top, bot = area.bottom;
      for (let y = top; y < bot; y++) {
        c.fillStyle = divergingColor(1 - (2 * (y - top)) / (bot - top));
        c.fillRect(bx, y, bw, 1.5);
      }
      c.strokeStyle = '#555555';
      c.lineWidth = 1;
      c.strokeRect(bx, top, bw, bot - top);
      c.fillStyle = '#222222';
      c.font = '10px sans-serif';
      c.textAlign = 'left';
      c.textBaseline = 'middle';
      c.fillText(formatHeatmapNumber(h.max), bx + bw + 3, top + 5);
      c.fillText('0', bx + bw + 3, (top + bot) / 2);
      c.fillText(formatHeatmapNumber(-h.max), bx + bw + 3, bot - 5);
      c.restore();
    },
  };
}

/** Tick labels and tooltips of heatmap `h` on its configuration's options. */
function addHeatmapOptions(options: LiveOptions, h: HeatmapDraw): void {
  for (const [axis, labels] of [['x', h.cols], ['y', h.rows]] as const) {
    options.scales[axis].afterBuildTicks = (a) => {
      a.ticks = labels.map((_, i) => ({ value: i }));
    };
    options.scales[axis].ticks.callback = (v) => (labels[v] === undefined ? '' : labels[v]);
  }
  options.plugins.tooltip = {
    callbacks: {
      title: () => '',
      label: (item) => {
        const i = item.raw.y, j = item.raw.x, v = h.values[i][j];
        return h.rows[i] + ' \u2190 ' + h.cols[j] + ': ' + (v === null ? 'n/a' : formatHeatmapNumber(v)) + (h.stars && h.stars[i][j] ? ' ' + h.stars[i][j] : '');
      },
    },
  };
}

/** Completes one chart's configuration in place (see the module comment) and returns it. */
function liveConfig(s: ChartSpec): LiveConfig {
  const cfg = s.config as unknown as LiveConfig;
  cfg.options.animation = false;
  cfg.options.plugins.legend.labels.filter = (item, data) => !data.datasets[item.datasetIndex].band;
  cfg.plugins = [whiteBackgroundPlugin()];
  if (s.heatmap) {
    addHeatmapOptions(cfg.options, s.heatmap);
    cfg.plugins.push(heatmapPlugin(s.heatmap));
  }
  return cfg;
}

/** The page's entry point: draws every chart of the data block. */
function startReportPage(): void {
  const data = JSON.parse(document.getElementById('dalesweep-data')!.textContent!) as ReportPageData;
  const charts: Record<string, unknown> = {};
  for (const s of data.charts) {
    const cfg = liveConfig(s);
    const canvas = document.getElementById(s.id)!;
    canvas.width = s.width || data.width;
    canvas.height = s.height || data.height;
    charts[s.id] = new Chart(canvas, cfg);
  }
  window.__dalesweepCharts = charts;
  window.__dalesweepReady = true;
}

let source: string | null = null;

/**
 * The page script for an inline `<script>` element: the compiled functions above and a call of
 * the entry point, inside a function scope (nothing leaks into the page's globals but the two
 * `window.__dalesweep*` fields). Every `</script` is written `<\/script` (the same text inside
 * a JS string, regexp or comment), so the element cannot be closed early.
 */
export function pageScriptSource(): string {
  if (source === null) {
    const fns = [formatHeatmapNumber, divergingColor, whiteBackgroundPlugin, heatmapPlugin, addHeatmapOptions, liveConfig, startReportPage];
    source = `(function () {\n${fns.map((f) => f.toString()).join('\n')}\n${startReportPage.name}();\n})();`.replace(/<\/(script)/gi, '<\\/$1');
  }
  return source;
}
