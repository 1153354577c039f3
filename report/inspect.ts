/**
 * Opens a rendered report in a real (headless) Chromium page and reports what a reader would
 * see: console errors and warnings, page errors, every network request, dialogs, and for each
 * canvas whether something was drawn. Used by the report tests (synthetic and real sweeps).
 */
import { pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';

/** One canvas of the page. */
export interface CanvasInspection {
  id: string;
  /** Pixels with alpha > 0. */
  opaque: number;
  /** Distinct colours among the opaque pixels (capped at 50). */
  colours: number;
  w: number;
  h: number;
}

/** What {@link inspectReport} saw. */
export interface ReportInspection {
  url: string;
  problems: string[];
  requests: string[];
  dialogs: number;
  canvases: CanvasInspection[];
  text: string;
  title: string;
  /** Ids of the chart.js charts the page registered. */
  charts: string[];
}

/** Loads `file` and waits until the page says its charts are ready. */
export async function inspectReport(browser: Browser, file: string): Promise<ReportInspection> {
  const url = pathToFileURL(file).href;
  const page = await browser.newPage();
  const requests: string[] = [];
  const problems: string[] = [];
  let dialogs = 0;
  page.on('request', (r) => requests.push(r.url()));
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('dialog', (d) => {
    dialogs++;
    void d.dismiss();
  });
  try {
    await page.goto(url, { waitUntil: 'load' });
    await page.waitForFunction('window.__dalesweepReady === true');
    const result = (await page.evaluate(`(() => {
      const out = [];
      for (const c of document.querySelectorAll('canvas')) {
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        const colours = new Set();
        let opaque = 0;
        for (let i = 0; i < d.length; i += 4) {
          if (d[i + 3] > 0) { opaque++; if (colours.size < 50) colours.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]); }
        }
        out.push({ id: c.id, opaque, colours: colours.size, w: c.width, h: c.height });
      }
      return { canvases: out, text: document.body.innerText, title: document.title, charts: Object.keys(window.__dalesweepCharts) };
    })()`)) as Pick<ReportInspection, 'canvases' | 'text' | 'title' | 'charts'>;
    return { url, problems, requests, dialogs, ...result };
  } finally {
    await page.close();
  }
}
