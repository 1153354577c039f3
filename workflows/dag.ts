/**
 * The stage-DAG bookkeeping both engines schedule with: children of each stage, the count of
 * parents each stage still waits for, the stages a finished stage releases, and the descendants
 * a failed stage takes down with it. The local engine (`engines/local.ts`) and the sweep workflow
 * (`workflows/sweep.ts`) keep their own stage states and ready queues and ask this module only
 * about the graph, through two callbacks on their states.
 *
 * Pure and deterministic (no Node built-ins, no clocks, no randomness, iteration in index order),
 * so it is safe inside workflow code; it lives in workflows/ so that it is part of the bundle's
 * cache key (`workers/temporal-worker.ts`).
 */

/** Stages are plan indices `0 .. n-1`; parents are listed by index (a repeated parent counts twice). */
export class StageDag {
  /** Number of stages. */
  readonly n: number;
  private readonly kids: number[][];
  private readonly waiting: number[];

  /**
   * @param parentsOf the parents of stage i (plan indices), for every i in 0 .. n-1
   * @param done whether a stage already counts as finished successfully (e.g. complete in the
   *   store): its children do not wait for it
   * @throws RangeError when a parent index is outside 0 .. n-1
   */
  constructor(n: number, parentsOf: (i: number) => Iterable<number>, done: (i: number) => boolean) {
    this.n = n;
    this.kids = Array.from({ length: n }, () => []);
    this.waiting = new Array<number>(n).fill(0);
    for (let i = 0; i < n; i++) {
      for (const p of parentsOf(i)) {
        if (!(Number.isInteger(p) && p >= 0 && p < n)) throw new RangeError(`stage ${i} names parent ${p}, outside 0..${n - 1}`);
        this.kids[p].push(i);
        if (!done(p)) this.waiting[i]++;
      }
    }
  }

  /** A DAG from the flat parent lists of a plan skeleton (`parentsFlat[parentsStart[i] .. parentsStart[i+1])`). */
  static fromFlat(parentsStart: readonly number[], parentsFlat: readonly number[], done: (i: number) => boolean): StageDag {
    return new StageDag(parentsStart.length - 1, (i) => parentsFlat.slice(parentsStart[i], parentsStart[i + 1]), done);
  }

  /** Children of stage i, in index order. */
  children(i: number): readonly number[] {
    return this.kids[i];
  }

  /** Parents stage i still waits for. */
  waitingFor(i: number): number {
    return this.waiting[i];
  }

  /** Stages that wait for no parent and are `open` (not yet decided by the caller), in index order. */
  ready(open: (i: number) => boolean): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.n; i++) if (this.waiting[i] === 0 && open(i)) out.push(i);
    return out;
  }

  /**
   * Stage i finished successfully: each child waits for one parent less. Returns the children
   * that now wait for none, in index order (the caller decides whether each is still to run).
   */
  release(i: number): number[] {
    const out: number[] = [];
    for (const c of this.kids[i]) if (--this.waiting[c] === 0) out.push(c);
    return out;
  }

  /**
   * Stage i failed (or was skipped): every descendant still `open` is passed to `skip`, depth
   * first, a descendant's own children after it. `skip` must close the stage (make `open` false
   * for it), so each is skipped once; a descendant that is not open stops the walk there.
   */
  skipDescendants(i: number, open: (c: number) => boolean, skip: (c: number) => void): void {
    const stack = [...this.kids[i]];
    while (stack.length) {
      const c = stack.pop()!;
      if (!open(c)) continue;
      skip(c);
      stack.push(...this.kids[c]);
    }
  }
}
