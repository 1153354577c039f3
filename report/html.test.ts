import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { aggregate } from '../analysis/aggregate.js';
import { syntheticInput } from '../analysis/synthetic.js';
import type { Summary } from '../analysis/types.js';
import { escapeHtml, jsonForScript, renderReport, reportCharts, ReportError } from './html.js';
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
