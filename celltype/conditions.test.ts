import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CELLTYPE_CONDITIONS, CelltypeConditionError, conditionSteps, parseCondition } from './conditions.js';

test('12 condition names; full T = 15, half T = 7', () => {
  assert.equal(CELLTYPE_CONDITIONS.length, 12);
  assert.ok(CELLTYPE_CONDITIONS.includes('familiar_change_full'));
  assert.ok(CELLTYPE_CONDITIONS.includes('novel_no_change_half'));
  assert.deepEqual(parseCondition('novel_no_change_half'), { file: 'novel_no_change', window: 'half', familiarity: 'novel', event: 'no_change' });
  assert.equal(conditionSteps('familiar_omission_full'), 15);
  assert.equal(conditionSteps('familiar_omission_half'), 7);
  assert.throws(() => parseCondition('familiar_change'), CelltypeConditionError);
  assert.throws(() => parseCondition('familiar_surprise_full'), /unknown cell-type condition 'familiar_surprise_full'.*familiar_change_full/);
});
