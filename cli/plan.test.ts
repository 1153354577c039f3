/**
 * `dalesweep plan`'s wall-time estimate on a tiny sweep: measured once and cached in
 * XDG_CACHE_HOME, nothing measured with --no-calibrate, stages complete in the store cost 0,
 * the store is only read.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, writeTinySweep } from './test-support.js';

interface EstimateJson {
  stages: number;
  estimate: {
    local: { cores: number; concurrency: number; seconds: number | null };
    temporal: { workers: number; slots: number; seconds: number | null }[];
    criticalPathSeconds: number | null;
    stages: { total: number; complete: number; store: number; calibration: number; none: number };
    calibration: { measured: number; cached: number };
  };
}

test('plan estimates the wall time: calibration measured once and cached, --no-calibrate measures nothing, complete stages cost 0', { timeout: 180_000 }, (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cli-plan-est-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = writeTinySweep(join(dir, 'tiny.yaml'), { name: 'tiny-est' });
  const store = join(dir, 'store');
  const cache = join(dir, 'cache');
  const env = { ...process.env, XDG_CACHE_HOME: cache };

  // No cache, no measuring: counts only, and one line saying why there is no wall time.
  const bare = cli(['plan', file, '--store', store, '--no-calibrate'], env);
  assert.equal(bare.status, 0, bare.stderr);
  assert.match(bare.stdout, /^estimated work: /m);
  assert.match(bare.stdout, /^estimated wall time: not estimated \(\d+ of \d+ remaining stages .*run plan without --no-calibrate to measure\)$/m);
  assert.deepEqual(readdirSync(dir).sort(), ['tiny.yaml'], 'nothing cached, no store created');

  const first = cli(['plan', file, '--store', store], env);
  assert.equal(first.status, 0, first.stderr);
  const lines = first.stdout.trimEnd().split('\n');
  assert.match(lines[lines.length - 4], /^estimated wall time: \d.* (s|min|h) on this machine \(\d+ cores, local engine, concurrency \d+\); critical path .+, .+ of stage time$/);
  assert.match(lines[lines.length - 3], /^on an idle machine \(calibration CPU time instead of wall time\): \d.* (s|min|h); with K workers 1: .+, 4: .+, 16: .+$/);
  assert.match(lines[lines.length - 2], /^with K Temporal workers \(.*\): 1: .+, 4: .+, 16: .+$/);
  // (the tiny sweep's Dale stages: the calibration from initial weights is an upper bound)
  assert.match(lines[lines.length - 1], /^estimate from: calibration for \d+ stages \(model kinds: 1 measured now in [\d.]+ s at load average [\d.]+ on \d+ cores\); upper bounds for \d+ training stages of rectifying models: [^;]+$/);
  const files = readdirSync(join(cache, 'dalesweep', 'calibration'));
  assert.equal(files.length, 1);
  assert.match(files[0], /^[0-9a-f]{16}-[0-9a-f]{16}\.json$/, '<machine>-<codeVersion>.json');

  const cached = cli(['plan', file, '--store', store], env);
  assert.match(cached.stdout, /^estimate from: calibration for \d+ stages \(model kinds: 1 cached, measured at load average up to [\d.]+; --recalibrate measures again\); upper bounds for \d+ training stages of rectifying models: [^;]+$/m);
  const again = cli(['plan', file, '--store', store, '--recalibrate'], env);
  assert.match(again.stdout, /^estimate from: calibration for \d+ stages \(model kinds: 1 measured now in /m);
  assert.equal(cli(['plan', file, '--recalibrate', '--no-calibrate'], env).stderr, 'dalesweep: --recalibrate and --no-calibrate exclude each other\n');

  const json = cli(['plan', file, '--store', store, '--json', '--workers', '2,3', '--concurrency', '1'], env);
  assert.equal(json.status, 0, json.stderr);
  const e = (JSON.parse(json.stdout) as EstimateJson).estimate;
  assert.deepEqual(e.calibration, { ...e.calibration, measured: 0, cached: 1 }, 'the second plan reads the cache');
  assert.equal(e.local.concurrency, 1);
  assert.deepEqual(e.temporal.map((w) => w.workers), [2, 3]);
  assert.ok(e.local.seconds! > 0 && e.temporal.every((w) => w.seconds! > 0 && w.seconds! <= e.local.seconds! + 1e-9));
  assert.equal(e.stages.none, 0);

  // After the sweep ran, everything is complete: nothing remains.
  const run = cli(['run', file, '--store', store, '--quiet', '--no-report'], env);
  assert.equal(run.status, 0, run.stderr);
  const listing = readdirSync(store, { recursive: true }).sort();
  const after = cli(['plan', file, '--store', store, '--json', '--no-calibrate'], env);
  assert.equal(after.status, 0, after.stderr);
  const done = JSON.parse(after.stdout) as EstimateJson;
  assert.equal(done.estimate.stages.complete, done.stages);
  assert.equal(done.estimate.local.seconds, 0);
  assert.deepEqual(readdirSync(store, { recursive: true }).sort(), listing, 'plan only reads the store');
  const text = cli(['plan', file, '--store', store], env);
  assert.match(text.stdout, /^estimated wall time: 0\.0 s on this machine .*\n.*\nestimate from: nothing left to run; (\d+) of \1 stages already complete \(cost 0\)$/m);

  const bad = cli(['plan', file, '--workers', '0,2'], env);
  assert.equal(bad.status, 2);
  assert.equal(bad.stderr, "dalesweep: --workers must be positive integers separated by commas (e.g. 1,4,16), got '0,2'\n");
});

test('plan with a sweep of other seeds uses the durations of the stages of the same shape in the store', { timeout: 180_000 }, (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cli-plan-store-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const store = join(dir, 'store');
  const env = { ...process.env, XDG_CACHE_HOME: join(dir, 'cache') };
  const ran = writeTinySweep(join(dir, 'seed0.yaml'), { name: 'tiny-s0', seeds: [0] });
  assert.equal(cli(['run', ran, '--store', store, '--quiet', '--no-report'], env).status, 0);
  const more = writeTinySweep(join(dir, 'seed01.yaml'), { name: 'tiny-s01', seeds: [0, 1] });
  const r = cli(['plan', more, '--store', store, '--json', '--no-calibrate'], env);
  assert.equal(r.status, 0, r.stderr);
  const e = (JSON.parse(r.stdout) as EstimateJson).estimate;
  assert.equal(e.stages.complete, e.stages.total / 2, "seed 0's stages are complete");
  assert.equal(e.stages.store, e.stages.total / 2, "seed 1's stages all have a shape of seed 0's");
  assert.equal(e.stages.none, 0);
  assert.ok(e.local.seconds !== null && e.local.seconds > 0, 'estimated without any calibration');
});
