/** The list of sub-command registrations, in help order. */
import type { Command } from 'commander';
import { register as registerRun } from './run.js';
import { register as registerPlan } from './plan.js';
import { register as registerStatus } from './status.js';
import { register as registerReport } from './report.js';
import { register as registerControl } from './control.js';
import { register as registerWorker } from './worker.js';
import { register as registerPrune } from './prune.js';
import { register as registerMst } from './mst.js';
import { register as registerVerify } from './verify.js';
import { register as registerScorecard } from './scorecard.js';
import { register as registerServe } from './serve.js';
import { register as registerDoctor } from './doctor.js';

export type Register = (program: Command) => void;

export const commands: Register[] = [registerRun, registerPlan, registerStatus, registerServe, registerVerify, registerReport, registerScorecard, registerControl, registerWorker, registerPrune, registerMst, registerDoctor];
