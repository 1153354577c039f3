import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeNpy, readNpySync } from '../io/npy.js';
import { cli, daleMatrix, withDir, type CliResult } from './test-support.js';

test('prune writes the pruned matrix (same dtype) and one JSON line with the achieved sparsity', () => {
  withDir('cli-prune-', (dir) => {
    for (const [method, f64] of [
      ['top-prob', false],
      ['random', true],
    ] as const) {
      const w = daleMatrix(dir, `w-${method}.npy`, 64, f64);
      const out = join(dir, `p-${method}.npy`);
      const r = cli(['prune', '--weights', w, '--method', method, '--sparsity', '0.8', '--seed', '4', '--excitatory-fraction', '0.8', '--out', out]);
      assert.equal(r.status, 0, r.stderr);
      const lines = r.stdout.trim().split('\n');
      assert.equal(lines.length, 1);
      const j = JSON.parse(lines[0]) as Record<string, number | string | number[]>;
      assert.equal(j.method, method);
      assert.equal(j.seed, 4);
      assert.deepEqual(j.shape, [64, 64]);
      assert.equal(j.targetSparsity, 0.8);
      assert.ok(Math.abs((j.achievedSparsity as number) - 0.8) < 4 * Math.sqrt(0.16 / 4096), `achieved ${j.achievedSparsity}`);
      assert.equal((j.keptExcitatory as number) + (j.keptInhibitory as number), j.kept);
      const p = readNpySync(out);
      assert.equal(p.dtype, f64 ? 'float64' : 'float32');
      assert.deepEqual(p.shape, [64, 64]);
      const wd = readNpySync(w).data as Float32Array;
      let zeros = 0;
      (p.data as Float32Array).forEach((v, k) => {
        if (v === 0) zeros++;
        else assert.equal(v, wd[k], 'kept weights unchanged');
      });
      assert.equal(zeros / 4096, j.achievedSparsity);
    }
    assert.deepEqual(readdirSync(dir).filter((f) => f.includes('tmp')), [], 'no temporary files left');
    // Same seed, same output.
    const w = join(dir, 'w-top-prob.npy');
    const a = cli(['prune', '--weights', w, '--method', 'top-prob', '--sparsity', '0.5', '--seed', '9', '--out', join(dir, 'a.npy')]);
    const b = cli(['prune', '--weights', w, '--method', 'top-prob', '--sparsity', '0.5', '--seed', '9', '--out', join(dir, 'b.npy')]);
    assert.equal(a.status, 0);
    assert.equal(b.status, 0);
    assert.deepEqual(readNpySync(join(dir, 'a.npy')).data, readNpySync(join(dir, 'b.npy')).data);
  });
});

