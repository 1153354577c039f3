/**
 * `dalesweep worker` as real child processes against the Temporal dev server: a worker killed
 * with SIGKILL in the middle of stages is replaced by another that finishes the sweep (each stage
 * completes exactly once in the store), and SIGTERM stops a worker gracefully.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { codeVersion } from '../activities/code-version.js';
import { runSweepOnTemporal } from '../engines/temporal.js';
import { SKIP_TEMPORAL, noopPlan, sweepExecutions, temporalAddress, tempStoreDir, uniqueTag } from '../engines/temporal-testing.js';
import { openStore } from '../store/open.js';
import { completedStageIds, readStageManifest } from '../store/stage-io.js';
import { bundleSweepWorkflows } from '../workers/temporal-worker.js';
import { writeTinySweep } from './test-support.js';
import { sweepWorkflowId, type SweepWorkflowResult } from '../workflows/types.js';

const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));

interface Proc {
  child: ChildProcess;
  stderr: () => string;
}

function startWorker(args: string[]): Proc {
  const child = spawn(process.execPath, [MAIN, 'worker', ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, DALESWEEP_TEMPORAL_ADDRESS: temporalAddress() } });
  let err = '';
  child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  return { child, stderr: () => err };
}

async function waitFor(what: string, p: Proc, pattern: RegExp, ms: number): Promise<void> {
  const t0 = Date.now();
  while (!pattern.test(p.stderr())) {
    if (p.child.exitCode !== null) throw new Error(`worker exited (${p.child.exitCode}) before ${what}: ${p.stderr()}`);
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}: ${p.stderr()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('dalesweep worker (child processes, dev server)', { skip: SKIP_TEMPORAL ? 'DALESWEEP_SKIP_TEMPORAL=1' : false, timeout: 180_000 }, () => {
  let connection: Connection;
  let client: Client;
  const procs: Proc[] = [];
  before(async () => {
    await bundleSweepWorkflows(); // warm the on-disk bundle cache the child processes read
    connection = await Connection.connect({ address: temporalAddress(), connectTimeout: '5 seconds' });
    client = new Client({ connection });
  });
  after(async () => {
    for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await connection?.close();
  });

  test('rejects a malformed --temporal-address with a usage error', async () => {
    const p = startWorker(['--temporal-address', 'nohostport']);
    procs.push(p);
    const [code] = (await once(p.child, 'exit')) as [number];
    assert.equal(code, 2);
    assert.match(p.stderr(), /--temporal-address must be HOST:PORT/);
  });

  test('a worker killed with SIGKILL mid-stage is replaced; every stage completes once; SIGTERM stops gracefully', async () => {
    const tag = uniqueTag();
    const storeUrl = tempStoreDir();
    const store = await openStore(storeUrl);
    const common = ['--task-queue', `cpu-${tag}`, '--control-queue', `ctl-${tag}`, '--concurrency', '2', '--store', storeUrl, '--shutdown-grace', '5'];
    const a = startWorker([...common, '--identity', 'worker-a']);
    procs.push(a);
    await waitFor('worker A start', a, /worker: serving/, 60_000);

    const cv = codeVersion();
    const plan = noopPlan(6, { codeVersion: cv, sleepMs: 2500, queue: () => `cpu-${tag}` });
    let b: Proc | null = null;
    const run = runSweepOnTemporal(plan, {
      address: temporalAddress(),
      client,
      store,
      codeVersion: cv,
      controlQueue: `ctl-${tag}`,
      window: 2,
      pollMs: 100,
      tuning: { heartbeatTimeoutMs: 1500 },
      onProgress: (p) => {
        if (p.running >= 2 && !b) {
          a.child.kill('SIGKILL');
          b = startWorker([...common, '--identity', 'worker-b']);
          procs.push(b);
        }
      },
    });
    const res = await run;
    assert.ok(b, 'worker A was never seen running two stages');
    assert.equal(a.child.signalCode, 'SIGKILL');
    assert.ok([...res.status.values()].every((s) => s === 'succeeded'), JSON.stringify([...res.status.values()]));
    const complete = await completedStageIds(store);
    for (const s of plan.stages) assert.ok(complete.has(s.id));

    // The stages A was running were retried (attempt 2) by B.
    const execs = await sweepExecutions(client, plan.sweepId, (await client.workflow.getHandle(sweepWorkflowId(plan.sweepId)).result()) as SweepWorkflowResult);
    const retried = execs.flatMap((e) => (e.history.events ?? []).filter((ev) => (ev.activityTaskStartedEventAttributes?.attempt ?? 1) > 1));
    assert.ok(retried.length >= 1, 'no stage attempt was retried after the kill');
    for (const ev of retried) assert.match(ev.activityTaskStartedEventAttributes?.identity ?? '', /worker-b/);

    const bp = b as Proc;
    bp.child.kill('SIGTERM');
    const [code] = (await once(bp.child, 'exit')) as [number];
    assert.equal(code, 0);
    assert.match(bp.stderr(), /SIGTERM: shutting down[\s\S]*worker: stopped/);
  });

  test('run --engine temporal submits and follows a sweep and writes its results and report; status reads the workflow', async () => {
    const tag = uniqueTag();
    const storeUrl = tempStoreDir();
    const w = startWorker(['--task-queue', `cpu-${tag}`, '--control-queue', `ctl-${tag}`, '--concurrency', '2', '--store', storeUrl, '--shutdown-grace', '2']);
    procs.push(w);
    await waitFor('worker start', w, /worker: serving/, 60_000);
    const spec = writeTinySweep(join(storeUrl, `cli-${tag}.yaml`), { name: `cli-${tag}`, fixedExtra: `queue: cpu-${tag}` });
    const env = { ...process.env, DALESWEEP_TEMPORAL_ADDRESS: temporalAddress() };
    const run = spawnSync(process.execPath, [MAIN, 'run', spec, '--engine', 'temporal', '--control-queue', `ctl-${tag}`, '--store', storeUrl, '--json'], { encoding: 'utf8', env });
    assert.equal(run.status, 0, run.stderr);
    const lines = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const done = lines.find((l) => l.event === 'done')!;
    assert.equal(done.failed, 0);
    assert.equal(done.succeeded, done.stages);
    assert.ok(lines.some((l) => l.event === 'stage-end'), 'the same progress events as the local engine');
    const folder = readdirSync(join(storeUrl, 'sweeps'))[0];
    for (const f of ['results.csv', 'summary.json', 'report.html']) assert.ok(existsSync(join(storeUrl, 'sweeps', folder, f)), `${f} written`);
    const st = spawnSync(process.execPath, [MAIN, 'status', spec, '--engine', 'temporal', '--store', storeUrl, '--json'], { encoding: 'utf8', env });
    assert.equal(st.status, 0, st.stderr);
    const s = JSON.parse(st.stdout) as { running: boolean; progress: { total: number; done?: number; succeeded?: number } | null };
    assert.equal(s.running, false);
    assert.ok(s.progress, `progress from the workflow query: ${st.stdout}`);
    assert.equal(s.progress.total, done.stages);
    w.child.kill('SIGTERM');
    await once(w.child, 'exit');
  });

  test('a Temporal run and a local run of one sweep on one store at once: every stage runs exactly once, both exit 0', async () => {
    const tag = uniqueTag();
    const storeUrl = tempStoreDir();
    const w = startWorker(['--task-queue', `cpu-${tag}`, '--control-queue', `ctl-${tag}`, '--concurrency', '2', '--store', storeUrl, '--shutdown-grace', '2']);
    procs.push(w);
    await waitFor('worker start', w, /worker: serving/, 60_000);
    const spec = writeTinySweep(join(storeUrl, `mixed-${tag}.yaml`), { name: `mixed-${tag}`, fixedExtra: `queue: cpu-${tag}`, seeds: [0, 1] });
    const env = { ...process.env, DALESWEEP_TEMPORAL_ADDRESS: temporalAddress() };
    const runCli = (args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> =>
      new Promise((res) => {
        const c = spawn(process.execPath, [MAIN, 'run', spec, '--store', storeUrl, '--json', '--no-report', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
        let stdout = '';
        let stderr = '';
        c.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
        c.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
        c.on('close', (status) => res({ status, stdout, stderr }));
      });
    const [temporal, local] = await Promise.all([runCli(['--engine', 'temporal', '--control-queue', `ctl-${tag}`]), runCli(['--concurrency', '2'])]);
    assert.equal(temporal.status, 0, temporal.stderr);
    assert.equal(local.status, 0, local.stderr);
    const doneOf = (out: string): { stages: number; ran: number } => JSON.parse(out.trim().split('\n').at(-1)!) as { stages: number; ran: number };
    const t = doneOf(temporal.stdout);
    const l = doneOf(local.stdout);
    assert.equal(t.ran + l.ran, t.stages, `temporal ran ${t.ran}, local ran ${l.ran}, of ${t.stages} stages`);
    const store = await openStore(storeUrl);
    assert.equal((await completedStageIds(store)).size, t.stages);
    w.child.kill('SIGTERM');
    await once(w.child, 'exit');
  });

  test('pause, resume and cancel reach a running sweep through the CLI', async () => {
    const tag = uniqueTag();
    const storeUrl = tempStoreDir();
    const store = await openStore(storeUrl);
    const w = startWorker(['--task-queue', `cpu-${tag}`, '--control-queue', `ctl-${tag}`, '--concurrency', '1', '--store', storeUrl, '--shutdown-grace', '2']);
    procs.push(w);
    await waitFor('worker start', w, /worker: serving/, 60_000);
    const cv = codeVersion();
    const plan = noopPlan(6, { codeVersion: cv, sleepMs: 3000, queue: () => `cpu-${tag}` }); // long enough that three CLI starts fit in it on a loaded machine
    const env = { ...process.env, DALESWEEP_TEMPORAL_ADDRESS: temporalAddress() };
    const ctl = (action: string): ReturnType<typeof spawnSync> => spawnSync(process.execPath, [MAIN, action, plan.name, '--store', storeUrl], { encoding: 'utf8', env });
    let sent = false;
    const paused: boolean[] = [];
    const run = runSweepOnTemporal(plan, {
      address: temporalAddress(),
      client,
      store,
      codeVersion: cv,
      controlQueue: `ctl-${tag}`,
      window: 1,
      pollMs: 100,
      onProgress: (p) => {
        paused.push(p.paused);
        if (!sent && p.running >= 1) sent = true;
      },
    });
    while (!sent) await new Promise((r) => setTimeout(r, 50));
    const pause = ctl('pause');
    assert.equal(pause.status, 0, String(pause.stderr));
    const t0 = Date.now();
    while (!paused.at(-1) && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 50));
    assert.equal(paused.at(-1), true, 'progress shows the sweep paused');
    assert.equal(ctl('resume').status, 0);
    const cancel = ctl('cancel');
    assert.equal(cancel.status, 0, String(cancel.stderr));
    const res = await run;
    assert.equal(res.cancelled, true);
    const complete = await completedStageIds(store);
    assert.ok(complete.size < plan.stages.length, 'the sweep stopped before the end');
    for (const id of complete) assert.ok(await readStageManifest(store, id), 'every complete stage has its manifest');
    // A sweep with no workflow: a clear error, exit 1.
    const other = noopPlan(1, { codeVersion: cv, queue: () => `cpu-${tag}` });
    await store.put(`sweeps/${other.name}-${other.sweepId.slice(0, 12)}/plan.json`, new TextEncoder().encode(JSON.stringify(other)));
    const none = spawnSync(process.execPath, [MAIN, 'cancel', `${other.name}-${other.sweepId.slice(0, 12)}`, '--store', storeUrl], { encoding: 'utf8', env });
    assert.equal(none.status, 1, none.stderr);
    assert.match(none.stderr, /has no running workflow/);
  });
});

test('dalesweep worker --task-queue gpu without a GPU engine refuses at start: one line, exit 2, before connecting to Temporal', { skip: existsSync('/dev/nvidia0') ? 'this machine has an NVIDIA GPU' : false }, () => {
  // An address nobody listens on: were the check after connecting, this would be exit 1.
  const r = spawnSync(process.execPath, [MAIN, 'worker', '--task-queue', 'cpu', '--task-queue', 'gpu', '--temporal-address', '127.0.0.1:1'], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 2, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], /^dalesweep: worker: refusing to serve task queue gpu: no GPU engine \(/);
  // Here (no GPU): either tfjs-node-gpu is not installed (the install command is named) or it sees no GPU device.
  assert.match(lines[0], /bash infra\/tensorflow\.sh install gpu|sees no GPU device/);
});
