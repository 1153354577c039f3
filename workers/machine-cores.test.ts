import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MachineCores, STALE_MS, defaultMachineCoresDir } from './machine-cores.js';

function withRegistry(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'dalesweep-machine-cores-'));
  try {
    fn(join(dir, 'registry'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('pools publish their running stages; each sees the machine total and the stages ranked before its own', () => {
  withRegistry((dir) => {
    const a = new MachineCores(dir);
    const b = new MachineCores(dir); // made later in this process: ranked after a
    a.publish(2);
    b.publish(1);
    assert.deepEqual(a.stages(2), { before: 0, total: 3 });
    assert.deepEqual(b.stages(1), { before: 2, total: 3 });
    // A process with a lower pid (this one's parent, alive) is ranked before both.
    writeFileSync(join(dir, `${process.ppid}-7`), '4');
    if (process.ppid < process.pid) assert.deepEqual(a.stages(2), { before: 4, total: 7 });
    else assert.deepEqual(a.stages(2), { before: 0, total: 7 });
    // Files that are not entries, or hold no positive count, count as nothing.
    writeFileSync(join(dir, 'README'), 'x');
    writeFileSync(join(dir, `${process.ppid}-8`), 'garbage');
    assert.equal(b.stages(1).total, 7);
    // Publishing 0 (and close) removes the entry.
    a.publish(0);
    assert.equal(b.stages(1).total, 5);
    b.close();
    assert.ok(!readdirSync(dir).some((n) => n.startsWith(`${process.pid}-`)));
  });
});

test('entries of processes that are gone are ignored and removed', () => {
  withRegistry((dir) => {
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const deadPid = Number(gone.stdout);
    assert.ok(deadPid > 0);
    const a = new MachineCores(dir);
    writeFileSync(join(dir, `${deadPid}-1`), '3');
    assert.deepEqual(a.stages(1), { before: 0, total: 1 });
    assert.ok(!existsSync(join(dir, `${deadPid}-1`)), 'the dead process\'s entry was not removed');
  });
});

test('an entry is rewritten whole: readers see the last count', () => {
  withRegistry((dir) => {
    const a = new MachineCores(dir);
    for (const n of [1, 3, 2]) a.publish(n);
    const mine = readdirSync(dir).filter((n) => n.startsWith(`${process.pid}-`));
    assert.equal(mine.length, 1);
    assert.equal(readFileSync(join(dir, mine[0]), 'utf8'), '2');
    a.close();
  });
});

test('the default registry is per user, in the OS temp folder', () => {
  assert.ok(defaultMachineCoresDir().startsWith(tmpdir()));
  assert.match(defaultMachineCoresDir(), /dalesweep-cores-/);
});

test('entries not rewritten for STALE_MS (a pid reused by another program) are ignored and removed', () => {
  withRegistry((dir) => {
    const a = new MachineCores(dir);
    const entry = join(dir, `${process.ppid}-3`); // a live pid
    writeFileSync(entry, '2');
    assert.equal(a.stages(1).total, 3);
    const old = (Date.now() - STALE_MS - 5_000) / 1000;
    utimesSync(entry, old, old);
    assert.equal(a.stages(1).total, 1);
    assert.ok(!existsSync(entry));
  });
});
