import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { UsageError } from '../errors/errors.js';
import { FsStore } from '../store/fs.js';
import { dataDirFlag, positiveInt, positiveNumber, temporalAddressOption } from './options.js';
import { localPathOf, locationOf } from './store-location.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dalesweep-options-'));
});
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const usage = (pattern: RegExp) => (e: unknown) => e instanceof UsageError && pattern.test(e.message);

test('positive integer and number parsers name their flag and the bad value', () => {
  assert.equal(positiveInt('--threads')('4'), 4);
  for (const bad of ['0', '-2', '1.5', 'x', '']) assert.throws(() => positiveInt('--threads')(bad), usage(new RegExp(`^--threads must be a positive integer, got '${bad}'$`)));
  assert.equal(positiveNumber('--every')('0.25'), 0.25);
  for (const bad of ['0', '-1', 'Infinity', 'NaN']) assert.throws(() => positiveNumber('--every')(bad), usage(/^--every must be a positive number/));
});

test('--data: absent gives no override; the directory must exist and be one', async () => {
  assert.deepEqual(dataDirFlag(undefined), {});
  assert.deepEqual(dataDirFlag(dir), { dataDir: resolve(dir) });
  assert.throws(() => dataDirFlag('  '), usage(/^--data needs a directory$/));
  assert.throws(() => dataDirFlag(join(dir, 'missing')), usage(/does not exist$/));
  await writeFile(join(dir, 'file'), 'x');
  assert.throws(() => dataDirFlag(join(dir, 'file')), usage(/is not a directory$/));
});

test('--temporal-address takes HOST:PORT (default 127.0.0.1:7233) and rejects anything else', () => {
  const parse = (args: string[]): string => {
    const cmd = new Command().exitOverride().addOption(temporalAddressOption());
    cmd.parse(args, { from: 'user' });
    return cmd.opts<{ temporalAddress: string }>().temporalAddress;
  };
  const saved = process.env.DALESWEEP_TEMPORAL_ADDRESS;
  delete process.env.DALESWEEP_TEMPORAL_ADDRESS;
  try {
    assert.equal(parse([]), '127.0.0.1:7233');
    assert.equal(parse(['--temporal-address', 'temporal.local:7000']), 'temporal.local:7000');
    assert.throws(() => parse(['--temporal-address', 'temporal.local']), usage(/^--temporal-address must be HOST:PORT, got 'temporal.local'$/));
  } finally {
    if (saved !== undefined) process.env.DALESWEEP_TEMPORAL_ADDRESS = saved;
  }
});

test('a key\u2019s location: its path in a filesystem store, else its URL', () => {
  const fs = new FsStore(dir);
  assert.equal(localPathOf(fs, 'sweeps/a/report.html'), join(resolve(dir), 'sweeps/a/report.html'));
  assert.equal(locationOf(fs, 'sweeps/a/report.html'), join(resolve(dir), 'sweeps/a/report.html'));
  const s3 = { url: 's3://bucket/prefix/' } as FsStore;
  assert.equal(localPathOf(s3, 'k'), null);
  assert.equal(locationOf(s3, 'sweeps/a/report.html'), 's3://bucket/prefix/sweeps/a/report.html');
});
