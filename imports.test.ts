/**
 * The import order of the source folders (README, Development: "Import order"): every compiled
 * module under `dist/` may import only its own folder and folders below it in that order, and no
 * two modules may import each other through a cycle. Reads the compiled JavaScript with
 * es-module-lexer (static `import`/`export … from`, and dynamic `import()` of a string literal);
 * type-only imports are gone from the emitted code, so they do not count. Test files (`*.test.js`)
 * and `bench/` are exempt: they may reach across layers to drive and measure the real thing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { init, parse } from 'es-module-lexer';

const DIST = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(DIST, '..');
/** Folders exempt from the order (they may import any folder; nothing may import them). */
const EXEMPT = new Set(['bench']);
/** Not source: never walked. */
const SKIP = new Set(['node_modules', 'testdata']);

/**
 * The allowed order, top first, as written in the README line that starts with
 * `Import order:` (folder names in backticks, separated by `→`). The package root's own files
 * (e.g. `index.js`) sit above every folder.
 */
export function readImportOrder(readme: string): string[] {
  const line = readme.split('\n').find((l) => /Import order:/.test(l));
  if (!line) throw new Error('README.md has no "Import order:" line');
  const names = [...line.matchAll(/`([a-z-]+)\/?`/g)].map((m) => m[1]);
  if (names.length < 2) throw new Error(`README.md: the "Import order:" line names ${names.length} folders`);
  return names;
}

function listJs(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (SKIP.has(name)) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...listJs(p));
    // Only modules compiled from a source that still exists (a moved file leaves its old .js).
    else if (name.endsWith('.js') && existsSync(join(ROOT, relative(DIST, p)).replace(/\.js$/, '.ts'))) out.push(p);
  }
  return out;
}

/** `activities/run-stage.js` → `activities`; a file at the root → `''`. */
function folderOf(rel: string): string {
  const i = rel.indexOf('/');
  return i < 0 ? '' : rel.slice(0, i);
}

interface Edge {
  from: string;
  to: string;
  /** The specifier as written. */
  spec: string;
}

/** Relative imports between compiled modules (paths relative to dist/, `/`-separated). */
async function importEdges(): Promise<{ files: string[]; edges: Edge[] }> {
  await init;
  const files = listJs(DIST).map((f) => relative(DIST, f).split(sep).join('/'));
  const edges: Edge[] = [];
  for (const rel of files) {
    const [imports] = parse(readFileSync(join(DIST, rel), 'utf8'), rel);
    for (const imp of imports) {
      const spec = imp.n;
      if (spec === undefined || !(spec.startsWith('./') || spec.startsWith('../'))) continue; // packages, node: builtins, non-literal import()
      const to = relative(DIST, resolve(DIST, dirname(rel), spec)).split(sep).join('/');
      edges.push({ from: rel, to, spec });
    }
  }
  return { files, edges };
}

const isTest = (rel: string): boolean => rel.endsWith('.test.js');

test('the README states an import order naming every source folder once (folders of tests only need not be named)', () => {
  const order = readImportOrder(readFileSync(join(ROOT, 'README.md'), 'utf8'));
  assert.equal(new Set(order).size, order.length, `a folder appears twice: ${order.join(' → ')}`);
  const folders = readdirSync(ROOT).filter((d) => !d.startsWith('.') && statSync(join(ROOT, d)).isDirectory() && existsSync(join(DIST, d)) && listJs(join(DIST, d)).some((f) => !isTest(f)) && !EXEMPT.has(d));
  const missing = folders.filter((d) => !order.includes(d));
  assert.deepEqual(missing, [], `compiled folders missing from the README's import order: ${missing.join(', ')}`);
});

test('every module imports only its own folder or folders below it, and no test or bench code', async () => {
  const order = readImportOrder(readFileSync(join(ROOT, 'README.md'), 'utf8'));
  const rank = (folder: string): number => (folder === '' ? -1 : order.indexOf(folder));
  const { edges } = await importEdges();
  const bad: string[] = [];
  for (const e of edges) {
    const a = folderOf(e.from);
    const b = folderOf(e.to);
    if (isTest(e.from) || EXEMPT.has(a)) continue;
    if (isTest(e.to) || EXEMPT.has(b)) {
      bad.push(`${e.from} imports '${e.spec}' (test or bench code)`);
      continue;
    }
    if (a === b) continue;
    if (b === '') bad.push(`${e.from} imports '${e.spec}': the package root is above every folder`);
    else if (rank(b) < 0) bad.push(`${e.from} imports '${e.spec}': folder ${b} is not in the README's import order`);
    else if (rank(b) <= rank(a)) bad.push(`${e.from} imports '${e.spec}': ${b}/ is above ${a}/ in the import order`);
  }
  assert.deepEqual(bad, [], `imports against the order:\n  ${bad.join('\n  ')}`);
});

test('no import cycle between modules (test and bench files aside)', async () => {
  const { files, edges } = await importEdges();
  const nodes = files.filter((f) => !isTest(f) && !EXEMPT.has(folderOf(f)));
  const out = new Map<string, Edge[]>(nodes.map((f) => [f, []]));
  for (const e of edges) if (out.has(e.from) && out.has(e.to)) out.get(e.from)!.push(e);
  // Depth-first search; a back edge closes a cycle, reported as the chain of imports.
  const state = new Map<string, 1 | 2>();
  const stack: Edge[] = [];
  const cycles: string[] = [];
  const visit = (f: string): void => {
    state.set(f, 1);
    for (const e of out.get(f)!) {
      const s = state.get(e.to);
      if (s === 1) {
        const start = stack.findIndex((x) => x.from === e.to);
        const chain = [...stack.slice(start < 0 ? stack.length : start), e];
        cycles.push(chain.map((x) => `${x.from} imports '${x.spec}'`).join(', '));
      } else if (s === undefined) {
        stack.push(e);
        visit(e.to);
        stack.pop();
      }
    }
    state.set(f, 2);
  };
  for (const f of nodes) if (!state.has(f)) visit(f);
  assert.deepEqual(cycles, [], `import cycles:\n  ${cycles.join('\n  ')}`);
});
