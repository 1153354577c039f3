import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { codeVersion, codeVersionOf } from './code-version.js';
import { planSweep } from '../sweeps/plan.js';
import { parseSpec } from '../sweeps/spec.js';

const DIST = fileURLToPath(new URL('..', import.meta.url));

/** A copy of the result-determining compiled folders, to edit. */
function copyOfBuild(): string {
  const root = mkdtempSync(join(tmpdir(), 'dalesweep-codeversion-'));
  for (const d of ['rnn', 'tasks', 'data', 'io', 'celltype', 'activities']) cpSync(join(DIST, d), join(root, d), { recursive: true });
  return root;
}

const QUICK = parseSpec(readFileSync(fileURLToPath(new URL('../../sweeps/quick.yaml', import.meta.url)), 'utf8'), 'sweeps/quick.yaml');
const stageIds = (codeVersion: string): string[] => planSweep(QUICK, { codeVersion }).stages.map((s) => s.id);

test('the code version of this build is that of its compiled root, 16 hex digits', () => {
  assert.match(codeVersion(), /^[0-9a-f]{16}$/);
  assert.equal(codeVersion(), codeVersionOf(DIST));
});

test('comment-only and layout-only edits of the model code keep the code version and every stage id; a code edit changes both', () => {
  const root = copyOfBuild();
  try {
    const before = codeVersionOf(root);
    assert.equal(before, codeVersion());
    const file = join(root, 'rnn', 'optim.js');
    const src = readFileSync(file, 'utf8');
    // Comments of every form, blank lines and re-indentation (the file has no multi-line strings).
    const lines = src.split('\n').map((l) => (l.endsWith(';') ? `  ${l} // a line comment` : l.endsWith('{') ? `${l} /* a block comment */` : l));
    const commented = `/** A new file comment. */\n${lines.join('\n\n')}\n`;
    writeFileSync(file, commented);
    const afterComments = codeVersionOf(root);
    assert.equal(afterComments, before);
    assert.deepEqual(stageIds(afterComments), stageIds(before));
    // A change of one number in the code (not in a comment).
    const m = /\b0\.9\b/.exec(src);
    assert.ok(m, 'rnn/optim.js has the literal 0.9 (Adam beta1)');
    writeFileSync(file, src.slice(0, m.index) + '0.91' + src.slice(m.index + 3));
    const afterCode = codeVersionOf(root);
    assert.notEqual(afterCode, before);
    assert.notDeepEqual(stageIds(afterCode), stageIds(before));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('the kernels\' arithmetic is part of the code version: fused and unfused multiply-adds give different stage ids', () => {
  const fma = codeVersionOf(DIST, 'fma');
  const mulAdd = codeVersionOf(DIST, 'mul-add');
  assert.notEqual(fma, mulAdd);
  assert.match(mulAdd, /^[0-9a-f]{16}$/);
  assert.equal(codeVersionOf(DIST, 'fma'), fma); // served from the cache, still per arithmetic
  assert.notDeepEqual(stageIds(fma), stageIds(mulAdd));
});
