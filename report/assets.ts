/**
 * Static assets inlined into the self-contained report: chart.js's UMD build, read from
 * node_modules (chart.js v4 ships dist/chart.umd.min.js and dist/chart.umd.js; neither is in the
 * package's `exports`, so the directory is found through the resolvable CommonJS entry).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** The chart.js UMD build could not be found or read. */
export class AssetError extends Error {
  override name = 'AssetError';
}

let cached: string | null = null;

/** Path of chart.js's UMD build (minified when present). */
export function chartJsPath(): string {
  const require = createRequire(import.meta.url);
  let entry: string;
  try {
    entry = require.resolve('chart.js'); // .../chart.js/dist/chart.cjs
  } catch (e) {
    throw new AssetError(`cannot resolve the chart.js package (is it installed in node_modules?): ${(e as Error).message}`);
  }
  for (const name of ['chart.umd.min.js', 'chart.umd.js']) {
    const p = join(dirname(entry), name);
    if (existsSync(p)) return p;
  }
  throw new AssetError(`chart.js UMD build not found next to ${entry} (expected chart.umd.min.js or chart.umd.js)`);
}

/**
 * chart.js UMD source, safe to place inside an inline `<script>` element (every `</script`
 * is written `<\/script`, which is the same text inside a JS string, regexp or comment).
 */
export function chartJsSource(): string {
  if (cached === null) cached = readFileSync(chartJsPath(), 'utf8').replace(/<\/(script)/gi, '<\\/$1');
  return cached;
}
