/**
 * S3 store against a real MinIO server (`bash infra/minio.sh start && eval "$(bash infra/minio.sh env)"`).
 * Without DALESWEEP_TEST_S3_ENDPOINT these tests fail with instructions, unless
 * DALESWEEP_SKIP_S3=1 is set explicitly (then they are skipped, visibly).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { DeleteBucketCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { S3Store, StoreAccessError, StoreAuthError, type S3StoreOptions } from './s3.js';
import { openStore } from './open.js';
import { storeContractTests } from './contract-testing.js';
import { StoreKeyError, StoreNotFoundError } from './types.js';

const SKIP = process.env.DALESWEEP_SKIP_S3 === '1' ? 'DALESWEEP_SKIP_S3=1: S3 store tests skipped (they need MinIO: bash infra/minio.sh start)' : undefined;
const ENDPOINT = process.env.DALESWEEP_TEST_S3_ENDPOINT;
const BUCKET = process.env.DALESWEEP_TEST_S3_BUCKET ?? 'dalesweep-test';
const RUN = randomBytes(4).toString('hex');
const opened: S3Store[] = [];

function base(): S3StoreOptions {
  if (!ENDPOINT) {
    throw new Error(
      'DALESWEEP_TEST_S3_ENDPOINT is not set: start MinIO with `bash infra/minio.sh start && eval "$(bash infra/minio.sh env)"` (or set DALESWEEP_SKIP_S3=1 to skip the S3 tests)',
    );
  }
  const id = process.env.DALESWEEP_TEST_S3_ACCESS_KEY;
  const secret = process.env.DALESWEEP_TEST_S3_SECRET_KEY;
  return {
    bucket: BUCKET,
    endpoint: ENDPOINT,
    region: 'us-east-1',
    forcePathStyle: true,
    ...(id && secret ? { credentials: { accessKeyId: id, secretAccessKey: secret } } : {}),
  };
}

let n = 0;
async function fresh(extra: Partial<S3StoreOptions> = {}): Promise<S3Store> {
  const s = new S3Store({ ...base(), prefix: `test-${RUN}/${n++}`, ...extra });
  opened.push(s);
  await s.check(true);
  return s;
}

const createdBuckets: string[] = [];

// Remove what this run wrote (objects under test-<run>/, the bucket the create test made).
after(async () => {
  if (SKIP || !ENDPOINT) return;
  const root = new S3Store({ ...base(), prefix: `test-${RUN}` });
  for (const k of await root.list('')) await root.delete(k);
  for (const b of createdBuckets) {
    const s = new S3Store({ ...base(), bucket: b });
    for (const k of await s.list('')) await s.delete(k);
    await s.client.send(new DeleteBucketCommand({ Bucket: b }));
    s.destroy();
  }
  root.destroy();
  for (const s of opened) s.destroy();
});

storeContractTests('s3', () => fresh(), { skip: SKIP });

test('s3: list pages through more keys than one page holds (ContinuationToken)', { skip: SKIP }, async () => {
  const s = await fresh({ listPageSize: 7 });
  const keys = Array.from({ length: 40 }, (_, i) => `p/k${String(i).padStart(3, '0')}`);
  await Promise.all(keys.map((k) => s.put(k, new Uint8Array([1]))));
  await s.put('q/other', new Uint8Array([1]));
  assert.deepEqual(await s.list('p/'), keys);
  assert.equal((await s.list('')).length, 41);
});

test('s3: objects above the threshold go up in parts (multipart) and come back whole', { skip: SKIP }, async () => {
  const s = await fresh({ multipartThreshold: 5 * 1024 * 1024, partSize: 5 * 1024 * 1024 });
  const big = new Uint8Array(11 * 1024 * 1024 + 123);
  for (let i = 0; i < big.length; i += 4096) big[i] = (i / 4096) & 255;
  await s.put('big/blob.bin', big);
  const head = await s.client.send(new HeadObjectCommand({ Bucket: s.bucket, Key: `${s.prefix}big/blob.bin` }));
  assert.match(head.ETag ?? '', /-3"?$/, `ETag ${head.ETag} is not a 3-part multipart ETag`);
  const back = await s.get('big/blob.bin');
  assert.equal(back.byteLength, big.byteLength);
  assert.ok(Buffer.from(back).equals(Buffer.from(big)));
});

test('s3: wrong credentials give StoreAuthError without showing them', { skip: SKIP }, async () => {
  const secret = `wrong-${RUN}-secret`;
  const s = new S3Store({ ...base(), prefix: `test-${RUN}/auth`, credentials: { accessKeyId: 'dalesweep', secretAccessKey: secret }, maxAttempts: 1 });
  opened.push(s);
  for (const op of [() => s.check(), () => s.put('x', new Uint8Array([1])), () => s.get('x'), () => s.list('')]) {
    await assert.rejects(op(), (e: unknown) => {
      assert.ok(e instanceof StoreAuthError, String(e));
      assert.match(e.message, /rejected the credentials/);
      assert.ok(!e.message.includes(secret));
      return true;
    });
  }
});

test('s3: a missing bucket is reported; createBucket=true creates it', { skip: SKIP }, async () => {
  const bucket = `dalesweep-missing-${RUN}`;
  createdBuckets.push(bucket);
  const s = new S3Store({ ...base(), bucket });
  opened.push(s);
  await assert.rejects(s.check(), (e: unknown) => e instanceof StoreNotFoundError && e.message.includes(bucket) && /createBucket=true/.test(e.message));
  const creds = base().credentials;
  if (!creds) {
    const url = `s3://${bucket}/x?endpoint=${ENDPOINT}&pathStyle=true&createBucket=true`;
    const st = await openStore(url);
    await st.put('k', new Uint8Array([1]));
    assert.equal(await st.exists('k'), true);
  } else {
    await s.check(true);
    await s.put('k', new Uint8Array([1]));
    assert.equal(await s.exists('k'), true);
  }
});

test('s3: keys and prefixes cannot escape the store prefix', { skip: SKIP }, async () => {
  const s = await fresh();
  await assert.rejects(s.put('../outside', new Uint8Array([1])), StoreKeyError);
  assert.throws(() => new S3Store({ ...base(), prefix: 'a/../b' }), StoreKeyError);
});

// Needs no server: the connection itself fails, and each operation says so in one line.
test('s3: an unreachable endpoint is a StoreAccessError naming it and the reason, after a few quick attempts', async () => {
  const credentials = { accessKeyId: 'AKIDTEST', secretAccessKey: 'unreachable-secret-value' };
  const cases = [
    // Port 1 (tcpmux) on loopback: nothing listens there on a test machine.
    { endpoint: 'http://127.0.0.1:1', reason: 'connection refused', quick: true },
    // .invalid never resolves (RFC 2606); how fast depends on the machine's resolver.
    { endpoint: 'http://no-such-host.invalid:9000', reason: /host not found|host name lookup failed/, quick: false },
  ];
  for (const c of cases) {
    const s = new S3Store({ bucket: 'bkt', prefix: 'p', endpoint: c.endpoint, forcePathStyle: true, credentials });
    const t0 = Date.now();
    for (const [op, call] of [
      ['open', () => s.check()],
      ['get', () => s.get('k')],
      ['put', () => s.put('k', new Uint8Array([1]))],
      ['list', () => s.list('')],
    ] as const) {
      await assert.rejects(call(), (e: unknown) => {
        assert.ok(e instanceof StoreAccessError, `${op}: ${String(e)}`);
        assert.ok(e.message.startsWith(`${op} s3://bkt/p/`), e.message);
        assert.ok(e.message.includes(`cannot reach the S3 endpoint ${c.endpoint} (`), e.message);
        if (typeof c.reason === 'string') assert.ok(e.message.endsWith(`(${c.reason})`), e.message);
        else assert.match(e.message, c.reason);
        assert.ok(!e.message.includes(credentials.secretAccessKey) && !e.message.includes('\n'));
        return true;
      });
    }
    if (c.quick) assert.ok(Date.now() - t0 < 10_000, `${c.endpoint}: gave up after ${Date.now() - t0} ms`);
    s.destroy();
  }
});
