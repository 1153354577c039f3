/**
 * A model as model stages store it (`weights/*.npy`, `mask.npy`) and read it back from a parent
 * stage, with the helpers every stage kind shares: the single parent, the parent's metrics,
 * the prune metrics carried down to fine-tune and evaluate, zero counts and the `.npy` codec
 * calls. See activities/model-stages.ts for the files of each stage kind.
 */
import { encodeNpy, parseNpy } from '../io/npy.js';
import { PARAM_NAMES, type ModelConfig, type ModelMasks, type ParamName, type Params } from '../rnn/types.js';
import { readStageFile, readStageManifest } from '../store/stage-io.js';
import type { ArtifactStore } from '../store/types.js';
import type { Stage } from '../sweeps/types.js';

/** A parent stage's outputs were missing or inconsistent. */
export class ParentArtifactError extends Error {
  override name = 'ParentArtifactError';
}

/** A model as stored by a stage: parameters and, once pruned, the W_hh mask. */
export interface StoredModel {
  params: Params;
  mask: Float32Array | null;
}

/** The one parent of `stage`. @throws ParentArtifactError when it has none or several */
export function singleParent(stage: Stage): string {
  if (stage.parents.length !== 1) throw new ParentArtifactError(`${stage.kind} stage ${stage.id.slice(0, 12)} needs exactly one parent, has ${stage.parents.length}`);
  return stage.parents[0];
}

/**
 * The model a completed stage stored: its parameters and, when pruned, its W_hh mask.
 * @throws ParentArtifactError when the stage is not completed or its files do not fit `cfg`
 */
export async function readModel(store: ArtifactStore, stageId: string, cfg: ModelConfig): Promise<StoredModel> {
  const manifest = await readStageManifest(store, stageId);
  if (manifest === null) throw new ParentArtifactError(`parent stage ${stageId.slice(0, 12)} has no manifest (not completed)`);
  const params = {} as Params;
  for (const name of PARAM_NAMES) {
    params[name] = decodeNpy(await readStageFile(store, stageId, `weights/${name}.npy`, manifest), `stage ${stageId.slice(0, 12)} weights/${name}.npy`);
  }
  if (params.wHh.length !== cfg.nHidden * cfg.nHidden) throw new ParentArtifactError(`parent stage ${stageId.slice(0, 12)}: W_hh has ${params.wHh.length} entries, expected ${cfg.nHidden}²`);
  const mask = 'mask.npy' in manifest.files ? decodeNpy(await readStageFile(store, stageId, 'mask.npy', manifest), `stage ${stageId.slice(0, 12)} mask.npy`) : null;
  return { params, mask };
}

/** The metrics in a stage's manifest ({} when it has none). */
export async function parentMetrics(store: ArtifactStore, stageId: string): Promise<Record<string, number | null>> {
  return (await readStageManifest(store, stageId))?.metrics ?? {};
}

/** The files of a model: `weights/{name}.npy` per parameter and `mask.npy` when pruned. */
export function modelFiles(cfg: ModelConfig, m: StoredModel): Record<string, Uint8Array> {
  const N = cfg.nHidden;
  const shapes: Record<ParamName, number[]> = {
    wIn: [N, cfg.nInput],
    bIn: [N],
    wHh: [N, N],
    bHh: [N],
    wOut: [cfg.nOutput, N],
    bOut: [cfg.nOutput],
  };
  const files: Record<string, Uint8Array> = {};
  for (const name of PARAM_NAMES) files[`weights/${name}.npy`] = encodeNpyBytes(m.params[name], shapes[name]);
  if (m.mask !== null) files['mask.npy'] = encodeNpyBytes(m.mask, [N, N]);
  return files;
}

/** The task's masks plus the recurrent (W_hh) mask when there is one. */
export function withRecurrentMask(taskMasks: ModelMasks, mask: Float32Array | null): ModelMasks {
  return mask === null ? taskMasks : { ...taskMasks, recurrent: mask };
}

/** Number of entries exactly 0. */
export function zeroCount(a: Float32Array): number {
  let z = 0;
  for (let k = 0; k < a.length; k++) if (a[k] === 0) z++;
  return z;
}

/** Fraction of zero entries. */
export function zeroFraction(a: Float32Array): number {
  return zeroCount(a) / a.length;
}

/** Metrics a prune stage reports (see activities/stage-prune.ts). */
export const PRUNE_METRICS = ['targetSparsity', 'achievedSparsity', 'kept', 'blockMaxZ', 'mstOverlap', 'mstLowerBoundFormula', 'mstLowerBoundRenormalised', 'mstRandomTheory'] as const;

/** The prune metrics among `m` (a parent's), carried into fine-tune and evaluate results. */
export function pickPruneMetrics(m: Record<string, number | null>): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const k of PRUNE_METRICS) if (k in m) out[k] = m[k];
  return out;
}

/** A float32 array as `.npy` bytes of the given shape. */
export function encodeNpyBytes(data: Float32Array, shape: number[]): Uint8Array {
  return encodeNpy({ data, shape, dtype: 'float32' });
}

/** A stored `.npy` as float32 (float64 files are narrowed). */
export function decodeNpy(bytes: Uint8Array, what: string): Float32Array {
  const a = parseNpy(bytes, what);
  if (a.data instanceof Float32Array) return a.data;
  if (a.data instanceof Float64Array) return Float32Array.from(a.data);
  throw new ParentArtifactError(`${what}: dtype ${a.dtype}, expected float32 or float64`);
}
