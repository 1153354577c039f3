import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StageDag } from './dag.js';
import { Rng } from '../rnn/rng.js';

//   0   1
//   |\ /
//   | 2
//   |/ \
//   3   4      5 (alone)
const PARENTS = [[], [], [0, 1], [0, 2], [2], []];
const never = (): boolean => false;

test('counts parents, lists children, and releases a stage once all its parents are done', () => {
  const dag = new StageDag(6, (i) => PARENTS[i], never);
  assert.deepEqual([0, 1, 2, 3, 4, 5].map((i) => dag.waitingFor(i)), [0, 0, 2, 2, 1, 0]);
  assert.deepEqual(dag.children(0), [2, 3]);
  assert.deepEqual(dag.children(2), [3, 4]);
  assert.deepEqual(dag.ready(() => true), [0, 1, 5]);
  assert.deepEqual(dag.release(0), []);
  assert.deepEqual(dag.release(1), [2]);
  assert.deepEqual(dag.release(2), [3, 4]);
  assert.equal(dag.waitingFor(3), 0);
});

test('stages already done do not hold their children; ready skips stages the caller has closed', () => {
  const done = new Set([0, 1]);
  const dag = new StageDag(6, (i) => PARENTS[i], (i) => done.has(i));
  assert.deepEqual([0, 1, 2, 3, 4, 5].map((i) => dag.waitingFor(i)), [0, 0, 0, 1, 1, 0]);
  assert.deepEqual(dag.ready((i) => !done.has(i)), [2, 5]);
});

test('a repeated parent counts twice, and fromFlat reads a skeleton’s flat parent lists', () => {
  const dag = StageDag.fromFlat([0, 0, 2, 3], [0, 0, 1], never);
  assert.equal(dag.n, 3);
  assert.equal(dag.waitingFor(1), 2);
  assert.deepEqual(dag.release(0), [1]);
  assert.deepEqual(dag.release(1), [2]);
  assert.throws(() => new StageDag(2, (i) => (i === 1 ? [2] : []), never), /stage 1 names parent 2, outside 0..1/);
});

test('skipDescendants closes every open descendant once, depth first, and stops at closed ones', () => {
  const dag = new StageDag(6, (i) => PARENTS[i], never);
  const closed = new Set<number>();
  const order: number[] = [];
  const open = (c: number): boolean => !closed.has(c);
  const skip = (c: number): void => {
    closed.add(c);
    order.push(c);
  };
  dag.skipDescendants(0, open, skip);
  // Children of 0 are [2, 3]; the stack pops 3 first, then 2 and its children (3 already closed, then 4).
  assert.deepEqual(order, [3, 2, 4]);
  order.length = 0;
  closed.clear();
  closed.add(2); // e.g. already succeeded: the walk stops there, so 4 is not reached
  dag.skipDescendants(0, open, skip);
  assert.deepEqual(order, [3]);
});

/** Deterministic pseudo-random numbers in [0, 1) for the simulation (the project's seeded Rng). */
function rand(seed: number): () => number {
  const g = new Rng(seed, 'test');
  return () => g.uniform();
}

test('simulated runs of random DAGs: a stage runs only after all its parents succeeded, and is skipped exactly when an ancestor failed', () => {
  for (let seed = 1; seed <= 200; seed++) {
    const r = rand(seed);
    const n = 1 + Math.floor(r() * 30);
    const parents = Array.from({ length: n }, (_, i) => {
      const ps: number[] = [];
      for (let p = 0; p < i; p++) if (r() < 0.15) ps.push(p);
      return ps;
    });
    const fails = new Set(Array.from({ length: n }, (_, i) => i).filter(() => r() < 0.1));
    const cached = new Set(Array.from({ length: n }, (_, i) => i).filter((i) => !fails.has(i) && r() < 0.2));
    const state: string[] = Array.from({ length: n }, (_, i) => (cached.has(i) ? 'C' : '.'));
    const dag = new StageDag(n, (i) => parents[i], (i) => cached.has(i));
    const open = (i: number): boolean => state[i] === '.';
    const queue = dag.ready(open);
    while (queue.length) {
      const i = queue.splice(Math.floor(r() * queue.length), 1)[0]; // any order of completion
      if (!open(i)) continue;
      for (const p of parents[i]) assert.ok(state[p] === 'S' || state[p] === 'C', `seed ${seed}: stage ${i} ran before parent ${p} (${state[p]})`);
      if (fails.has(i)) {
        state[i] = 'F';
        dag.skipDescendants(i, open, (c) => void (state[c] = 'K'));
      } else {
        state[i] = 'S';
        for (const c of dag.release(i)) if (open(c)) queue.push(c);
      }
    }
    // Expected: skipped iff a non-cached ancestor fails (cached stages are done whatever their parents).
    const failedAncestor = (i: number, seen = new Set<number>()): boolean =>
      parents[i].some((p) => !seen.has(p) && (seen.add(p), (fails.has(p) && !cached.has(p)) || (!cached.has(p) && failedAncestor(p, seen))));
    for (let i = 0; i < n; i++) {
      if (cached.has(i)) assert.equal(state[i], 'C');
      else if (failedAncestor(i)) assert.equal(state[i], 'K', `seed ${seed}: stage ${i}`);
      else assert.equal(state[i], fails.has(i) ? 'F' : 'S', `seed ${seed}: stage ${i}`);
    }
  }
});
