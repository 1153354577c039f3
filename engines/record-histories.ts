/**
 * Records the histories of small sweeps on the Temporal dev server into
 * `workflows/testdata/sweep-histories.json`, for the replay test (workflows/sweep.test.ts) that
 * guards the workflow code against non-deterministic changes. Re-record only on purpose (a
 * deliberate, versioned change of the workflow logic):
 *
 *   bash infra/temporal.sh start && eval "$(bash infra/temporal.sh env)"
 *   npm run build && node dist/engines/record-histories.js
 *
 * The sweeps cover: a DAG with a failing stage and its skipped descendant, batches, continue-as-
 * new (tiny history guard), pause/resume, and a cancel that aborts running stages.
 *
 * It lives in engines/ (not workflows/) because it does I/O and drives the Temporal engine;
 * workflows/ holds only deterministic code, and everything in it is hashed into the bundle key.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import protos from '@temporalio/proto';
import { codeVersion } from '../activities/code-version.js';
import { runSweepOnTemporal } from './temporal.js';
import { noopPlan, startTestWorker, sweepExecutions, temporalAddress, tempStoreDir, uniqueTag } from './temporal-testing.js';
import { openStore } from '../store/open.js';
import { pauseSignal, resumeSignal } from '../workflows/sweep.js';
import { sweepWorkflowId, type SweepWorkflowResult } from '../workflows/types.js';

/**
 * One recorded execution: the workflow id and its history as a base64 binary protobuf
 * (`temporal.api.history.v1.History`). Binary rather than Temporal's JSON form because the
 * installed @temporalio/common's JSON helpers (historyToJSON/historyFromJSON) are bound to a
 * second protobufjs copy and throw "type must be a Type".
 */
export interface RecordedHistory {
  workflowId: string;
  historyBase64: string;
}

/** Decodes a recorded history. */
export function decodeHistory(r: RecordedHistory): protos.temporal.api.history.v1.History {
  return protos.temporal.api.history.v1.History.decode(Buffer.from(r.historyBase64, 'base64'));
}

/** Path of the fixture file in the source tree. */
export function fixturePath(): string {
  return fileURLToPath(new URL('../../workflows/testdata/sweep-histories.json', import.meta.url));
}

async function main(): Promise<void> {
  const tag = uniqueTag();
  const control = `rec-ctl-${tag}`;
  const cpu = `rec-cpu-${tag}`;
  const storeUrl = tempStoreDir();
  const store = await openStore(storeUrl);
  const cv = codeVersion();
  const connection = await Connection.connect({ address: temporalAddress() });
  const client = new Client({ connection });
  const worker = await startTestWorker({ storeUrl, codeVersion: cv, taskQueues: [cpu], controlQueue: control, concurrency: 2 });
  const out: RecordedHistory[] = [];
  const record = async (sweepId: string): Promise<void> => {
    const res = (await client.workflow.getHandle(sweepWorkflowId(sweepId)).result()) as SweepWorkflowResult;
    for (const e of await sweepExecutions(client, sweepId, res)) {
      const bytes = protos.temporal.api.history.v1.History.encode(e.history).finish();
      out.push({ workflowId: e.workflowId, historyBase64: Buffer.from(bytes).toString('base64') });
    }
  };
  try {
    const base = { address: temporalAddress(), client, store, codeVersion: cv, controlQueue: control, pollMs: 50 };
    // 1. DAG: 0..5 roots, 6..9 children of 0..3, 10 child of 6, 11 child of 7; stage 7 fails.
    const dag = noopPlan(12, {
      codeVersion: cv,
      salt: `rec-dag-${tag}`,
      sleepMs: 30,
      queue: () => cpu,
      fail: new Set([7]),
      parents: (i) => (i >= 6 && i <= 9 ? [i - 6] : i === 10 ? [6] : i === 11 ? [7] : []),
    });
    let pausedOnce = false;
    await runSweepOnTemporal(dag, {
      ...base,
      window: 2,
      tuning: { chunkSize: 2, maxHistoryEvents: 25 },
      onProgress: (p) => {
        if (!pausedOnce && p.done >= 2) {
          pausedOnce = true;
          const h = client.workflow.getHandle(sweepWorkflowId(dag.sweepId));
          void h
            .signal(pauseSignal)
            .then(() => new Promise((r) => setTimeout(r, 300)))
            .then(() => h.signal(resumeSignal));
        }
      },
    });
    await record(dag.sweepId);
    // 2. Cancel with abort while stages run.
    const cancelPlan = noopPlan(10, { codeVersion: cv, salt: `rec-cancel-${tag}`, sleepMs: 200, queue: () => cpu });
    const ac = new AbortController();
    await runSweepOnTemporal(cancelPlan, {
      ...base,
      window: 2,
      tuning: { chunkSize: 4 },
      signal: ac.signal,
      abortRunning: true,
      onProgress: (p) => {
        if (p.done >= 2) ac.abort();
      },
    });
    await record(cancelPlan.sweepId);
  } finally {
    worker.shutdown();
    await worker.done;
    await connection.close();
  }
  mkdirSync(new URL('.', `file://${fixturePath()}`), { recursive: true });
  writeFileSync(fixturePath(), JSON.stringify(out) + '\n');
  process.stderr.write(`record-histories: wrote ${out.length} histories to ${fixturePath()}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
