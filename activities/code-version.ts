/**
 * The model-code version that goes into every stage identity: a hash of the compiled code that
 * computes stage results (model, tasks, data readers, pruning, MST, stage runners). Any change to
 * that code changes every stage id, so results computed by different code never mix.
 *
 * What is hashed is the code's token stream (acorn's tokenizer over the emitted JavaScript), not
 * its bytes: comments, whitespace and line breaks do not count, so editing a comment or
 * reformatting a file in `rnn/` keeps every stored stage, while any change to a token (a number,
 * a name, an operator, a string) changes the version. The kernels' arithmetic (fused multiply-add
 * or not, rnn/model-js-simd.ts) is hashed too: it changes result bits as code does.
 */
import { createHash, type Hash } from 'node:crypto';
import { readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { threadId } from 'node:worker_threads';
import { kernelArithmetic, type Arithmetic } from '../rnn/model-js-simd.js';

/** Folders (relative to the compiled root) whose code determines stage results. */
const RESULT_CODE_DIRS = ['rnn', 'tasks', 'data', 'io', 'celltype'];
/** Single files (relative to the compiled root) that also do. */
const RESULT_CODE_FILES = [
  'activities/run-stage.js',
  'activities/stage-context.js',
  'activities/model-stages.js',
  'activities/model-setup.js',
  'activities/stored-model.js',
  'activities/stage-train.js',
  'activities/stage-prune.js',
  'activities/stage-evaluate.js',
  'activities/checkpoint.js',
];

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

/**
 * Feeds the tokens of an ES module's source into `h`, each as its text and a separator: what the
 * code is, without its comments and layout.
 * @throws SyntaxError (acorn's) when the source does not tokenize
 */
export function hashTokens(h: Hash, source: string): void {
  // Loaded on first use only: most processes find the version in the cache.
  const { tokenizer } = createRequire(import.meta.url)('acorn') as typeof import('acorn');
  for (const t of tokenizer(source, { ecmaVersion: 'latest', sourceType: 'module' })) {
    h.update(source.slice(t.start, t.end));
    h.update('\0');
  }
}

/** The result-determining files under `root`: path relative to it (`/`-separated) and bytes. */
function resultFiles(root: string): { rel: string; bytes: Buffer }[] {
  const out: { rel: string; bytes: Buffer }[] = [];
  for (const d of RESULT_CODE_DIRS) {
    for (const f of listJs(join(root, d))) out.push({ rel: relative(root, f).split(sep).join('/'), bytes: readFileSync(f) });
  }
  for (const rel of RESULT_CODE_FILES) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(join(root, rel));
    } catch {
      continue; // not part of this build
    }
    out.push({ rel, bytes });
  }
  return out;
}

/** Name of the cache file in the compiled root: `{ "bytes": <hash of the files' bytes>, "version": <code version> }`. */
export const CODE_VERSION_CACHE = '.code-version.json';

/**
 * Hex sha256 (first 16 chars) of the result-determining compiled code under `root` (a `dist/`
 * folder): the path and token stream of each file, and the kernels' arithmetic `arith`
 * (default: this process's, {@link kernelArithmetic}). Tokenizing takes a few hundred ms, so the
 * result is cached in `root/.code-version.json` under a hash of the files' exact bytes: any
 * byte change (a rebuild) misses the cache and tokenizes again; a read-only root just recomputes.
 */
export function codeVersionOf(root: string, arith: Arithmetic = kernelArithmetic()): string {
  const files = resultFiles(root);
  const raw = createHash('sha256');
  raw.update(`arithmetic ${arith}\u0001`);
  for (const f of files) raw.update(f.rel).update('\0').update(f.bytes).update('\u0001');
  const bytesHash = raw.digest('hex');
  const cacheFile = join(root, CODE_VERSION_CACHE);
  try {
    const c = JSON.parse(readFileSync(cacheFile, 'utf8')) as { bytes?: unknown; version?: unknown };
    if (c.bytes === bytesHash && typeof c.version === 'string') return c.version;
  } catch {
    // no cache yet, or unreadable: computed below
  }
  const h = createHash('sha256');
  h.update(`arithmetic ${arith}\u0001`);
  for (const f of files) {
    h.update(f.rel).update('\0');
    hashTokens(h, f.bytes.toString('utf8'));
    h.update('\u0001');
  }
  const version = h.digest('hex').slice(0, 16);
  const tmp = `${cacheFile}.${process.pid}.${threadId}.tmp`;
  try {
    writeFileSync(tmp, JSON.stringify({ bytes: bytesHash, version }) + '\n');
    renameSync(tmp, cacheFile);
  } catch {
    // A read-only build: the cache is only a speed-up, so the next process recomputes.
    rmSync(tmp, { force: true });
  }
  return version;
}

/** {@link codeVersionOf} this build's compiled root; cached per process. */
export function codeVersion(): string {
  cached ??= codeVersionOf(fileURLToPath(new URL('..', import.meta.url)));
  return cached;
}
