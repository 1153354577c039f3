/**
 * The 12 conditions of the CelltypeRNN data (SCIENCE.md §6, paper §4.1): familiarity × stimulus
 * event × time window, their names and sequence lengths. Pure vocabulary (no I/O), so the spec
 * and the planner can check and size conditions without the file reader (`data.ts`).
 */

/** Familiar or novel image set. */
export type Familiarity = 'familiar' | 'novel';
/** What happens at the second presentation. */
export type StimulusEvent = 'change' | 'no_change' | 'omission';
/** Full two-image sequence (T = 15) or the half after the second presentation (T = 7). */
export type TimeWindow = 'full' | 'half';
/** A file condition: the `{cond}` part of the file names. */
export type FileCondition = `${Familiarity}_${StimulusEvent}`;
/** One of the 12 modelling conditions, e.g. `familiar_change_full`, `novel_omission_half`. */
export type CelltypeCondition = `${FileCondition}_${TimeWindow}`;

export const FAMILIARITIES: readonly Familiarity[] = ['familiar', 'novel'];
export const STIMULUS_EVENTS: readonly StimulusEvent[] = ['change', 'no_change', 'omission'];
export const TIME_WINDOWS: readonly TimeWindow[] = ['full', 'half'];
/** The 6 file conditions. */
export const FILE_CONDITIONS: readonly FileCondition[] = FAMILIARITIES.flatMap((f) => STIMULUS_EVENTS.map((e) => `${f}_${e}` as FileCondition));
/** The 12 conditions, familiarity × event × window (window varying fastest). */
export const CELLTYPE_CONDITIONS: readonly CelltypeCondition[] = FILE_CONDITIONS.flatMap((c) => TIME_WINDOWS.map((w) => `${c}_${w}` as CelltypeCondition));

/** Frames per file row (full window). */
export const FULL_T = 15;
/** The half window: columns [HALF_START, HALF_END) of each file, i.e. numpy's [:, 7:-1]. */
export const HALF_START = 7;
export const HALF_END = 14;
/** Thrown for an unknown condition name. */
export class CelltypeConditionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CelltypeConditionError';
  }
}

/** Split a condition name into its parts. @throws CelltypeConditionError listing the valid names */
export function parseCondition(name: string): { file: FileCondition; window: TimeWindow; familiarity: Familiarity; event: StimulusEvent } {
  if (!(CELLTYPE_CONDITIONS as readonly string[]).includes(name)) {
    throw new CelltypeConditionError(`unknown cell-type condition '${name}', expected one of ${CELLTYPE_CONDITIONS.join(', ')}`);
  }
  const window = name.endsWith('_full') ? 'full' : 'half';
  const file = name.slice(0, -(window.length + 1)) as FileCondition;
  const familiarity = file.startsWith('familiar') ? 'familiar' : 'novel';
  const event = file.slice(familiarity.length + 1) as StimulusEvent;
  return { file, window, familiarity, event };
}

/** Sequence length of a condition: 15 (full) or 7 (half). */
export function conditionSteps(name: string): number {
  return parseCondition(name).window === 'full' ? FULL_T : HALF_END - HALF_START;
}
