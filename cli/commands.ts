/** The list of sub-command registrations, in help order. */
import type { Command } from 'commander';
import { register as registerWorker } from './worker.js';
import { register as registerPrune } from './prune.js';
import { register as registerMst } from './mst.js';

export type Register = (program: Command) => void;

export const commands: Register[] = [registerWorker, registerPrune, registerMst];
