import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toCsv, type ResultTableRow } from './results-table.js';

const rows: ResultTableRow[] = [
  { params: { task: 'flipflop', rule: 'dale', seed: 0, note: 'a,"b"' }, stageId: 'aa', stageIds: ['x', 'aa'], status: 'succeeded', metrics: { testLoss: 0.5 } },
  { params: { task: 'wave', rule: 'dale', seed: 1, sparsity: 0.9 }, stageId: 'bb', stageIds: ['y', 'bb'], status: 'failed', reason: 'loss diverged\nat epoch 2', metrics: { testLoss: null, kept: 3 } },
];

test('CSV has leading columns first, one line per row, and RFC 4180 quoting', () => {
  const csv = toCsv(rows);
  const [header] = csv.split('\n');
  assert.equal(header, 'task,rule,sparsity,seed,note,status,reason,kept,testLoss,stage_id');
  assert.ok(csv.includes('"a,""b"""'), 'quotes and commas are escaped');
  assert.ok(csv.includes('"loss diverged\nat epoch 2"'), 'newlines inside a quoted cell');
  assert.ok(csv.includes('flipflop,dale,,0,"a,""b""",succeeded,,,0.5,aa'), 'missing values are empty cells');
});

test('non-finite metrics are written as pandas reads them', () => {
  const csv = toCsv([{ params: { task: 't' }, stageId: 's', stageIds: ['s'], status: 'succeeded', metrics: { a: Number.NaN, b: Number.POSITIVE_INFINITY } }]);
  assert.ok(csv.trimEnd().endsWith('t,succeeded,,NaN,inf,s'));
});
