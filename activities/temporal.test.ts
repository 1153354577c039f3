/** The plan skeleton the sweep workflow schedules from, and plan parsing errors (no server). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/activity';
import { noopPlan } from '../engines/temporal-testing.js';
import { PLAN_INVALID } from '../workflows/types.js';
import { parsePlan, planSkeleton } from './temporal.js';

test('planSkeleton encodes kinds, queues, parents by index and completeness', () => {
  const plan = noopPlan(5, { codeVersion: 'v', parents: (i) => (i === 3 ? [0, 1] : i === 4 ? [3] : []), queue: (i) => (i % 2 ? 'gpu' : 'cpu') });
  const sk = planSkeleton(plan, new Set([plan.stages[1].id]));
  assert.equal(sk.n, 5);
  assert.deepEqual(sk.kindNames, ['noop']);
  assert.deepEqual(sk.queueNames, ['cpu', 'gpu']);
  assert.deepEqual(sk.queue, [0, 1, 0, 1, 0]);
  assert.deepEqual(sk.parentsStart, [0, 0, 0, 0, 2, 3]);
  assert.deepEqual(sk.parentsFlat, [0, 1, 3]);
  assert.equal(sk.complete, '01000');
});

test('planSkeleton rejects a parent missing from the plan as a non-retryable PlanInvalid', () => {
  const plan = noopPlan(2, { codeVersion: 'v', parents: (i) => (i === 1 ? [0] : []) });
  plan.stages[1].parents = ['f'.repeat(64)];
  assert.throws(() => planSkeleton(plan, new Set()), (e: unknown) => e instanceof ApplicationFailure && e.type === PLAN_INVALID && e.nonRetryable && /unknown parent/.test(e.message));
});

test('parsePlan names the key when the bytes are not a plan', () => {
  const bad = new TextEncoder().encode('{"stages": 3}');
  assert.throws(() => parsePlan(bad, 'sweeps/x/plan.json'), (e: unknown) => e instanceof ApplicationFailure && e.type === PLAN_INVALID && /sweeps\/x\/plan.json/.test(e.message));
  assert.throws(() => parsePlan(new TextEncoder().encode('nope'), 'k'), (e: unknown) => e instanceof ApplicationFailure && /not JSON/.test(e.message));
  const plan = noopPlan(1, { codeVersion: 'v' });
  assert.deepEqual(parsePlan(new TextEncoder().encode(JSON.stringify(plan)), 'k'), plan);
});
