import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  calibrate,
  CalibrationError,
  calibrationPath,
  defaultCalibrationDir,
  kindKey,
  measureKind,
  readCalibration,
  type KindConfig,
  type KindTiming,
  type MachineIdentity,
} from './calibration.js';

const machine: MachineIdentity = { hostname: 'host-a', cpuModel: 'CPU X', cores: 2 };

function kind(over: Partial<KindConfig> = {}): KindConfig {
  return {
    task: 'flipflop',
    rule: 'dale',
    fidelity: 'corrected',
    backend: 'js',
    nHidden: 8,
    excFraction: 0.8,
    threshold: 0,
    nTrain: 100,
    nTest: 20,
    dataSource: null,
    dataDir: null,
    seed: 0,
    batchSize: 4,
    ...over,
  };
}

/** A measuring function that records what it was asked and returns `stepSeconds` = nHidden / 1000. */
function fakeMeasure(): { calls: string[]; measure(c: KindConfig): Promise<KindTiming> } {
  const calls: string[] = [];
  return {
    calls,
    measure: async (c) => {
      calls.push(kindKey(c));
      return { stepSeconds: c.nHidden / 1000, evalSeconds: c.nHidden / 3000, stepCpuSeconds: c.nHidden / 2000, evalCpuSeconds: c.nHidden / 6000, stepMacs: 3 * c.batchSize * 50 * c.nHidden ** 2, steps: 2, load1: 0.5, measuredAt: new Date(0).toISOString() };
    },
  };
}

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'calibration-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('the kind of a config: task, condition, backend, nHidden and batch size; not rule, seed or data size', () => {
  assert.equal(kindKey(kind()), kindKey(kind({ rule: 'conventional', seed: 4, nTrain: 5000 })));
  assert.notEqual(kindKey(kind()), kindKey(kind({ nHidden: 16 })));
  assert.notEqual(kindKey(kind()), kindKey(kind({ batchSize: 8 })));
  assert.notEqual(kindKey(kind()), kindKey(kind({ backend: 'tfjs' })));
  assert.notEqual(kindKey(kind()), kindKey(kind({ task: 'wave' })));
  const ct = (condition: string) => kind({ task: 'celltype', celltype: { condition, latentScaling: 1, data: 'synthetic', syntheticSamples: 10 } });
  assert.notEqual(kindKey(ct('familiar_change_full')), kindKey(ct('novel_change_full')));
});

test('the cache lives under XDG_CACHE_HOME (else ~/.cache) and is keyed by machine and code version', () => {
  assert.equal(defaultCalibrationDir({ XDG_CACHE_HOME: '/x/cache' }), '/x/cache/dalesweep/calibration');
  assert.match(defaultCalibrationDir({}), /\/\.cache\/dalesweep\/calibration$/);
  assert.match(defaultCalibrationDir({ XDG_CACHE_HOME: 'relative' }), /\/\.cache\/dalesweep\/calibration$/, 'a relative XDG_CACHE_HOME is ignored (XDG spec)');
  const p = calibrationPath('/c', machine, 'v1');
  assert.equal(p, calibrationPath('/c', { ...machine }, 'v1'));
  assert.notEqual(p, calibrationPath('/c', machine, 'v2'));
  assert.notEqual(p, calibrationPath('/c', { ...machine, hostname: 'host-b' }, 'v1'));
  assert.notEqual(p, calibrationPath('/c', { ...machine, cpuModel: 'CPU Y' }, 'v1'));
  assert.notEqual(p, calibrationPath('/c', { ...machine, cores: 4 }, 'v1'));
});

test('calibrate measures the missing kinds once, then reads them from the cache', async (t) => {
  const dir = tempDir(t);
  const f = fakeMeasure();
  const kinds = [kind(), kind({ rule: 'conventional' }), kind({ nHidden: 16 })];
  const first = await calibrate(kinds, { codeVersion: 'v1', dir, machine, measureKind: f.measure });
  assert.deepEqual(f.calls, [kindKey(kind()), kindKey(kind({ nHidden: 16 }))], 'one measurement per kind');
  assert.deepEqual(first.measured, f.calls);
  assert.equal(first.kinds.get(kindKey(kind({ nHidden: 16 })))?.stepSeconds, 0.016);
  assert.deepEqual(readdirSync(dir), [calibrationPath(dir, machine, 'v1').slice(dir.length + 1)], 'one file, no temporary left');

  const second = await calibrate(kinds, { codeVersion: 'v1', dir, machine, measureKind: f.measure });
  assert.equal(f.calls.length, 2, 'nothing measured again');
  assert.deepEqual(second.cached.sort(), first.measured.sort());
  assert.deepEqual(second.kinds.get(kindKey(kind()))?.stepSeconds, 0.008);

  // refresh measures again and replaces the cached timing.
  const again = await calibrate([kind()], { codeVersion: 'v1', dir, machine, refresh: true, measureKind: f.measure });
  assert.deepEqual(again.measured, [kindKey(kind())]);
  assert.equal(f.calls.length, 3);

  // A new kind is added beside the cached ones.
  await calibrate([kind({ batchSize: 8 })], { codeVersion: 'v1', dir, machine, measureKind: f.measure });
  assert.equal(Object.keys(readCalibration(calibrationPath(dir, machine, 'v1'), machine, 'v1')!.kinds).length, 3);

  // Another code version or machine does not see them.
  const other = await calibrate([kind()], { codeVersion: 'v2', dir, machine, measureKind: f.measure });
  assert.deepEqual(other.measured, [kindKey(kind())]);
  const elsewhere = await calibrate([kind()], { codeVersion: 'v1', dir, machine: { ...machine, cores: 64 }, measureKind: f.measure });
  assert.deepEqual(elsewhere.measured, [kindKey(kind())]);
});

