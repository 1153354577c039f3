/**
 * The 18 populations of the CelltypeRNN (SCIENCE.md §6, paper §4.2): area (V1, LM) × layer
 * (L4, L2/3, L5) × type (Pyr, Sst, Vip), in that nesting order; Pyr:Sst:Vip = 12:2:1 per layer,
 * times a latent scaling (16 in the paper: 192/32/16 neurons, 240 per layer, 1440 in all).
 * Pyr is excitatory, Sst and Vip inhibitory.
 *
 * Two neuron orders:
 * - the **nesting order** (the paper's figures, the authors' code, the data files' stacking
 *   order, every analysis output): populations laid out one after the other in the order above,
 *   so E and I columns interleave (V1 L4 Pyr, V1 L4 Sst, V1 L4 Vip, V1 L2/3 Pyr, ...);
 * - the **internal order** (what the generic model in rnn/ sees): the same populations
 *   re-ordered so that all six Pyr populations come first (in nesting order), then the twelve
 *   inhibitory populations (in nesting order). The generic model's contract is "E columns are
 *   the first nExc columns" (rnn/types.ts); with this fixed permutation the CelltypeRNN uses that
 *   model, its initialisation, Dale projection and rectified D unchanged (design option (a)).
 *   Every population stays a contiguous index range in both orders, so population blocks of W_hh
 *   are contiguous rectangles in both. Relabelling hidden units is an exact symmetry of the
 *   Elman RNN (inputs and outputs are not permuted), so a model trained in the internal order is
 *   the nesting-order model; {@link CelltypeLayout.toNestingMatrix} maps weights back.
 */

/** Cortical area. */
export type Area = 'V1' | 'LM';
/** Cortical layer (`L23` is L2/3). */
export type Layer = 'L4' | 'L23' | 'L5';
/** Cell type. */
export type CellType = 'Pyr' | 'Sst' | 'Vip';

export const AREAS: readonly Area[] = ['V1', 'LM'];
export const LAYERS: readonly Layer[] = ['L4', 'L23', 'L5'];
export const CELL_TYPES: readonly CellType[] = ['Pyr', 'Sst', 'Vip'];
/** Neurons per type per unit of latent scaling (Pyr:Sst:Vip = 12:2:1). */
export const TYPE_RATIO: Readonly<Record<CellType, number>> = { Pyr: 12, Sst: 2, Vip: 1 };
/** The paper's latent scaling: 16 → 192/32/16 neurons per type, 1440 in all. */
export const PAPER_LATENT_SCALING = 16;
/** Number of populations (2 areas × 3 layers × 3 types). */
export const N_POPULATIONS = 18;

/** Printable layer name (`L2/3` for `L23`). */
export function layerLabel(layer: Layer): string {
  return layer === 'L23' ? 'L2/3' : layer;
}

/** One population with its index ranges in both orders. */
export interface Population {
  /** Index in the nesting order, 0..17 (also its input channel and readout row). */
  index: number;
  area: Area;
  layer: Layer;
  type: CellType;
  /** Printable name, e.g. `V1 L2/3 Pyr`. */
  label: string;
  /** File-name stem of the authors' data files, e.g. `V1_L23_pyr`. */
  fileKey: string;
  /** Number of neurons. */
  size: number;
  /** +1 excitatory (Pyr), -1 inhibitory (Sst, Vip). */
  sign: 1 | -1;
  /** First neuron in the nesting order (inclusive). */
  start: number;
  /** End in the nesting order (exclusive). */
  end: number;
  /** First neuron in the internal (Pyr-first) order (inclusive). */
  internalStart: number;
  /** End in the internal order (exclusive). */
  internalEnd: number;
}

/** Thrown when a layout option is invalid. */
export class CelltypeLayoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CelltypeLayoutError';
  }
}

