/**
 * A sweep end to end against the real S3 server (MinIO, `bash infra/minio.sh start`): `run`
 * writes every artifact and the results under an S3 prefix, a re-run finds everything complete,
 * `status` and `report --png` read the sweep back from S3. Credentials come from the standard
 * AWS environment variables and never appear in the output.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../store/open.js';
import { cli, writeTinySweep, s3TestStore } from './test-support.js';

const SKIP = process.env.DALESWEEP_SKIP_S3 === '1' ? 'DALESWEEP_SKIP_S3=1: needs MinIO (bash infra/minio.sh start)' : undefined;

test('run, re-run, status and report on an S3 store', { skip: SKIP, timeout: 300_000 }, async (t) => {
  const { url, env } = s3TestStore('cli');
  const dir = mkdtempSync(join(tmpdir(), 'cli-s3-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const spec = writeTinySweep(join(dir, 's3.yaml'), { name: 'on-s3', seeds: [0, 1] });
  const r1 = cli(['run', spec, '--store', url, '--json', '--concurrency', '2'], env);
  assert.equal(r1.status, 0, r1.stderr);
  const done1 = JSON.parse(r1.stdout.trim().split('\n').at(-1)!) as { stages: number; ran: number; resultsCsv: string };
  assert.equal(done1.ran, done1.stages);
  assert.match(done1.resultsCsv, /^s3:\/\//);
  // (The test access key id is the word 'dalesweep', which the output contains anyway.)
  const secret = env.AWS_SECRET_ACCESS_KEY;
  if (secret) assert.ok(!r1.stdout.includes(secret) && !r1.stderr.includes(secret), 'the secret key is never printed');

  const store = await openStore(url, { env });
  const keys = await store.list('');
  assert.ok(keys.some((k) => /^stages\/[0-9a-f]{64}\/manifest\.json$/.test(k)));
  assert.ok(keys.some((k) => /^sweeps\/on-s3-[0-9a-f]{12}\/results\.csv$/.test(k)));
  assert.ok(keys.some((k) => /^sweeps\/on-s3-[0-9a-f]{12}\/report\.html$/.test(k)));
  assert.ok(!keys.some((k) => k.startsWith('checkpoints/') && k.endsWith('.ckpt')), 'no checkpoint left behind');

  const r2 = cli(['run', spec, '--store', url, '--json'], env);
  assert.equal(r2.status, 0, r2.stderr);
  const done2 = JSON.parse(r2.stdout.trim().split('\n').at(-1)!) as { ran: number; cached: number; stages: number };
  assert.equal(done2.ran, 0, 'everything was already complete');

  const st = cli(['status', 'on-s3', '--store', url, '--json'], env);
  assert.equal(st.status, 0, st.stderr);
  const s = JSON.parse(st.stdout) as { total: number; complete: number };
  assert.equal(s.complete, s.total);

  const pngDir = join(dir, 'png');
  const rep = cli(['report', 'on-s3', '--store', url, '--png', pngDir, '--json'], env);
  assert.equal(rep.status, 0, rep.stderr);
  assert.ok(readdirSync(pngDir).filter((f) => f.endsWith('.png')).length >= 2);
});
