/** Entry point of the workflow bundle the Temporal worker loads (`workflowsPath`). */
export { sweepWorkflow, stageBatchWorkflow } from './sweep.js';
