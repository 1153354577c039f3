import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { UsageError } from '../errors/errors.js';
import { FsStore } from './fs.js';
import { fileUrlPath, openStore, parseS3Url, StoreUrlError } from './open.js';
import { sweepKeys, stageDir, validateKey } from './layout.js';
import { StoreKeyError } from './types.js';

test('paths and file:// URLs open filesystem stores', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'dalesweep-open-'));
  const a = await openStore(dir);
  const b = await openStore(pathToFileURL(dir).href);
  assert.ok(a instanceof FsStore && b instanceof FsStore);
  assert.equal(a.root, dir);
  assert.equal(b.root, dir);
  assert.equal(a.url, pathToFileURL(dir).href);
  const rel = await openStore('./runs');
  assert.ok(rel instanceof FsStore && rel.root === join(process.cwd(), 'runs'));
});

test('file: URLs must be absolute and local: file:relative, file:/x, file://host/x are StoreUrlErrors (exit 2)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'dalesweep-open-'));
  const local = await openStore(`file://localhost${pathToFileURL(dir).pathname}`);
  assert.ok(local instanceof FsStore && local.root === dir);
  assert.equal(fileUrlPath('file:///data/my%20runs'), '/data/my runs');
  for (const [u, says] of [
    ['file:relative/dir', /must be absolute; expected file:\/\/\/absolute\/path/],
    ['file:./runs', /must be absolute/],
    ['file:/abs/path', /must be absolute/],
    ['file://host/path', /host "host": a file: URL must name a local path/],
    ['file://', /no folder given/],
    ['file:///', /no folder given/],
    ['file:///abs?x=1', /no \?query or #fragment/],
    ['file:///abs/%2Fx', /expected file:\/\/\/absolute\/path/],
  ] as const) {
    await assert.rejects(openStore(u), (e: unknown) => e instanceof StoreUrlError && e instanceof UsageError && e.message.startsWith(`store URL ${u}: `) && says.test(e.message), u);
  }
});

test('s3 URLs: bucket, prefix, endpoint, region, path style; env endpoints honoured', () => {
  const o = parseS3Url('s3://my-bucket/runs/exp1?endpoint=http://127.0.0.1:9000&region=eu-west-1&pathStyle=true', {});
  assert.deepEqual(o, { bucket: 'my-bucket', prefix: 'runs/exp1', endpoint: 'http://127.0.0.1:9000', region: 'eu-west-1', forcePathStyle: true, createBucket: false });
  const aws = parseS3Url('s3://b-1/', {});
  assert.deepEqual([aws.endpoint, aws.region, aws.forcePathStyle, aws.prefix], [undefined, 'us-east-1', false, '']);
  const env = parseS3Url('s3://bkt/p', { AWS_ENDPOINT_URL: 'http://h:1', AWS_ENDPOINT_URL_S3: 'http://s3:2', AWS_REGION: 'ap-south-1' });
  assert.deepEqual([env.endpoint, env.region, env.forcePathStyle], ['http://s3:2', 'ap-south-1', true]);
  assert.equal(parseS3Url('s3://bkt/p', { AWS_ENDPOINT_URL: 'http://h:1' }).endpoint, 'http://h:1');
  assert.equal(parseS3Url('s3://bkt/p?endpoint=http://q:3', { AWS_ENDPOINT_URL_S3: 'http://s3:2' }).endpoint, 'http://q:3');
  assert.equal(parseS3Url('s3://bkt/p?pathStyle=false', { AWS_ENDPOINT_URL_S3: 'http://s3:2' }).forcePathStyle, false);
});

test('malformed store URLs are usage errors (exit 2) and never echo credentials', async () => {
  const bad = [
    's3://',
    's3://UPPER/x',
    's3://bkt/x?foo=1',
    's3://bkt/x?pathStyle=maybe',
    's3://bkt/x?endpoint=ftp://h',
    'gs://bkt/x',
    '',
  ];
  for (const u of bad) await assert.rejects(openStore(u, { env: {} }), (e: unknown) => e instanceof StoreUrlError && e instanceof UsageError, u);
  await assert.rejects(openStore('s3://AKIA:topsecret@bkt/x', { env: {} }), (e: unknown) => e instanceof StoreUrlError && !e.message.includes('topsecret'));
  await assert.rejects(openStore('s3://bkt/x?endpoint=http://u:topsecret@h:1', { env: {} }), (e: unknown) => e instanceof StoreUrlError && !e.message.includes('topsecret'));
});

test('layout: stage and sweep keys', () => {
  const id = 'a'.repeat(64);
  assert.equal(stageDir(id), `stages/${id}/`);
  assert.throws(() => stageDir('../x'), StoreKeyError);
  const k = sweepKeys('quick', '0123456789abcdef');
  assert.equal(k.dir, 'sweeps/quick-0123456789ab/');
  assert.equal(k.resultsCsv, 'sweeps/quick-0123456789ab/results.csv');
  assert.throws(() => sweepKeys('../x', '0123456789abcdef'), StoreKeyError);
  assert.throws(() => validateKey('a/../b'), StoreKeyError);
  validateKey('stages/x/y.json');
});
