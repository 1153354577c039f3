import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  canonicalJson,
  canonicalJsonOfMembers,
  CanonicalJsonError,
  canonicalMembers,
  hashJson,
  sha256Hex,
  sortStrings,
  stageId,
  stageIdentityText,
  sweepIdOf,
} from './identity.js';

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

test('pinned identities: stage and sweep ids of fixed inputs never change', () => {
  assert.equal(stageId('noop', { kind: 'noop', index: 1, sleepMs: 0 }, ['a', 'b'], 'v1'), '2395de77cf1028cee6342805b0fd6aacb892202f8908b06de1ce69b2e1f04b71');
  assert.equal(sweepIdOf('n', ['b', 'a']), '99edbd7464e735a79cc69e309755b3490f2a310deacc69bca154035992a0d7dc');
});

test('stage ids hash the canonical JSON of {kind, config, parents, codeVersion}', () => {
  const config = { kind: 'noop' as const, index: 7, sleepMs: 0.5, fail: true };
  assert.equal(stageIdentityText('noop', canonicalJson(config), ['p1', 'p"2'], 'cv'), canonicalJson({ kind: 'noop', config, parents: ['p1', 'p"2'], codeVersion: 'cv' }));
  assert.equal(stageId('noop', config, [], 'cv'), hashJson({ parents: [], codeVersion: 'cv', config, kind: 'noop' }));
});

test('canonical JSON of members: the union of two disjoint objects, as canonicalJson of their spread', () => {
  const a = { task: 'wave', seed: 3, nested: { z: [1, -0], a: null }, gone: undefined, é: 'x' };
  const b = { kind: 'train', lr: 1e-3, zz: false, A: 'upper' };
  assert.equal(canonicalJsonOfMembers(canonicalMembers(a), canonicalMembers(b)), canonicalJson({ ...a, ...b }));
  assert.equal(canonicalJsonOfMembers(canonicalMembers({}), canonicalMembers(b)), canonicalJson(b));
  assert.equal(canonicalJsonOfMembers(canonicalMembers({}), canonicalMembers({})), '{}');
  assert.throws(() => canonicalJsonOfMembers(canonicalMembers({ seed: 1 }), canonicalMembers({ seed: 2 })), CanonicalJsonError);
  assert.throws(() => canonicalMembers({ a: { b: NaN } }), /a\.b: NaN/);
});

test('canonical JSON: key lists that join to the same text are told apart', () => {
  assert.equal(canonicalJson({ a: 1, b: 2 }), '{"a":1,"b":2}');
  assert.equal(canonicalJson({ 'a\0b': 1 }), '{"a\\u0000b":1}');
  assert.equal(canonicalJson({ 'a\0b': 1, c: 2 }), '{"a\\u0000b":1,"c":2}');
  assert.equal(canonicalJson({ a: 1, 'b\0c': 2 }), '{"a":1,"b\\u0000c":2}');
});

test('sortStrings orders like Array.prototype.sort, with and without its bucket path', () => {
  const rnd = (n: number): number => Math.floor(Math.random() * n);
  const alphabet = ['0', '9', 'a', 'f', 'A', '', 'é', 'ÿ', '\0', '~'];
  const word = (): string => Array.from({ length: rnd(5) }, () => alphabet[rnd(alphabet.length)]).join('');
  for (const n of [0, 5, 2000, 20_000]) {
    const xs = Array.from({ length: n }, word);
    assert.deepEqual(sortStrings(xs), [...xs].sort(), `n = ${n}`);
  }
  const wide = [...Array.from({ length: 3000 }, word), 'ā', 'aā', '😀'];
  assert.deepEqual(sortStrings(wide), [...wide].sort());
  const ids = Array.from({ length: 5000 }, (_, i) => sha256Hex(String(i)));
  assert.deepEqual(sortStrings(ids), [...ids].sort());
});

test('sweepIdOf hashes the canonical JSON of {name, stages: sorted ids}, however many ids', () => {
  const ids = Array.from({ length: 20_000 }, (_, i) => sha256Hex(`stage ${i}`));
  assert.equal(sweepIdOf('big "sweep"', ids), hashJson({ name: 'big "sweep"', stages: [...ids].sort() }));
  assert.equal(sweepIdOf('empty', []), hashJson({ name: 'empty', stages: [] }));
});
