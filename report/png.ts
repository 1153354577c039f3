/**
 * PNG export of every chart of a rendered report, through a real headless Chromium driven by
 * playwright-core (no bundled browser: the system's Chromium, `/usr/bin/chromium` by default, or
 * $CHROMIUM_PATH; `scripts/install-chromium.sh` installs Debian's package when missing).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, LaunchOptions } from 'playwright-core';
import { RunFailedError } from '../errors/errors.js';

/** PNG export failed (message says which file or chart); the CLI prints it as one line, exit 1. */
export class PngExportError extends RunFailedError {
  override name = 'PngExportError';
}

/** Options of {@link exportPngs}. */
export interface PngOptions {
  /** Image width in pixels. */
  width: number;
  /** Image height in pixels. */
  height: number;
  /** Chromium executable. @default $CHROMIUM_PATH, else /usr/bin/chromium */
  executablePath?: string;
  /** Page load timeout (ms). @default 60000 */
  timeoutMs?: number;
}

/** The Chromium binary used: `explicit`, else $CHROMIUM_PATH, else /usr/bin/chromium. */
export function chromiumPath(explicit?: string): string {
  const p = explicit ?? process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!existsSync(p)) throw new PngExportError(`Chromium not found at ${p}: set CHROMIUM_PATH or run scripts/install-chromium.sh`);
  return p;
}

/**
 * playwright-core, an optional dependency (only PNG export needs it), loaded on first use.
 * @throws PngExportError saying how to install it when it is absent
 */
async function loadPlaywright(): Promise<typeof import('playwright-core')> {
  try {
    return await import('playwright-core');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') {
      throw new PngExportError("PNG export needs the optional package playwright-core, which is not installed: run 'npm install playwright-core' in the dalesweep folder (the HTML report itself needs nothing more)");
    }
    throw err;
  }
}

/** Launches headless Chromium the way the report tools need it (`--no-sandbox`: we may run as root). */
export async function launchChromium(executablePath?: string): Promise<Browser> {
  const opts: LaunchOptions = { executablePath: chromiumPath(executablePath), headless: true, args: ['--no-sandbox'] };
  const { chromium } = await loadPlaywright();
  return chromium.launch(opts);
}

/** What the report page exposes (see report/html.ts). */
interface ReportWindow {
  __dalesweepReady?: boolean;
  __dalesweepCharts?: Record<string, { options: { devicePixelRatio?: number }; resize(w: number, h: number): void; canvas: { toDataURL(type: string): string } }>;
}

/**
 * Loads the report at `htmlPath` in headless Chromium, redraws every chart at width × height
 * (device pixel ratio 1) and writes `<outDir>/<chart-id>.png`.
 * @returns the written file paths, in page order.
 */
export async function exportPngs(htmlPath: string, outDir: string, opts: PngOptions): Promise<string[]> {
  const { width, height } = opts;
  for (const [name, v] of [['width', width], ['height', height]] as const) {
    if (!Number.isInteger(v) || v < 1 || v > 8000) throw new PngExportError(`${name} must be an integer in [1, 8000], got ${v}`);
  }
  const abs = resolve(htmlPath);
  if (!existsSync(abs)) throw new PngExportError(`report file not found: ${abs}`);
  await mkdir(outDir, { recursive: true });
  const browser = await launchChromium(opts.executablePath);
  try {
    const page = await browser.newPage({ viewport: { width: Math.max(width + 100, 1280), height: Math.max(height + 100, 800) }, deviceScaleFactor: 1 });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(pathToFileURL(abs).href, { waitUntil: 'load', timeout: opts.timeoutMs ?? 60000 });
    await page.waitForFunction(() => (globalThis as unknown as ReportWindow).__dalesweepReady === true, undefined, { timeout: opts.timeoutMs ?? 60000 });
    if (errors.length) throw new PngExportError(`report ${abs} raised page errors: ${errors.join('; ')}`);
    const images = await page.evaluate(
      ({ w, h }) => {
        const charts = (globalThis as unknown as ReportWindow).__dalesweepCharts ?? {};
        return Object.entries(charts).map(([id, chart]) => {
          chart.options.devicePixelRatio = 1;
          chart.resize(w, h);
          return { id, url: chart.canvas.toDataURL('image/png') };
        });
      },
      { w: width, h: height },
    );
    const files: string[] = [];
    for (const { id, url } of images) {
      if (!/^[A-Za-z0-9._-]+$/.test(id)) throw new PngExportError(`chart id ${JSON.stringify(id)} is not a safe file name`);
      const prefix = 'data:image/png;base64,';
      if (!url.startsWith(prefix)) throw new PngExportError(`chart ${id} did not export a PNG data URL`);
      const file = join(outDir, `${id}.png`);
      await writeFile(file, Buffer.from(url.slice(prefix.length), 'base64'));
      files.push(file);
    }
    return files;
  } finally {
    await browser.close();
  }
}