test('prune and mst reject bad input with exit 2 naming the problem', () => {
  withDir('cli-prune-', (dir) => {
    const good = daleMatrix(dir, 'good.npy', 16);
    const out = join(dir, 'out.npy');
    const write = (name: string, bytes: Uint8Array | string): string => {
      writeFileSync(join(dir, name), bytes);
      return join(dir, name);
    };
    const header = (descr: string, shape: string, body: number): Uint8Array => {
      const h = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
      const total = Math.ceil((10 + h.length + 1) / 64) * 64;
      const bytes = new Uint8Array(total + body);
      bytes.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
      new DataView(bytes.buffer).setUint16(8, total - 10, true);
      const text = h + ' '.repeat(total - 10 - h.length - 1) + '\n';
      for (let i = 0; i < text.length; i++) bytes[10 + i] = text.charCodeAt(i);
      return bytes;
    };
    const cases: [string, string[], RegExp][] = [
      ['missing file', ['--weights', join(dir, 'nope.npy')], /--weights: file not found: .*nope\.npy/],
      ['not .npy', ['--weights', write('text.npy', 'just text, no magic')], /text\.npy: not a \.npy file/],
      ['int dtype', ['--weights', write('int.npy', encodeNpy({ data: new Int32Array(16), shape: [4, 4] }))], /int\.npy: dtype int32 is not supported, expected a float32 or float64/],
      ['complex dtype', ['--weights', write('complex.npy', header('<c8', '(2, 2)', 32))], /complex\.npy: unsupported dtype '<c8'/],
      ['string dtype', ['--weights', write('str.npy', header('<U3', '(2,)', 24))], /str\.npy: unsupported dtype '<U3'/],
      ['1-D', ['--weights', write('vec.npy', encodeNpy({ data: new Float32Array(5), shape: [5] }))], /vec\.npy: expected a 2-D matrix/],
      ['truncated', ['--weights', write('trunc.npy', encodeNpy({ data: new Float32Array(16), shape: [4, 4] }).subarray(0, 150))], /trunc\.npy: truncated data/],
      ['sparsity 1', ['--weights', good, '--sparsity', '1'], /--sparsity must be a number in \[0, 1\), got '1'/],
      ['sparsity negative', ['--weights', good, '--sparsity', '-0.1'], /--sparsity must be a number in \[0, 1\)/],
      ['sparsity text', ['--weights', good, '--sparsity', 'half'], /--sparsity must be a number in \[0, 1\), got 'half'/],
      ['non-square with E fraction', ['--weights', write('rect.npy', encodeNpy({ data: new Float32Array(12).fill(0.5), shape: [3, 4] })), '--excitatory-fraction', '0.8'], /needs a square recurrent matrix.*\(3, 4\)/],
      ['Dale violation', ['--weights', good, '--excitatory-fraction', '0.5'], /violate Dale's law/],
      ['out in a missing directory', ['--weights', good, '--out', join(dir, 'no', 'such', 'p.npy')], /--out: directory .*no[/\\]such does not exist/],
    ];
    for (const [name, args, msg] of cases) {
      const full = ['prune', '--method', 'top-prob', '--sparsity', '0.5', ...(args.includes('--out') ? [] : ['--out', out]), ...args];
      const r = cli(full);
      assert.equal(r.status, 2, `${name}: status ${r.status}, stderr ${r.stderr}`);
      assert.match(r.stderr, msg, name);
    }
    const badMethod = cli(['prune', '--weights', good, '--method', 'magnitude', '--sparsity', '0.5', '--out', out]);
    assert.equal(badMethod.status, 2);
    assert.match(badMethod.stderr, /--method/);
    assert.deepEqual(readdirSync(dir).filter((f) => f === 'out.npy' || f.includes('tmp')), [], 'nothing written on failure');

    const otherShape = write('other.npy', encodeNpy({ data: new Float32Array(12).fill(1), shape: [3, 4] }));
    const mismatch = cli(['mst', '--weights', good, '--pruned', otherShape]);
    assert.equal(mismatch.status, 2);
    assert.match(mismatch.stderr, /--pruned .*other\.npy has shape \(3, 4\) but --weights .*good\.npy has shape \(16, 16\)/);
    const missing = cli(['mst', '--weights', join(dir, 'gone.npy')]);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /file not found/);
  });
});

test('prune --out writes only a new path or a regular file: a symlink, FIFO, directory or /dev/null is refused (exit 2)', () => {
  withDir('cli-prune-out-', (dir) => {
    const w = daleMatrix(dir, 'w.npy', 16);
    const prune = (out: string): CliResult => cli(['prune', '--weights', w, '--method', 'random', '--sparsity', '0.5', '--out', out]);

    // A regular file is replaced (atomically: no temporary file is left beside it).
    const regular = join(dir, 'regular.npy');
    writeFileSync(regular, 'old contents');
    const ok = prune(regular);
    assert.equal(ok.status, 0, ok.stderr);
    assert.deepEqual(readNpySync(regular).shape, [16, 16]);

    const target = join(dir, 'target.txt');
    writeFileSync(target, 'keep me');
    const link = join(dir, 'link.npy');
    symlinkSync(target, link);
    const dangling = join(dir, 'dangling.npy');
    symlinkSync(join(dir, 'nowhere.npy'), dangling);
    const fifo = join(dir, 'fifo.npy');
    const mk = spawnSync('mkfifo', [fifo]);
    assert.equal(mk.status, 0, `mkfifo: ${String(mk.stderr)}`);
    const folder = join(dir, 'folder.npy');
    mkdirSync(folder);
    for (const [out, kind] of [
      [link, 'a symbolic link'],
      [dangling, 'a symbolic link'],
      [fifo, 'a FIFO \\(named pipe\\)'],
      [folder, 'a directory'],
      ['/dev/null', 'a device file'],
    ] as const) {
      const r = prune(out);
      assert.equal(r.status, 2, `${out}: ${r.stderr}`);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`^dalesweep: --out: ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is ${kind}; expected a regular file or a new path`));
    }
    assert.ok(lstatSync(link).isSymbolicLink() && readFileSync(target, 'utf8') === 'keep me', 'the link and its target are untouched');
    assert.ok(lstatSync(dangling).isSymbolicLink() && !existsSync(join(dir, 'nowhere.npy')));
    assert.ok(lstatSync(fifo).isFIFO(), 'the FIFO is still a FIFO');
    assert.ok(statSync('/dev/null').isCharacterDevice(), '/dev/null is still a device');
    assert.deepEqual(readdirSync(dir).filter((f) => f.includes('tmp')), [], 'no temporary files left');
  });
});
