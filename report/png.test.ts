import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { tmpdir } from 'node:os';
import { deflateSync } from 'node:zlib';
import { aggregate } from '../analysis/aggregate.js';
import { celltypeSyntheticInput, syntheticInput } from '../analysis/synthetic.js';
import { renderReport, reportCharts } from './html.js';
import { decodePng, distinctColours, pngSize, PngDecodeError } from './png-decode.js';
import { exportPngs, PngExportError } from './png.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

test('png-decode reads a hand-made RGBA PNG with every filter type', () => {
  // 2 × 5 image, one scanline per filter type 0..4, each row the same two pixels.
  const w = 2;
  const px = [10, 20, 30, 255, 200, 100, 50, 128];
  const rows: number[] = [];
  const prev = new Array(8).fill(0);
  for (let f = 0; f < 5; f++) {
    rows.push(f);
    for (let x = 0; x < 8; x++) {
      const a = x >= 4 ? px[x - 4] : 0;
      const b = prev[x];
      const c = x >= 4 ? prev[x - 4] : 0;
      const p = a + b - c;
      const paeth = Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c) ? a : Math.abs(p - b) <= Math.abs(p - c) ? b : c;
      const pred = [0, a, b, (a + b) >> 1, paeth][f];
      rows.push((px[x] - pred) & 255);
    }
    for (let x = 0; x < 8; x++) prev[x] = px[x];
  }
  const chunk = (type: string, data: Buffer): Buffer => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    return Buffer.concat([len, Buffer.from(type, 'latin1'), data, Buffer.alloc(4)]); // CRC not checked
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(5, 4);
  ihdr[8] = 8;
  ihdr[9] = 6;
  const png = Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(Buffer.from(rows))), chunk('IEND', Buffer.alloc(0))]);
  const img = decodePng(png);
  assert.deepEqual(pngSize(png), { width: 2, height: 5 });
  for (let y = 0; y < 5; y++) assert.deepEqual(Array.from(img.data.subarray(y * 8, y * 8 + 8)), px, `row ${y}`);
  assert.equal(distinctColours(img), 2);
  assert.throws(() => pngSize(Buffer.from('not a png at all, certainly not')), PngDecodeError);
});

test('exportPngs writes one non-blank PNG of the requested size per chart', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dalesweep-png-'));
  dirs.push(dir);
  const input = syntheticInput({ tasks: ['flipflop'], sparsities: [0.3, 0.6], withFailures: false });
  const summary = await aggregate(input);
  const html = join(dir, 'report.html');
  await writeFile(html, renderReport(summary));
  const files = await exportPngs(html, join(dir, 'png'), { width: 480, height: 300 });
  const ids = reportCharts(summary).map((c) => c.id);
  assert.deepEqual(files.map((f) => basename(f, '.png')), ids);
  for (const f of files) {
    const buf = await readFile(f);
    assert.deepEqual(pngSize(buf), { width: 480, height: 300 }, f);
    const img = decodePng(buf);
    assert.ok(distinctColours(img) > 2, `${f} is not blank`);
  }
  await assert.rejects(exportPngs(join(dir, 'missing.html'), dir, { width: 10, height: 10 }), PngExportError);
  await assert.rejects(exportPngs(html, dir, { width: 0, height: 10 }), /width must be an integer/);
});

test('exportPngs covers the cell-type heatmaps too: one non-blank PNG per chart', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'dalesweep-png-ct-'));
  dirs.push(dir);
  const summary = await aggregate(celltypeSyntheticInput({ seeds: 3, conditions: ['novel_no_change_full', 'novel_omission_full'] }));
  const html = join(dir, 'report.html');
  await writeFile(html, renderReport(summary));
  const files = await exportPngs(html, join(dir, 'png'), { width: 400, height: 380 });
  const charts = reportCharts(summary);
  assert.ok(charts.filter((c) => c.heatmap !== undefined).length >= 4);
  assert.deepEqual(files.map((f) => basename(f, '.png')), charts.map((c) => c.id));
  for (const f of files) {
    const buf = await readFile(f);
    assert.deepEqual(pngSize(buf), { width: 400, height: 380 }, f);
    assert.ok(distinctColours(decodePng(buf)) > 2, `${f} is not blank`);
  }
});
