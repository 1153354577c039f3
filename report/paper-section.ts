/**
 * The report's "Paper comparison" section: the sweep's numbers beside the authors' (converted
 * to their units) and the paper's claims with verdicts, from `summary.paperComparison`
 * (analysis/scorecard.ts).
 */
import type { Scorecard } from '../analysis/scorecard.js';
import { escapeHtml, fmt, table } from './html-parts.js';

const VERDICT_CLASS: Record<string, string> = { reproduced: 'good', 'not reproduced': 'bad', 'not enough runs': '' };

/** The section's markup, or '' when the sweep has nothing the paper reports. */
export function paperComparisonHtml(card: Scorecard | undefined): string {
  if (!card || (card.numbers.length === 0 && card.claims.length === 0)) return '';
  const numberRows = card.numbers.map((n) => [
    escapeHtml(n.task),
    `${escapeHtml(n.quantity)}${n.context ? ` <small>(${escapeHtml(n.context)})</small>` : ''}`,
    `${fmt(n.ours.mean)} \u00b1 ${fmt(n.ours.sd)} <small>(n ${n.ours.n})</small>`,
    `${fmt(n.authors.mean)}${n.authors.sd !== null ? ` \u00b1 ${fmt(n.authors.sd)}` : ''}`,
    fmt(n.ratio),
    escapeHtml(n.units),
  ]);
  const claimRows = card.claims.map((c) => [
    escapeHtml(c.task),
    escapeHtml(c.claim),
    `<strong class="${VERDICT_CLASS[c.verdict] ?? ''}">${escapeHtml(c.verdict)}</strong>`,
    `${escapeHtml(c.evidence)}${c.p?.length ? `<br><small>${c.p.map((p) => `${escapeHtml(p.test)}: ${fmt(p.p)}`).join('; ')}</small>` : ''}`,
  ]);
  return `<section id="paper"><h2>Paper comparison</h2><p class="intro">Our results beside the authors\u2019 saved outputs (mean \u00b1 SD over runs), in their units, and the paper\u2019s claims checked with their tests. Verdicts need at least 3 runs per group.</p>
${table(['task', 'quantity', 'ours', 'authors', 'ratio', 'units'], numberRows, 'wide')}
${table(['task', 'claim', 'verdict', 'evidence'], claimRows, 'wide')}
${card.notes.length ? `<ul>${card.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul>` : ''}</section>`;
}
