/**
 * The model-code version that goes into every stage identity: a hash of the compiled code that
 * computes stage results (model, tasks, data readers, pruning, MST, stage runners). Any change to
 * that code changes every stage id, so results computed by different code never mix.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Folders (relative to the compiled root) whose code determines stage results. */
const RESULT_CODE_DIRS = ['rnn', 'tasks', 'data', 'io', 'celltype'];
/** Single files (relative to the compiled root) that also do. */
const RESULT_CODE_FILES = ['activities/run-stage.js', 'activities/stage-context.js', 'activities/model-stages.js', 'activities/checkpoint.js'];

let cached: string | null = null;

function listJs(dir: string): string[] {
  let out: string[] = [];
  let entries: string[];
  try {
    entries = readdirSync(dir).sort();
  } catch {
    return out; // folder absent in this build: contributes nothing
  }
  for (const name of entries) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out = out.concat(listJs(p));
    else if (name.endsWith('.js') && !name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

/** Hex sha256 (first 16 chars) of the result-determining compiled code; cached per process. */
export function codeVersion(): string {
  if (cached) return cached;
  const root = fileURLToPath(new URL('..', import.meta.url));
  const h = createHash('sha256');
  for (const d of RESULT_CODE_DIRS) {
    for (const f of listJs(join(root, d))) {
      h.update(f.slice(root.length));
      h.update('\0');
      h.update(readFileSync(f));
    }
  }
  for (const rel of RESULT_CODE_FILES) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(join(root, rel));
    } catch {
      continue; // not part of this build
    }
    h.update(rel);
    h.update('\0');
    h.update(bytes);
  }
  cached = h.digest('hex').slice(0, 16);
  return cached;
}
