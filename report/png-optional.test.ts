import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const DIST = fileURLToPath(new URL('..', import.meta.url));

test('without playwright-core (an optional dependency), PNG export fails with one line saying how to install it', async () => {
  // The compiled report and error modules, copied where no node_modules can be found.
  const root = mkdtempSync(join(tmpdir(), 'dalesweep-noplaywright-'));
  try {
    for (const d of ['report', 'errors']) cpSync(join(DIST, d), join(root, d), { recursive: true });
    writeFileSync(join(root, 'package.json'), '{"type":"module"}\n');
    const png = (await import(pathToFileURL(join(root, 'report', 'png.js')).href)) as typeof import('./png.js');
    // Any existing file passes the Chromium check, so the failure is the missing package.
    await assert.rejects(png.launchChromium(process.execPath), (err: unknown) => {
      assert.ok(err instanceof png.PngExportError);
      assert.equal(err.exitCode, 1);
      assert.match(err.message, /optional package playwright-core, which is not installed: run 'npm install playwright-core'/);
      return true;
    });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