/** The populations, their index ranges and the nesting ↔ internal permutation. */
export interface CelltypeLayout {
  /** Neurons per type per 12:2:1 unit (16 in the paper). */
  latentScaling: number;
  /** Total neurons N = 90 · latentScaling. */
  N: number;
  /** Excitatory (Pyr) neurons = 72 · latentScaling: the first nExc internal columns. */
  nExc: number;
  /** The 18 populations in nesting order. */
  populations: readonly Population[];
  /** toNesting[internal neuron] = nesting neuron. */
  toNesting: Int32Array;
  /** toInternal[nesting neuron] = internal neuron. */
  toInternal: Int32Array;
  /** Population index (nesting order) of each internal neuron. */
  popOfInternal: Int32Array;
  /** [N, N] matrix in internal order → the same matrix in nesting order (new array). */
  toNestingMatrix(w: Float32Array): Float32Array;
  /** [N, N] matrix in nesting order → internal order (new array). */
  toInternalMatrix(w: Float32Array): Float32Array;
}

/** Index (nesting order) of the population (area, layer, type). */
export function populationIndex(area: Area, layer: Layer, type: CellType): number {
  return AREAS.indexOf(area) * 9 + LAYERS.indexOf(layer) * 3 + CELL_TYPES.indexOf(type);
}

/**
 * The layout for a latent scaling (16 in the paper; 1 gives the 90-neuron model used by tests,
 * i.e. every population shrunk by 1/16).
 * @throws CelltypeLayoutError when latentScaling is not a positive integer
 */
export function celltypeLayout(latentScaling: number = PAPER_LATENT_SCALING): CelltypeLayout {
  if (!Number.isInteger(latentScaling) || latentScaling < 1) {
    throw new CelltypeLayoutError(`latentScaling must be a positive integer (16 in the paper), got ${latentScaling}`);
  }
  const pops: Population[] = [];
  let start = 0;
  for (const area of AREAS) {
    for (const layer of LAYERS) {
      for (const type of CELL_TYPES) {
        const size = TYPE_RATIO[type] * latentScaling;
        pops.push({
          index: pops.length,
          area,
          layer,
          type,
          label: `${area} ${layerLabel(layer)} ${type}`,
          fileKey: `${area}_${layer}_${type.toLowerCase()}`,
          size,
          sign: type === 'Pyr' ? 1 : -1,
          start,
          end: start + size,
          internalStart: -1,
          internalEnd: -1,
        });
        start += size;
      }
    }
  }
  const N = start;
  // Internal order: the Pyr populations first, then the others, each group in nesting order.
  let pos = 0;
  for (const group of [pops.filter((p) => p.sign === 1), pops.filter((p) => p.sign === -1)]) {
    for (const p of group) {
      p.internalStart = pos;
      p.internalEnd = pos + p.size;
      pos += p.size;
    }
  }
  const nExc = pops.filter((p) => p.sign === 1).reduce((s, p) => s + p.size, 0);
  const toNesting = new Int32Array(N);
  const toInternal = new Int32Array(N);
  const popOfInternal = new Int32Array(N);
  for (const p of pops) {
    for (let k = 0; k < p.size; k++) {
      toNesting[p.internalStart + k] = p.start + k;
      toInternal[p.start + k] = p.internalStart + k;
      popOfInternal[p.internalStart + k] = p.index;
    }
  }
  const permute = (w: Float32Array, map: Int32Array, what: string): Float32Array => {
    if (w.length !== N * N) throw new CelltypeLayoutError(`${what}: matrix has length ${w.length}, expected N*N = ${N * N}`);
    // out[i, j] = w[map[i], map[j]]: map sends an output index to the source index.
    const out = new Float32Array(N * N);
    for (let i = 0; i < N; i++) {
      const src = map[i] * N;
      const o = i * N;
      for (let j = 0; j < N; j++) out[o + j] = w[src + map[j]];
    }
    return out;
  };
  return {
    latentScaling,
    N,
    nExc,
    populations: pops,
    toNesting,
    toInternal,
    popOfInternal,
    // nesting[i', j'] = internal[toInternal[i'], toInternal[j']]
    toNestingMatrix: (w) => permute(w, toInternal, 'toNestingMatrix'),
    toInternalMatrix: (w) => permute(w, toNesting, 'toInternalMatrix'),
  };
}

/** Population lookup by (area, layer, type). */
export function population(layout: CelltypeLayout, area: Area, layer: Layer, type: CellType): Population {
  return layout.populations[populationIndex(area, layer, type)];
}
