/**
 * Learning-rate schedules, stepped once per epoch (SCIENCE.md §6: the authors train the
 * CelltypeRNN with Adam under `torch.optim.lr_scheduler.CosineAnnealingLR(T_max=10,
 * eta_min=1e-4)`).
 *
 * Where the authors step it: in `demo-celltypeRNN.ipynb` (HChoiLab/biologicalRNNs) both the dense
 * loop and the fine-tuning loop call `scheduler.step()` once per epoch, after the epoch's last
 * batch (the usual PyTorch pattern), and fine-tuning builds a fresh scheduler (and optimiser) on
 * the pruned model. So epoch e (0-based, counted from the start of the stage) trains with
 * lr(e): lr(0) = eta_max (the optimiser's lr) for the whole first epoch, lr(1) after the first
 * `step()`, and so on; a fine-tuning stage starts again at lr(0).
 *
 * Past T_max: PyTorch's closed form
 *   lr(t) = eta_min + (eta_max − eta_min) · (1 + cos(π t / T_max)) / 2
 * is periodic with period 2·T_max (it climbs back to eta_max at t = 2·T_max, it does not restart
 * at t = T_max and does not stay at eta_min). The recursive form that `CosineAnnealingLR.step()`
 * actually evaluates,
 *   lr(t) = (1 + cos(π t / T)) / (1 + cos(π (t − 1) / T)) · (lr(t − 1) − eta_min) + eta_min,
 * with the special case lr(t) = lr(t − 1) + (eta_max − eta_min)(1 − cos(π / T)) / 2 when
 * (t − 1 − T) mod 2T = 0 (where the ratio's denominator vanishes), equals the closed form in
 * exact arithmetic at every t, so it cycles the same way; the two differ only by floating-point
 * rounding accumulated by the recursion (below 1e-14 relative up to t = 5·T_max, checked in
 * lr-schedule.test.ts). We use the closed form: it depends on t alone, so a run
 * resumed from a checkpoint at epoch k uses exactly the learning rates of an uninterrupted run.
 */

/** A learning-rate schedule over epochs. */
export type LrSchedule =
  | { kind: 'constant' }
  | {
      kind: 'cosine';
      /** Half period T_max in epochs (integer >= 1); the authors' 10. */
      tMax: number;
      /** Minimum learning rate eta_min (>= 0); the authors' 1e-4. */
      etaMin: number;
    };

/** Names of the schedules (the sweep parameter `lrSchedule`). */
export type LrScheduleName = LrSchedule['kind'];
export const LR_SCHEDULES: readonly LrScheduleName[] = ['constant', 'cosine'];

/** The authors' cosine schedule: CosineAnnealingLR(T_max = 10, eta_min = 1e-4). */
export const AUTHORS_COSINE: Readonly<{ tMax: number; etaMin: number }> = { tMax: 10, etaMin: 1e-4 };

/** Thrown on an invalid schedule. */
export class LrScheduleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LrScheduleError';
  }
}

/** Checks a schedule's fields. @throws LrScheduleError naming the bad field */
export function validateLrSchedule(s: LrSchedule): void {
  if (s.kind === 'constant') return;
  if (s.kind !== 'cosine') throw new LrScheduleError(`lr schedule must be constant or cosine, got ${String((s as { kind: unknown }).kind)}`);
  if (!Number.isInteger(s.tMax) || s.tMax < 1) throw new LrScheduleError(`cosine lr schedule: tMax must be an integer >= 1 (epochs), got ${s.tMax}`);
  if (!(Number.isFinite(s.etaMin) && s.etaMin >= 0)) throw new LrScheduleError(`cosine lr schedule: etaMin must be a number >= 0, got ${s.etaMin}`);
}

/**
 * Learning rate of epoch `t` (0-based within the stage) for base learning rate `lr` (eta_max):
 * `lr` for the constant schedule, PyTorch's closed form (see the module comment) for cosine.
 * @param lr base learning rate (> 0)
 * @param t epochs completed before this one (integer >= 0)
 */
export function learningRateAt(lr: number, schedule: LrSchedule, t: number): number {
  if (schedule.kind === 'constant') return lr;
  const { tMax, etaMin } = schedule;
  return etaMin + ((lr - etaMin) * (1 + Math.cos((Math.PI * t) / tMax))) / 2;
}

/**
 * PyTorch's recursive form of CosineAnnealingLR (what `scheduler.step()` computes), as a
 * reference for tests: lr(0), lr(1), ..., lr(epochs − 1).
 */
export function cosineRecursive(lr: number, tMax: number, etaMin: number, epochs: number): number[] {
  const out: number[] = [];
  let cur = lr;
  for (let t = 0; t < epochs; t++) {
    if (t === 0) cur = lr;
    else if ((t - 1 - tMax) % (2 * tMax) === 0) cur = cur + ((lr - etaMin) * (1 - Math.cos(Math.PI / tMax))) / 2;
    else cur = ((1 + Math.cos((Math.PI * t) / tMax)) / (1 + Math.cos((Math.PI * (t - 1)) / tMax))) * (cur - etaMin) + etaMin;
    out.push(cur);
  }
  return out;
}
