import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsStore } from './fs.js';
import { storeContractTests } from './contract-testing.js';
import { TEMP_INFIX } from './layout.js';
import { StoreKeyError, StoreWriteError } from './types.js';

const fresh = (): FsStore => new FsStore(mkdtempSync(join(tmpdir(), 'dalesweep-fs-')));

storeContractTests('fs', async () => fresh());

test('fs: objects are files under the root; url is file://; no temporary files are left', async () => {
  const s = fresh();
  await s.put('stages/ab/x.bin', new Uint8Array([1, 2]));
  assert.ok(s.url.startsWith('file:///'));
  assert.deepEqual(readdirSync(join(s.root, 'stages', 'ab')), ['x.bin']);
  assert.equal(s.filePath('stages/ab/x.bin'), join(s.root, 'stages', 'ab', 'x.bin'));
});

test('fs: temporary files of an interrupted write are not listed', async () => {
  const s = fresh();
  mkdirSync(join(s.root, 'a'), { recursive: true });
  writeFileSync(join(s.root, 'a', `.x${TEMP_INFIX}123-abc`), 'partial');
  await s.put('a/y', new Uint8Array([1]));
  assert.deepEqual(await s.list(''), ['a/y']);
});

test('fs: concurrent writes of one key leave one whole object', async () => {
  const s = fresh();
  const versions = [0, 1, 2, 3, 4, 5].map((v) => new Uint8Array(256 * 1024).fill(v));
  await Promise.all(versions.map((v) => s.put('k', v)));
  const got = await s.get('k');
  assert.equal(got.byteLength, 256 * 1024);
  assert.ok(got.every((b) => b === got[0]), 'torn write');
  assert.deepEqual(readdirSync(s.root), ['k']);
});

test('fs: the default root is ./runs', () => {
  assert.equal(new FsStore().root, join(process.cwd(), 'runs'));
});

test('fs: a symbolic link inside the store is never followed outside its root', async () => {
  const s = fresh();
  const outside = mkdtempSync(join(tmpdir(), 'dalesweep-outside-'));
  writeFileSync(join(outside, 'secret'), 'outside');
  mkdirSync(join(s.root, 'stages'), { recursive: true });
  symlinkSync(outside, join(s.root, 'stages', 'linked'));
  symlinkSync(join(outside, 'secret'), join(s.root, 'file-link'));
  await assert.rejects(s.get('stages/linked/secret'), (e: unknown) => e instanceof StoreKeyError && /symbolic link/.test(e.message));
  await assert.rejects(s.get('file-link'), StoreKeyError);
  await assert.rejects(s.put('stages/linked/new', new Uint8Array([1])), StoreKeyError);
  await assert.rejects(s.putIfAbsent('stages/linked/new', new Uint8Array([1])), StoreKeyError);
  await assert.rejects(s.exists('stages/linked/secret'), StoreKeyError);
  await assert.rejects(s.delete('stages/linked/secret'), StoreKeyError);
  assert.deepEqual(await s.list(''), [], 'linked folders and files are not listed');
  assert.deepEqual(readdirSync(outside), ['secret'], 'nothing was written outside');
  assert.equal(readFileSync(join(outside, 'secret'), 'utf8'), 'outside');
  // A link that stays inside the root is fine, and so is a root that is itself a link.
  const viaLink = join(mkdtempSync(join(tmpdir(), 'dalesweep-link-')), 'root');
  symlinkSync(s.root, viaLink);
  await s.put('a/b', new Uint8Array([2]));
  assert.deepEqual(await new FsStore(viaLink).get('a/b'), new Uint8Array([2]));
  rmSync(outside, { recursive: true, force: true });
});

test('fs: temporary files of dead writers are removed, those of live ones and objects are kept', async () => {
  const s = fresh();
  await s.put('a/keep', new Uint8Array([1]));
  const deadPid = 2 ** 22 + 777; // above pid_max: no such process
  const { createHash } = await import('node:crypto');
  const { hostname } = await import('node:os');
  const tag = createHash('sha256').update(hostname()).digest('hex').slice(0, 8);
  writeFileSync(join(s.root, 'a', `.x${TEMP_INFIX}${tag}-${deadPid}-abc123`), 'partial');
  writeFileSync(join(s.root, 'a', `.y${TEMP_INFIX}${deadPid}-abc123`), 'partial, older naming');
  writeFileSync(join(s.root, 'a', `.z${TEMP_INFIX}${tag}-${process.pid}-abc123`), 'being written');
  writeFileSync(join(s.root, 'a', `.w${TEMP_INFIX}0badc0de-${process.pid}-abc123`), 'another host, recent');
  writeFileSync(join(s.root, 'a', `.v${TEMP_INFIX}0badc0de-1-abc123`), 'another host, two days old');
  const old = new Date(Date.now() - 2 * 24 * 3600 * 1000);
  utimesSync(join(s.root, 'a', `.v${TEMP_INFIX}0badc0de-1-abc123`), old, old);
  assert.equal(await s.removeStaleTemporaries(), 3);
  assert.deepEqual(readdirSync(join(s.root, 'a')).sort(), [`.w${TEMP_INFIX}0badc0de-${process.pid}-abc123`, `.z${TEMP_INFIX}${tag}-${process.pid}-abc123`, 'keep'].sort());
});

test('fs: a full disk is one StoreWriteError naming the file; no partial object or temporary file is left', async (t) => {
  const mnt = mkdtempSync(join(tmpdir(), 'dalesweep-tmpfs-'));
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mnt], { encoding: 'utf8' });
  if (m.status !== 0) {
    t.skip(`cannot mount a small tmpfs here (needs root): ${(m.stderr || m.error?.message || '').trim()}`);
    return;
  }
  try {
    const s = new FsStore(join(mnt, 'runs'));
    await s.put('small', new Uint8Array(1000));
    await assert.rejects(s.put('stages/abc/big.bin', new Uint8Array(1024 * 1024)), (e: unknown) => {
      return e instanceof StoreWriteError && e.message.includes(join(mnt, 'runs', 'stages', 'abc', 'big.bin')) && /no space left/.test(e.message) && !e.message.includes('\n');
    });
    await assert.rejects(s.putIfAbsent('stages/abc/big2.bin', new Uint8Array(1024 * 1024)), StoreWriteError);
    assert.deepEqual(readdirSync(join(mnt, 'runs', 'stages', 'abc')), [], 'no partial object, no temporary file');
    assert.equal(existsSync(join(mnt, 'runs', 'small')), true);
  } finally {
    spawnSync('umount', [mnt]);
    rmSync(mnt, { recursive: true, force: true });
  }
});
