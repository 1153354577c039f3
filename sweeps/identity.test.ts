import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalJson, CanonicalJsonError, hashJson, stageId, sweepIdOf } from './identity.js';

test('canonical JSON sorts keys at every depth and normalises numbers', () => {
  assert.equal(canonicalJson({ b: 1, a: { d: [1, { z: 0, y: -0 }], c: 'x' } }), '{"a":{"c":"x","d":[1,{"y":0,"z":0}]},"b":1}');
  assert.equal(canonicalJson({ lr: 1e-3 }), canonicalJson({ lr: 0.001 }));
  assert.equal(canonicalJson(1.0), '1');
  assert.equal(canonicalJson({ a: undefined, b: null }), '{"b":null}');
  assert.equal(canonicalJson('é"\n'), JSON.stringify('é"\n'));
});

test('canonical JSON rejects values that are not JSON', () => {
  assert.throws(() => canonicalJson({ a: NaN }), CanonicalJsonError);
  assert.throws(() => canonicalJson({ a: [Infinity] }), /a\[0\]/);
  assert.throws(() => canonicalJson([undefined]), CanonicalJsonError);
  assert.throws(() => canonicalJson({ f: () => 1 }), CanonicalJsonError);
});

test('stage ids depend on kind, config, parent order and code version', () => {
  const cfg = { kind: 'noop' as const, index: 1, sleepMs: 0 };
  const id = stageId('noop', cfg, ['a', 'b'], 'v1');
  assert.match(id, /^[0-9a-f]{64}$/);
  assert.equal(id, stageId('noop', { sleepMs: 0, index: 1, kind: 'noop' }, ['a', 'b'], 'v1'));
  assert.notEqual(id, stageId('noop', cfg, ['b', 'a'], 'v1'));
  assert.notEqual(id, stageId('noop', cfg, ['a', 'b'], 'v2'));
  assert.notEqual(id, stageId('noop', { ...cfg, index: 2 }, ['a', 'b'], 'v1'));
  assert.equal(hashJson({ x: 1 }), hashJson({ x: 1.0 }));
  assert.equal(sweepIdOf('n', ['b', 'a']), sweepIdOf('n', ['a', 'b']));
  assert.notEqual(sweepIdOf('n', ['a']), sweepIdOf('m', ['a']));
});
