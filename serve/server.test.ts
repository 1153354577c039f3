/**
 * The dashboard's HTTP handler over a temporary filesystem store holding a sweep of noop stages
 * in every state (complete, failed, running under a live lease, pending): the list and the sweep
 * JSON count them; the event stream pushes a change; traversal in any spelling, symbolic links
 * out of the store, bad sweep names, foreign Host headers and every method but GET/HEAD are
 * refused, and the store is left byte-for-byte as it was.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request, createServer, type Server } from 'node:http';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { writeSweepRecord } from '../activities/finalize.js';
import { FsStore } from '../store/fs.js';
import { newLeaseOwner, tryAcquireStageLease } from '../store/lease.js';
import { writeStageArtifacts, writeStageFailure } from '../store/stage-io.js';
import { noopSweep } from '../sweeps/plan.js';
import type { Plan } from '../sweeps/types.js';
import { createDashboard, pathSegments, type DashboardOptions, type SweepListEntry, type SweepView } from './server.js';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request with the target sent exactly as given (no URL normalisation, unlike fetch). */
function raw(port: number, method: string, target: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path: target, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Every file under a folder with its bytes, to compare a store before and after. */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const name of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    const p = join(dir, name);
    if (statSync(p).isFile()) out.set(p, readFileSync(p).toString('base64'));
  }
  return out;
}

const artifacts = { files: { 'out.txt': new TextEncoder().encode('x') }, metrics: {}, timings: {}, backend: 'none', codeVersion: 'test', status: 'succeeded' as const };

/** A store with a 6-stage noop sweep: stages 0, 1 complete, 2 failed, 3 running, 4, 5 pending. */
async function fixture(t: { after(fn: () => unknown): void }, opts: Partial<DashboardOptions> = {}): Promise<{ root: string; store: FsStore; plan: Plan; port: number; dir: string; server: Server }> {
  const root = mkdtempSync(join(tmpdir(), 'serve-'));
  const store = new FsStore(root);
  const plan = noopSweep(6, { codeVersion: 'test', name: 'demo' });
  const keys = await writeSweepRecord(store, plan, 'name: demo\n');
  await writeStageArtifacts(store, plan.stages[0], artifacts);
  await writeStageArtifacts(store, plan.stages[1], artifacts);
  await writeStageFailure(store, plan.stages[2], 'loss diverged to NaN at epoch 3');
  const lease = await tryAcquireStageLease(store, plan.stages[3].id, { owner: newLeaseOwner(), ttlMs: 60_000 });
  assert.ok(lease.acquired);
  const dashboard = createDashboard({ store, intervalMs: 100, ...opts });
  const server = createServer((req, res) => dashboard.handle(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(async () => {
    dashboard.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    if (lease.acquired) await lease.lease.release();
    rmSync(root, { recursive: true, force: true });
  });
  return { root, store, plan, port: (server.address() as AddressInfo).port, dir: keys.dir.slice('sweeps/'.length, -1), server };
}

test('pathSegments decodes segments and refuses traversal in every spelling', () => {
  assert.deepEqual(pathSegments('/'), []);
  assert.deepEqual(pathSegments('/sweeps/a-0123456789ab/?x=1'), ['sweeps', 'a-0123456789ab', '']);
  assert.deepEqual(pathSegments('/a%20b'), ['a b']);
  for (const bad of ['/..', '/sweeps/../x', '/%2e%2e/x', '/%2E%2e/x', '/sweeps/.', '/a/..%2f..%2fetc', '/a%5c..', '//etc/passwd', 'etc/passwd', 'http://h/x', '/a%00b', '/a%zz']) {
    assert.throws(() => pathSegments(bad), /path refused/, bad);
  }
});

test('the list and the sweep JSON count complete, failed, running and pending stages from the store', async (t) => {
  const { port, dir, plan } = await fixture(t);
  const list = await raw(port, 'GET', '/api/sweeps');
  assert.equal(list.status, 200, list.body);
  const entries = JSON.parse(list.body) as SweepListEntry[];
  assert.equal(entries.length, 1);
  const e = entries[0];
  assert.deepEqual([e.dir, e.name, e.sweepId, e.status], [dir, 'demo', plan.sweepId, 'running']);
  assert.deepEqual(e.counts, { total: 6, complete: 2, corrupt: 0, failed: 1, running: 1, pending: 2 });
  assert.ok(e.created !== null && Math.abs(Date.parse(e.created) - Date.now()) < 60_000, `created ${e.created} is the plan's write time`);

  const one = await raw(port, 'GET', `/api/sweeps/${dir}`);
  assert.equal(one.status, 200, one.body);
  const v = JSON.parse(one.body) as SweepView;
  assert.deepEqual(v.byKind, { noop: { total: 6, complete: 2, corrupt: 0, failed: 1, running: 1, pending: 2 } });
  assert.deepEqual(v.failures.map((f) => [f.id, f.reason]), [[plan.stages[2].id, 'loss diverged to NaN at epoch 3']]);
  assert.deepEqual(v.running.map((r) => [r.id, r.pid]), [[plan.stages[3].id, process.pid]]);
  assert.equal(v.storedReport, false);

  const page = await raw(port, 'GET', `/sweeps/${dir}/`);
  assert.equal(page.status, 200);
  assert.match(String(page.headers['content-type']), /^text\/html/);
  assert.match(String(page.headers['content-security-policy']), /default-src 'none'/);
  assert.match(page.body, new RegExp(`const dir = "${dir}"`));
  const home = await raw(port, 'GET', '/');
  assert.equal(home.status, 200);
  assert.match(home.body, /\/api\/sweeps/);
  const spec = await raw(port, 'GET', `/sweeps/${dir}/spec.yaml`);
  assert.deepEqual([spec.status, spec.body], [200, 'name: demo\n']);
  const head = await raw(port, 'HEAD', `/sweeps/${dir}/spec.yaml`);
  assert.deepEqual([head.status, head.body, head.headers['content-length']], [200, '', '11']);
  assert.equal((await raw(port, 'GET', `/sweeps/${dir}/results.csv`)).status, 404, 'not written yet');
  assert.equal((await raw(port, 'GET', `/sweeps/${dir}/manifest.json`)).status, 404, 'only the sweep files are served');
  assert.equal((await raw(port, 'GET', '/sweeps/other-0123456789ab/')).status, 404);
});

test('the event stream pushes the counts again when a stage completes', async (t) => {
  const { port, dir, store, plan } = await fixture(t);
  const seen: SweepView[] = [];
  let wrote = false;
  await new Promise<void>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: `/api/sweeps/${dir}/events` }, (res) => {
      assert.equal(res.statusCode, 200);
      assert.match(String(res.headers['content-type']), /^text\/event-stream/);
      let buf = '';
      res.setEncoding('utf8').on('data', (d: string) => {
        buf += d;
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const msg = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const data = msg.split('\n').find((l) => l.startsWith('data: '));
          if (!data) continue;
          seen.push(JSON.parse(data.slice(6)) as SweepView);
          if (!wrote) {
            wrote = true;
            writeStageArtifacts(store, plan.stages[4], artifacts).catch(reject);
          } else if (seen.at(-1)!.counts.complete === 3) {
            req.destroy();
            resolve();
          }
        }
      });
    });
    req.on('error', (err) => (wrote && seen.length > 1 ? undefined : reject(err)));
    req.end();
  });
  assert.equal(seen[0].counts.complete, 2);
  assert.deepEqual(seen.at(-1)!.byKind.noop, { total: 6, complete: 3, corrupt: 0, failed: 1, running: 1, pending: 1 });
});

