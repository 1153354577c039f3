/**
 * `dalesweep mst`: the maximum spanning tree of a weight matrix and, given a pruned copy, the
 * fraction of its edges the pruning kept (SCIENCE.md §4). Prints one JSON line.
 */
import type { Command } from 'commander';
import { Option } from 'commander';
import { maximumSpanningTree, mstOverlap, randomOverlapTheory, topProbOverlapLowerBound } from '../rnn/mst.js';
import { FIDELITIES, type Fidelity } from '../rnn/types.js';
import { UsageError } from '../errors/errors.js';
import { readMatrixArg } from './prune.js';

/** Registers the `mst` sub-command. */
export function register(program: Command): void {
  program
    .command('mst')
    .description('Maximum spanning tree of |W| (bipartite graph, post rows x pre columns) and its overlap with a pruned matrix')
    .requiredOption('--weights <file>', 'dense 2-D float32/float64 .npy weight matrix [post, pre]')
    .option('--pruned <file>', 'pruned matrix of the same shape (.npy; zeros = pruned): report the fraction of MST edges kept')
    .option('--sparsity <s>', 'also report the random-pruning expectation and the top-prob lower bound at this sparsity (square matrices only)', (v: string) => {
      const s = Number(v);
      if (v.trim() === '' || !(s >= 0 && s < 1)) throw new UsageError(`--sparsity must be a number in [0, 1), got '${v}'`);
      return s;
    })
    .addOption(new Option('--fidelity <mode>', "'corrected' matches edges by index, 'paper-code' by weight value like the authors").choices([...FIDELITIES]).default('corrected'))
    .action(async (o: { weights: string; pruned?: string; sparsity?: number; fidelity: Fidelity }) => {
      const w = await readMatrixArg(o.weights, '--weights');
      const edges = maximumSpanningTree(w.data, w.m, w.n);
      const line: Record<string, unknown> = { shape: [w.m, w.n], nodes: w.m + w.n, mstEdges: edges.length, spanning: edges.length === w.m + w.n - 1, fidelity: o.fidelity };
      if (o.pruned !== undefined) {
        const p = await readMatrixArg(o.pruned, '--pruned');
        if (p.m !== w.m || p.n !== w.n) throw new UsageError(`--pruned ${o.pruned} has shape (${p.m}, ${p.n}) but --weights ${o.weights} has shape (${w.m}, ${w.n})`);
        const overlap = mstOverlap(edges, p.data, { fidelity: o.fidelity, w: w.data });
        let zeros = 0;
        for (let k = 0; k < p.data.length; k++) if (p.data[k] === 0) zeros++;
        line.prunedSparsity = zeros / p.data.length;
        line.overlap = overlap;
        line.overlapEdges = Math.round(overlap * edges.length);
      }
      if (o.sparsity !== undefined) {
        if (w.m !== w.n) throw new UsageError(`--sparsity: the theory curves need a square matrix, ${o.weights} has shape (${w.m}, ${w.n})`);
        line.sparsity = o.sparsity;
        // The dense matrix's exact zeros are never kept by the corrected random pruner.
        let z0 = 0;
        for (let k = 0; k < w.data.length; k++) if (w.data[k] === 0) z0++;
        line.randomTheory = randomOverlapTheory(w.n, o.sparsity, { fidelity: o.fidelity, zeros: z0 });
        line.topProbLowerBoundFormula = topProbOverlapLowerBound(w.data, w.n, o.sparsity, { fidelity: o.fidelity, probabilities: 'formula' });
        line.topProbLowerBoundRenormalised = topProbOverlapLowerBound(w.data, w.n, o.sparsity, { fidelity: o.fidelity, probabilities: 'renormalised' });
      }
      process.stdout.write(`${JSON.stringify(line)}\n`);
    });
}
