/**
 * Entry point of a stage pool thread (piscina `filename`). Runs one stage with the shared runner
 * and forwards its progress and checkpoint events to the engine through a MessagePort.
 */
import { executeStage } from '../activities/run-stage.js';
import { openStore } from '../store/open.js';
import type { ArtifactStore } from '../store/types.js';
import type { StageOutcome } from '../sweeps/types.js';
import type { StageEvent, StageTaskMessage } from './stage-task.js';

const stores = new Map<string, ArtifactStore>();

async function storeFor(url: string): Promise<ArtifactStore> {
  let s = stores.get(url);
  if (!s) {
    s = await openStore(url);
    stores.set(url, s);
  }
  return s;
}

/** Runs one stage; the piscina task function. */
export default async function runStageTask(task: StageTaskMessage): Promise<StageOutcome> {
  const { port, stage } = task;
  const send = (e: StageEvent): void => port.postMessage(e);
  try {
    const store = await storeFor(task.storeUrl);
    return await executeStage(stage, {
      store,
      codeVersion: task.codeVersion,
      resumeCheckpointKey: task.resumeCheckpointKey,
      threads: task.threads,
      onProgress: (p) => send({ type: 'progress', stageId: stage.id, ...p }),
      onCheckpoint: (key, epoch) => send({ type: 'checkpoint', stageId: stage.id, key, epoch }),
      onWarning: (message) => send({ type: 'warning', stageId: stage.id, message }),
    });
  } finally {
    port.close();
  }
}
