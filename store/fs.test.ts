import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsStore } from './fs.js';
import { storeContractTests } from './contract-testing.js';
import { TEMP_INFIX } from './layout.js';

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
