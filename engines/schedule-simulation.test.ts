import { test } from 'node:test';
import assert from 'node:assert/strict';
import { simulateSchedule, type ScheduleStage } from './schedule-simulation.js';

const S = (id: string, ...parents: string[]): ScheduleStage => ({ id, parents });

test('simulateSchedule: a known DAG gives its makespan, critical path and work', () => {
  // a(3) -> d(4); b(2), c(1.5) -> e(1)
  const stages = [S('a'), S('b'), S('c'), S('d', 'a'), S('e', 'b', 'c')];
  const d = [3, 2, 1.5, 4, 1];
  const one = simulateSchedule(stages, d, 1);
  assert.deepEqual(one, { makespan: 11.5, criticalPath: 7, work: 11.5 });
  // Two slots: a 0-3, b 0-2, c 2-3.5, d 3-7, e 3.5-4.5.
  assert.equal(simulateSchedule(stages, d, 2).makespan, 7);
  assert.equal(simulateSchedule(stages, d, 100).makespan, 7, 'unlimited slots: the critical path');
});

test('simulateSchedule takes ready stages first in, first out, as the local engine does', () => {
  // x(1), y(1), z(5) on two slots: z waits for a slot (6), whereas z first would give 5.
  assert.equal(simulateSchedule([S('x'), S('y'), S('z')], [1, 1, 5], 2).makespan, 6);
  assert.equal(simulateSchedule([S('z'), S('x'), S('y')], [5, 1, 1], 2).makespan, 5);
  // A child queues behind stages that were ready before it ended.
  // p(1) -> q(1); r(2), s(2) ready from the start; one slot: p r s q = 6, q last.
  assert.equal(simulateSchedule([S('p'), S('r'), S('s'), S('q', 'p')], [1, 2, 2, 1], 1).makespan, 6);
  // Two slots: p 0-1, r 0-2, s 1-3 (ahead of q), q 2-3.
  assert.equal(simulateSchedule([S('p'), S('r'), S('s'), S('q', 'p')], [1, 2, 2, 1], 2).makespan, 3);
});

test('simulateSchedule: empty plan, zero durations, and invalid input', () => {
  assert.deepEqual(simulateSchedule([], [], 3), { makespan: 0, criticalPath: 0, work: 0 });
  assert.equal(simulateSchedule([S('a'), S('b', 'a')], [0, 0], 1).makespan, 0);
  assert.throws(() => simulateSchedule([S('a', 'b'), S('b')], [1, 1], 1), RangeError);
  assert.throws(() => simulateSchedule([S('a')], [-1], 1), RangeError);
  assert.throws(() => simulateSchedule([S('a')], [1], 0), RangeError);
});