test('without measuring (or past the time budget) the uncached kinds are reported missing', async (t) => {
  const dir = tempDir(t);
  const f = fakeMeasure();
  const none = await calibrate([kind()], { codeVersion: 'v1', dir, machine, measure: false, measureKind: f.measure });
  assert.deepEqual(none.missing, [kindKey(kind())]);
  assert.equal(f.calls.length, 0);
  assert.deepEqual(readdirSync(dir), [], 'nothing written');
  const budget = await calibrate([kind(), kind({ nHidden: 16 })], { codeVersion: 'v1', dir, machine, budgetSeconds: 0, measureKind: f.measure });
  assert.equal(budget.missing.length, 2);
  assert.equal(f.calls.length, 0);
});

test('a corrupt, truncated or foreign cache file is ignored and measured again', async (t) => {
  const dir = tempDir(t);
  const path = calibrationPath(dir, machine, 'v1');
  const f = fakeMeasure();
  await calibrate([kind()], { codeVersion: 'v1', dir, machine, measureKind: f.measure });
  const good = readFileSync(path, 'utf8');
  const variants = [
    'not json at all {',
    good.slice(0, good.length >> 1), // truncated
    JSON.stringify({ ...JSON.parse(good), machine: { ...machine, hostname: 'someone-else' } }), // copied from another machine
    JSON.stringify({ ...JSON.parse(good), version: 999 }),
    JSON.stringify({ ...JSON.parse(good), version: 1, kinds: { [kindKey(kind())]: { stepSeconds: 1, evalSeconds: 1, stepMacs: 1, steps: 1, load1: 0, measuredAt: '' } } }), // version 1: no CPU times
    JSON.stringify({ ...JSON.parse(good), kinds: { [kindKey(kind())]: { stepSeconds: 'fast' } } }), // an invalid entry
    'null',
  ];
  for (const v of variants) {
    writeFileSync(path, v);
    const before = f.calls.length;
    const c = await calibrate([kind()], { codeVersion: 'v1', dir, machine, measureKind: f.measure });
    assert.equal(f.calls.length, before + 1, `measured again after: ${v.slice(0, 40)}`);
    assert.deepEqual(c.measured, [kindKey(kind())]);
    assert.ok(readCalibration(path, machine, 'v1')?.kinds[kindKey(kind())], 'the file is valid again');
  }
});

test('a failing measurement is a CalibrationError naming the kind; nothing is cached', async (t) => {
  const dir = tempDir(t);
  await assert.rejects(
    calibrate([kind()], {
      codeVersion: 'v1',
      dir,
      machine,
      measureKind: async () => {
        throw new Error('no data');
      },
    }),
    (err: unknown) => err instanceof CalibrationError && err.kind === kindKey(kind()) && /no data/.test(err.message),
  );
  assert.deepEqual(readdirSync(dir), []);
});

test('measureKind times the real training path of a tiny model', { timeout: 60_000 }, async () => {
  const t = await measureKind(kind());
  assert.ok(t.stepSeconds > 0 && Number.isFinite(t.stepSeconds));
  assert.ok(t.evalSeconds > 0 && Number.isFinite(t.evalSeconds));
  assert.ok(t.stepCpuSeconds > 0 && t.stepCpuSeconds <= t.stepSeconds, 'CPU time per step, at most the wall time');
  assert.ok(t.evalCpuSeconds > 0 && t.evalCpuSeconds <= t.evalSeconds);
  assert.ok(t.steps >= 1 && t.steps <= 50);
  assert.equal(t.stepMacs, 3 * 4 * 50 * 8 * 8, 'B·T·N² × 3 for flip-flop (T = 50)');
  await assert.rejects(measureKind(kind({ task: 'smnist', dataSource: 'mnist', dataDir: '/nonexistent-dalesweep-dir' })));
});

test('a cache folder that cannot be written: the timings are still returned, with the reason', async (t) => {
  const dir = tempDir(t);
  const blocked = join(dir, 'file');
  writeFileSync(blocked, 'x'); // a file where the cache folder should be
  const f = fakeMeasure();
  const c = await calibrate([kind()], { codeVersion: 'v1', dir: join(blocked, 'calibration'), machine, measureKind: f.measure });
  assert.deepEqual(c.measured, [kindKey(kind())]);
  assert.match(c.cacheError ?? '', /not written: .*(ENOTDIR|EEXIST)/);
});
