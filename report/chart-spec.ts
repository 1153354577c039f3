/**
 * What the report page carries from the server side to its page script: one {@link ChartSpec}
 * per chart (a chart.js configuration made of JSON values only), heatmap drawing data, and the
 * {@link ReportPageData} block the page parses. Written by report/figures.ts, embedded by
 * report/html.ts, read in the browser by report/page-script.ts.
 */
import type { BandCells } from '../analysis/types.js';

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

/** The JSON block of the page (`<script type="application/json" id="dalesweep-data">`). */
export interface ReportPageData {
  /** Default canvas size of each chart in CSS pixels. */
  width: number;
  height: number;
  charts: ChartSpec[];
}
