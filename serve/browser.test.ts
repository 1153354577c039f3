/**
 * `dalesweep serve` in headless Chromium while `dalesweep run` works through a small sweep in a
 * temporary store (both real CLI processes): the live page's counts advance without a reload,
 * the list page shows the sweep, traversal in URLs is refused, and the served report is the one
 * the run wrote. The test holds one training stage's lease until the page is open, so the run
 * cannot finish first however loaded the machine is. About 15 s.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchChromium } from '../report/png.js';
import { MAIN, writeTinySweep } from '../cli/test-support.js';
import { planSweepFile } from '../cli/sweep-ref.js';
import { newLeaseOwner, tryAcquireStageLease } from '../store/lease.js';
import { openStore } from '../store/open.js';

/** Starts `dalesweep ARGS`, collecting its output. */
function start(args: string[]): { child: ChildProcess; out: () => string; err: () => string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exit = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  return { child, out: () => out, err: () => err, exit };
}

async function until<T>(what: string, fn: () => Promise<T | null> | T | null, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== null) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** What the test reads of the page's globals (the test is compiled without the DOM library). */
interface PageGlobals {
  document: { querySelector(sel: string): { dataset: Record<string, string | undefined> } };
}

interface Overall {
  complete: number;
  total: number;
}

test('serve: the live page of a running sweep advances without reloading; traversal URLs are refused', { timeout: 90_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'serve-browser-'));
  const store = join(dir, 'store');
  const spec = writeTinySweep(join(dir, 'live.yaml'), { name: 'live', seeds: [0, 1, 2, 3, 4, 5] });
  const procs: ChildProcess[] = [];
  t.after(() => {
    for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  const server = start(['serve', '--store', store, '--port', '0', '--interval', '0.2']);
  procs.push(server.child);
  const base = await until('the server URL', () => /http:\/\/127\.0\.0\.1:\d+/.exec(server.out())?.[0] ?? (server.child.exitCode !== null ? Promise.reject(new Error(server.err())) : null));
  // The test holds the lease of the last training stage, so the run cannot finish (whatever the
  // machine's load) before the page is open: the run defers that stage and its descendants and
  // works on the others; releasing the lease lets them run, and the page must see them complete.
  const held = planSweepFile(spec).plan.stages.filter((st) => st.kind === 'train').at(-1)!;
  const claim = await tryAcquireStageLease(await openStore(store), held.id, { owner: newLeaseOwner(), ttlMs: 60_000 });
  assert.ok(claim.acquired, 'the test holds one training stage');
  claim.lease.keepAlive((err) => assert.fail(String(err)));
  t.after(() => claim.lease.release());
  const run = start(['run', spec, '--store', store, '--concurrency', '1']);
  procs.push(run.child);

  const sweepDir = await until('the sweep in the list', async () => {
    const list = (await (await fetch(`${base}/api/sweeps`)).json()) as { dir: string }[];
    return list[0]?.dir ?? null;
  });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    let navigations = 0;
    page.on('framenavigated', (f) => {
      if (f === page.mainFrame()) navigations++;
    });
    const res = await page.goto(`${base}/sweeps/${sweepDir}/`);
    assert.equal(res?.status(), 200);
    await page.evaluate(() => ((globalThis as unknown as { __sameDocument: boolean }).__sameDocument = true));
    const overall = async (): Promise<Overall> => ({ complete: Number(await page.getAttribute('#overall', 'data-complete')), total: Number(await page.getAttribute('#overall', 'data-total')) });
    /** Waits until the page shows more than `n` complete stages (the page script's own update). */
    const advancedPast = (n: number): Promise<unknown> =>
      page.waitForFunction((past) => Number((globalThis as unknown as PageGlobals).document.querySelector('#overall').dataset.complete) > past, n, { timeout: 30_000 });
    await page.waitForSelector('#overall[data-total]');
    const first = await overall();
    assert.equal(first.total, 120, 'the tiny sweep with 6 seeds plans 120 stages');
    assert.ok(first.complete < first.total, `the page opened while the sweep runs (${first.complete}/${first.total})`);
    await claim.lease.release();
    // The counts advance on the open page (server-sent events) without a reload, up to the end.
    // (Not "twice": on a fast machine the held stage and its descendants can all complete within
    // one push interval, so the first advance may already be the last one.)
    await advancedPast(first.complete);
    await page.waitForFunction(
      (total) => Number((globalThis as unknown as PageGlobals).document.querySelector('#overall').dataset.complete) === total,
      first.total,
      { timeout: 30_000 },
    );
    assert.deepEqual(await overall(), { complete: first.total, total: first.total });
    const kinds = await page.locator('#kinds tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-kind')));
    assert.deepEqual([...kinds].sort(), ['evaluate', 'finetune', 'prune', 'train']);
    assert.equal(await page.evaluate(() => (globalThis as unknown as { __sameDocument?: boolean }).__sameDocument), true, 'same document: no reload');
    assert.equal(navigations, 1);
    assert.deepEqual(problems, []);

    // The list page shows the sweep with its counts.
    await page.goto(`${base}/`);
    await page.waitForSelector(`tr[data-dir="${sweepDir}"]`);
    assert.equal(await page.$eval(`tr[data-dir="${sweepDir}"] td[data-field="total"]`, (e) => e.textContent), '120');

    // Traversal in the URL bar. Dots (also as %2e) are resolved by the browser itself, so what
    // it sends stays inside the server's routes: not found, nothing from outside the store.
    for (const target of [`/sweeps/${sweepDir}/../../../etc/passwd`, '/sweeps/%2e%2e/%2e%2e/%2e%2e/etc/passwd']) {
      const r = await page.goto(`${base}${target}`);
      assert.equal(r?.status(), 404, target);
      assert.doesNotMatch((await page.textContent('body')) ?? '', /root:/);
    }
    // What the browser sends as it is (encoded separators next to dots) the server refuses.
    for (const target of [`/sweeps/${sweepDir}/%2e%2e%2f%2e%2e%2fplan.json`, '/sweeps/..%2f..%2f..%2fetc%2fpasswd/', `/sweeps/${sweepDir}/..%5c..%5cplan.json`]) {
      const r = await page.goto(`${base}${target}`);
      assert.equal(r?.status(), 400, target);
      assert.match((await page.textContent('body')) ?? '', /^path refused/);
    }

    assert.equal(await run.exit, 0, run.err());
    const report = await page.goto(`${base}/sweeps/${sweepDir}/report.html`);
    assert.equal(report?.status(), 200);
    assert.match(await page.title(), /live/);
  } finally {
    await browser.close();
  }
  server.child.kill('SIGTERM');
  assert.equal(await server.exit, 0, `serve stops cleanly on SIGTERM: ${server.err()}`);
});
