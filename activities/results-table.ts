/**
 * Tidy results tables: one row per evaluation stage, every parameter and metric a column.
 * `results.csv` follows RFC 4180 (quoted when needed, `\n` line ends, empty cell for missing
 * values) so that `pandas.read_csv` reads it with no options.
 */

/** One row of results.csv / results.json. */
export interface ResultTableRow {
  params: Record<string, string | number | boolean | null>;
  stageId: string;
  stageIds: string[];
  status: 'succeeded' | 'failed' | 'pending';
  reason?: string;
  metrics: Record<string, number | null>;
}

/** Columns that lead the table, in this order, when present. */
const LEADING = ['task', 'rule', 'pruning', 'sparsity', 'phase', 'seed'];

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : Number.isNaN(v) ? 'NaN' : v > 0 ? 'inf' : '-inf';
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Column names: leading params, other params (sorted), status columns, metrics (sorted). */
export function resultColumns(rows: ResultTableRow[]): { params: string[]; metrics: string[] } {
  const p = new Set<string>();
  const m = new Set<string>();
  for (const r of rows) {
    for (const k of Object.keys(r.params)) p.add(k);
    for (const k of Object.keys(r.metrics)) m.add(k);
  }
  const lead = LEADING.filter((k) => p.has(k));
  const rest = [...p].filter((k) => !LEADING.includes(k)).sort();
  return { params: [...lead, ...rest], metrics: [...m].sort() };
}

/** Renders rows as CSV text (header + one line per row). */
export function toCsv(rows: ResultTableRow[]): string {
  const { params, metrics } = resultColumns(rows);
  const metricCols = metrics.filter((k) => !params.includes(k));
  const header = [...params, 'status', 'reason', ...metricCols, 'stage_id'];
  const lines = [header.map(csvCell).join(',')];
  for (const r of rows) {
    const cells = [
      ...params.map((k) => r.params[k]),
      r.status,
      r.reason ?? null,
      ...metricCols.map((k) => r.metrics[k]),
      r.stageId,
    ];
    lines.push(cells.map(csvCell).join(','));
  }
  return lines.join('\n') + '\n';
}