test('report.html is built on demand without writing to the store; a stored one is served as it is', async (t) => {
  const { root, port, dir, store } = await fixture(t);
  const before = snapshot(root);
  const built = await raw(port, 'GET', `/sweeps/${dir}/report.html`);
  assert.equal(built.status, 200, built.body.slice(0, 200));
  assert.match(String(built.headers['content-type']), /^text\/html/);
  assert.match(built.body, /<html/i);
  assert.deepEqual(snapshot(root), before, 'the on-demand report was not written to the store');
  await store.put(`sweeps/${dir}/report.html`, new TextEncoder().encode('<html>stored</html>'));
  assert.equal((await raw(port, 'GET', `/sweeps/${dir}/report.html`)).body, '<html>stored</html>');
  const fresh = await raw(port, 'GET', `/sweeps/${dir}/report.html?fresh=1`);
  assert.equal(fresh.status, 200);
  assert.notEqual(fresh.body, '<html>stored</html>', '?fresh=1 rebuilds it from the stages');
  assert.equal(readFileSync(join(root, 'sweeps', dir, 'report.html'), 'utf8'), '<html>stored</html>');
});

test('traversal, symbolic links out of the store, bad sweep names and foreign hosts are refused; only GET and HEAD are answered; the store is unchanged', async (t) => {
  const { root, port, dir } = await fixture(t, { allowedHosts: ['127.0.0.1', 'localhost'] });
  const secret = join(mkdtempSync(join(tmpdir(), 'serve-secret-')), 'secret.txt');
  writeFileSync(secret, 'TOP-SECRET');
  t.after(() => rmSync(join(secret, '..'), { recursive: true, force: true }));
  const before = snapshot(root);
  for (const target of [
    '/sweeps/../../../etc/passwd',
    `/sweeps/${dir}/../../../etc/passwd`,
    '/sweeps/%2e%2e/%2e%2e/etc/passwd',
    `/sweeps/${dir}/%2e%2e%2f%2e%2e%2fetc%2fpasswd`,
    `/sweeps/${dir}/..%5c..%5csecret.txt`,
    '//etc/passwd',
    `/api/sweeps/${dir}/..`,
    '/sweeps/..%2f..%2f/',
    `/sweeps/${encodeURIComponent(secret)}/`,
  ]) {
    const r = await raw(port, 'GET', target);
    assert.equal(r.status, 400, `${target}: ${r.status} ${r.body}`);
    assert.match(r.body, /^path refused|expected a sweep folder name/, target);
    assert.equal(r.body.split('\n').filter(Boolean).length, 1, 'one line');
  }
  for (const name of ['..', 'no-id', 'a b-0123456789ab', 'x-0123456789AB']) {
    const r = await raw(port, 'GET', `/api/sweeps/${encodeURIComponent(name)}`);
    assert.equal(r.status, 400, `${name}: ${r.body}`);
  }
  // A link planted in the store that leads out of it is not followed.
  const link = join(root, 'sweeps', dir, 'results.csv');
  symlinkSync(secret, link);
  const viaLink = await raw(port, 'GET', `/sweeps/${dir}/results.csv`);
  assert.notEqual(viaLink.status, 200);
  assert.doesNotMatch(viaLink.body, /TOP-SECRET/);
  unlinkSync(link);
  const foreign = await raw(port, 'GET', '/api/sweeps', { Host: 'attacker.example:8080' });
  assert.equal(foreign.status, 403);
  for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
    for (const target of ['/', `/sweeps/${dir}/report.html`, `/api/sweeps/${dir}`]) {
      const r = await raw(port, method, target);
      assert.equal(r.status, 405, `${method} ${target}`);
      assert.equal(r.headers.allow, 'GET, HEAD');
    }
  }
  assert.deepEqual(snapshot(root), before, 'no request changed the store');
  assert.ok(statSync(secret).isFile());
});
