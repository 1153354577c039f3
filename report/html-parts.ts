/**
 * Small HTML building blocks shared by the report's sections: escaping, number formatting and
 * tables. Every function returns markup; text inputs are escaped by the caller or here.
 */

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

/** A number for a table cell: 4 significant digits, exponent outside [1e-3, 1e4), '—' when missing. */
export function fmt(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '\u2014';
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 1e4 || a < 1e-3 ? v.toExponential(2) : String(Number(v.toPrecision(4)));
}

/** A table; `headers` are text (escaped), `rows` are markup; '' when there are no rows. */
export function table(headers: string[], rows: string[][], cls = ''): string {
  if (!rows.length) return '';
  return `<table${cls ? ` class="${cls}"` : ''}><thead><tr>${headers.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}
