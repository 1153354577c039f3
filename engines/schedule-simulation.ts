/**
 * A list-scheduling simulation of a stage DAG, the model of the local engine's order that
 * `dalesweep plan`'s wall-time estimate (engines/estimate.ts) runs: ready stages first in, first
 * out, children queued when their last parent ends, on a fixed number of slots.
 */

/** A stage as the simulation sees it. */
export interface ScheduleStage {
  id: string;
  parents: readonly string[];
}

/** Result of {@link simulateSchedule}, seconds. */
export interface ScheduleResult {
  /** Time from the start until the last stage ends. */
  makespan: number;
  /** Longest chain of durations through the DAG (the makespan with unlimited slots). */
  criticalPath: number;
  /** Sum of all durations (the makespan on one slot). */
  work: number;
}

/** A binary min-heap of (time, index) pairs. */
class FinishHeap {
  private readonly t: number[] = [];
  private readonly i: number[] = [];
  get size(): number {
    return this.t.length;
  }
  push(time: number, index: number): void {
    let k = this.t.length;
    this.t.push(time);
    this.i.push(index);
    while (k > 0) {
      const p = (k - 1) >> 1;
      if (this.t[p] <= this.t[k]) break;
      this.swap(k, p);
      k = p;
    }
  }
  pop(): { time: number; index: number } {
    const top = { time: this.t[0], index: this.i[0] };
    const lt = this.t.pop()!;
    const li = this.i.pop()!;
    if (this.t.length > 0) {
      this.t[0] = lt;
      this.i[0] = li;
      let k = 0;
      for (;;) {
        const l = 2 * k + 1;
        const r = l + 1;
        let m = k;
        if (l < this.t.length && this.t[l] < this.t[m]) m = l;
        if (r < this.t.length && this.t[r] < this.t[m]) m = r;
        if (m === k) break;
        this.swap(k, m);
        k = m;
      }
    }
    return top;
  }
  private swap(a: number, b: number): void {
    [this.t[a], this.t[b]] = [this.t[b], this.t[a]];
    [this.i[a], this.i[b]] = [this.i[b], this.i[a]];
  }
}

/**
 * Simulates list scheduling of a DAG on `slots` identical slots, as the local engine schedules:
 * stages without parents are ready in the given order, a stage becomes ready (at the back of a
 * first-in first-out queue) when its last parent ends, and a free slot takes the front of the
 * queue. O(n log n).
 * @param stages in topological order (parents before children)
 * @param seconds duration of each stage (≥ 0), same order
 * @param slots stages that run at once (≥ 1)
 * @throws RangeError for a parent not earlier in the list, a negative duration or slots < 1
 */
export function simulateSchedule(stages: readonly ScheduleStage[], seconds: readonly number[], slots: number): ScheduleResult {
  if (!(slots >= 1)) throw new RangeError(`slots must be at least 1, got ${slots}`);
  const index = new Map(stages.map((s, i) => [s.id, i]));
  const children: number[][] = stages.map(() => []);
  const waiting = new Int32Array(stages.length);
  const longest = new Float64Array(stages.length);
  let criticalPath = 0;
  let work = 0;
  stages.forEach((s, i) => {
    const d = seconds[i];
    if (!(d >= 0)) throw new RangeError(`duration of stage ${s.id} must be a number ≥ 0, got ${d}`);
    let before = 0;
    for (const p of s.parents) {
      const j = index.get(p);
      if (j === undefined || j >= i) throw new RangeError(`stage ${s.id}: parent ${p} is not an earlier stage`);
      children[j].push(i);
      before = Math.max(before, longest[j]);
    }
    waiting[i] = s.parents.length;
    longest[i] = before + d;
    criticalPath = Math.max(criticalPath, longest[i]);
    work += d;
  });
  const ready: number[] = [];
  for (let i = 0; i < stages.length; i++) if (waiting[i] === 0) ready.push(i);
  let head = 0;
  const running = new FinishHeap();
  let now = 0;
  for (;;) {
    while (head < ready.length && running.size < slots) {
      const i = ready[head++];
      running.push(now + seconds[i], i);
    }
    if (running.size === 0) break;
    const { time, index: i } = running.pop();
    now = time;
    for (const c of children[i]) if (--waiting[c] === 0) ready.push(c);
  }
  return { makespan: now, criticalPath, work };
}
