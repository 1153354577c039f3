#!/usr/bin/env python3
"""Compare the loss curves in one or more harness exports (scripts/torch-harness/).

For each export folder: every pair of step-loss curves (dalesweep's and each torch_<tag> run) ->
the first step where they differ by more than 1e-5, 1e-3 and 1e-1 relative; then the per-epoch
test losses side by side, and the "relapses" of each curve: epochs whose test loss is above
--relapse-high after the curve had been below --relapse-low (dalesweep units: mean MSE over the
test set; the authors' unit, the sum over 5 test batches of 200, is 5x).

With --resync runs (torch_*_resync*.json): per epoch, how far one epoch of PyTorch ends from
dalesweep's next snapshot when both start from dalesweep's state (max over tensors of
max|w_torch - w_dalesweep| / max|w_dalesweep|), summarised, the epochs where that exceeds 1e-3
with dalesweep's train-loss change in that epoch, and, with a --control run, the same distance
between the two PyTorch formulations and from the control to dalesweep.

Usage: python3 scripts/torch-harness/compare.py /tmp/th/seed0 [/tmp/th/seed1 ...] [--every 5]
"""
from __future__ import annotations

import argparse
import glob
import json
import os

import numpy as np


def first_exceeding(a: np.ndarray, b: np.ndarray, thr: float) -> int | None:
    n = min(len(a), len(b))
    rel = np.abs(a[:n] - b[:n]) / np.maximum(np.abs(b[:n]), 1e-30)
    w = np.nonzero(rel > thr)[0]
    return int(w[0]) if len(w) else None


def relapses(test: list[float], low: float, high: float) -> list[int]:
    out, best = [], float("inf")
    for e, v in enumerate(test, start=1):
        if v > high and best < low:
            out.append(e)
        best = min(best, v)
    return out


def load(d: str) -> tuple[dict[str, np.ndarray], dict[str, list[float]], int]:
    steps: dict[str, np.ndarray] = {}
    tests: dict[str, list[float]] = {}
    cfg = json.load(open(os.path.join(d, "config.json")))
    nb = -(-int(cfg["nTrain"]) // int(cfg["batch"]))
    p = os.path.join(d, "dalesweep_step_loss.npy")
    if os.path.exists(p):
        steps["dalesweep"] = np.load(p)
        tests["dalesweep"] = [r["testLoss"] for r in json.load(open(os.path.join(d, "dalesweep_epochs.json")))["epochs"]]
    for f in sorted(glob.glob(os.path.join(d, "torch_*_step_loss.npy"))):
        tag = os.path.basename(f)[len("torch_") : -len("_step_loss.npy")]
        if "_resync" in tag:
            continue
        steps[f"torch_{tag}"] = np.load(f)
        tests[f"torch_{tag}"] = [r["testLoss"] for r in json.load(open(os.path.join(d, f"torch_{tag}.json")))["epochs_torch"]]
    return steps, tests, nb


def resync_summary(path: str, d: str) -> None:
    j = json.load(open(path))
    recs = j["epochs_torch"]
    ds = json.load(open(os.path.join(d, "dalesweep_epochs.json")))["epochs"]
    mx = np.array([max(r["param_rel_diff_after_epoch"].values()) for r in recs])
    q = lambda a: f"median {np.median(a):.1e}, 90th pct {np.percentile(a, 90):.1e}, max {a.max():.1e}"
    print(f"{os.path.basename(path)}: one epoch from dalesweep's state, |torch - dalesweep| param rel diff: {q(mx)} over {len(mx)} epochs")
    ctl = [r for r in recs if "control" in r]
    if ctl:
        c_t = np.array([max(r["control_param_rel_diff_to_torch"].values()) for r in ctl])
        c_d = np.array([max(r["control_param_rel_diff_to_dalesweep"].values()) for r in ctl])
        print(f"  |torch - {ctl[0]['control']}|: {q(c_t)}")
        print(f"  |{ctl[0]['control']} - dalesweep|: {q(c_d)}")
    big = [i for i, v in enumerate(mx) if v > 1e-3]
    print(f"  epochs with diff > 1e-3: {len(big)} of {len(mx)}")
    prev = lambda i: ds[i - 1]["trainLoss"] if i > 0 else float("nan")
    for i in big:
        extra = ""
        if ctl:
            r = recs[i]
            extra = f", torch vs {r['control']} {max(r['control_param_rel_diff_to_torch'].values()):.1e}, {r['control']} vs dalesweep {max(r['control_param_rel_diff_to_dalesweep'].values()):.1e}"
        print(f"    epoch {i + 1}: diff {mx[i]:.1e}{extra}; dalesweep train loss {prev(i):.3f} -> {ds[i]['trainLoss']:.3f}, "
              f"max step-loss rel diff {recs[i]['max_step_loss_rel_diff']:.1e}")
    small = [i for i, v in enumerate(mx) if v <= 1e-3]
    if small:
        print(f"  the other {len(small)} epochs: {q(mx[small])}")
    print()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("exports", nargs="+")
    ap.add_argument("--every", type=int, default=5, help="print every k-th epoch of the test-loss table")
    ap.add_argument("--relapse-low", type=float, default=0.2)
    ap.add_argument("--relapse-high", type=float, default=0.4)
    ap.add_argument("--table", default=None, metavar="RUN",
                    help="only print one Markdown table of the per-epoch test losses of dalesweep and torch_RUN "
                    "(e.g. float32_loop) across the exports, every --every epochs")
    ap.add_argument("--csv", default=None, metavar="PATH",
                    help="only write the per-epoch train and test losses of every free-running curve of the exports "
                    "as CSV (seed,run,epoch,trainLoss,testLoss), and the re-synchronised runs' per-epoch distances to "
                    "PATH with -resync.csv for .csv")
    args = ap.parse_args()
    if args.csv is not None:
        with open(args.csv, "w") as f:
            f.write("seed,run,epoch,trainLoss,testLoss\n")
            for d in args.exports:
                seed = json.load(open(os.path.join(d, "config.json")))["seed"]
                runs = [("dalesweep", json.load(open(os.path.join(d, "dalesweep_epochs.json")))["epochs"])]
                for jf in sorted(glob.glob(os.path.join(d, "torch_*.json"))):
                    j = json.load(open(jf))
                    if not j.get("resync"):
                        runs.append((os.path.basename(jf)[len("torch_") : -len(".json")], j["epochs_torch"]))
                for name, recs in runs:
                    for r in recs:
                        f.write(f"{seed},{name},{r['epoch']},{r['trainLoss']:.8g},{r['testLoss']:.8g}\n")
        print(f"wrote {args.csv}")
        rpath = args.csv[: -len(".csv")] + "-resync.csv" if args.csv.endswith(".csv") else args.csv + "-resync"
        rows = []
        for d in args.exports:
            seed = json.load(open(os.path.join(d, "config.json")))["seed"]
            for jf in sorted(glob.glob(os.path.join(d, "torch_*resync*.json"))):
                name = os.path.basename(jf)[len("torch_") : -len(".json")]
                for r in json.load(open(jf))["epochs_torch"]:
                    c_t = max(r["control_param_rel_diff_to_torch"].values()) if "control" in r else ""
                    c_d = max(r["control_param_rel_diff_to_dalesweep"].values()) if "control" in r else ""
                    rows.append(f"{seed},{name},{r['epoch']},{max(r['param_rel_diff_after_epoch'].values()):.4g},"
                                f"{r['max_step_loss_rel_diff']:.4g},{r.get('control', '')},{c_t if c_t == '' else f'{c_t:.4g}'},"
                                f"{c_d if c_d == '' else f'{c_d:.4g}'}")
        if rows:
            with open(rpath, "w") as f:
                f.write("seed,run,epoch,paramRelDiffTorchVsDalesweep,maxStepLossRelDiff,control,paramRelDiffTorchVsControl,paramRelDiffControlVsDalesweep\n")
                f.write("\n".join(rows) + "\n")
            print(f"wrote {rpath}")
        return
    if args.table is not None:
        cols = []
        for d in args.exports:
            steps, tests, _ = load(d)
            seed = json.load(open(os.path.join(d, "config.json")))["seed"]
            cols.append((f"s{seed} dalesweep", tests.get("dalesweep", [])))
            cols.append((f"s{seed} torch", tests.get(f"torch_{args.table}", [])))
        print("| epoch | " + " | ".join(c[0] for c in cols) + " |")
        print("|---" * (len(cols) + 1) + "|")
        n = max(len(c[1]) for c in cols)
        for e in range(n):
            if (e + 1) % args.every == 0 or e == 0:
                print(f"| {e + 1} | " + " | ".join(f"{c[1][e]:.4f}" if e < len(c[1]) else "" for c in cols) + " |")
        return
    for d in args.exports:
        steps, tests, nb = load(d)
        names = list(steps)
        print(f"## {d} ({nb} steps per epoch; step s is in epoch s // {nb} + 1)")
        print("pair | first step rel > 1e-5 | > 1e-3 | > 1e-1")
        for i in range(len(names)):
            for j in range(i + 1, len(names)):
                a, b = steps[names[i]], steps[names[j]]
                r = [first_exceeding(a, b, t) for t in (1e-5, 1e-3, 1e-1)]
                fmt = lambda s: "none" if s is None else f"{s} (ep {s // nb + 1})"
                print(f"{names[i]} vs {names[j]} | " + " | ".join(fmt(s) for s in r))
        print()
        print("epoch | " + " | ".join(names))
        n = max(len(t) for t in tests.values())
        for e in range(n):
            if (e + 1) % args.every == 0 or e == 0:
                print(f"{e + 1} | " + " | ".join(f"{tests[k][e]:.4f}" if e < len(tests[k]) else "" for k in names))
        print()
        for f in sorted(glob.glob(os.path.join(d, "torch_*resync*.json"))):
            resync_summary(f, d)
        for k in names:
            t = tests[k]
            rel = relapses(t, args.relapse_low, args.relapse_high)
            st = steps[k]
            print(f"{k}: final test {t[-1]:.4g} (x5 = {5 * t[-1]:.4g}), min test {min(t):.4g} (epoch {int(np.argmin(t)) + 1}), "
                  f"max test after epoch 10 {max(t[10:]) if len(t) > 10 else float('nan'):.3f}, max step train loss after epoch 10 "
                  f"{st[10 * nb:].max() if len(st) > 10 * nb else float('nan'):.3f}; relapse epochs: {len(rel)}"
                  + (f" (first {rel[0]}, last {rel[-1]})" if rel else ""))
        print()


if __name__ == "__main__":
    main()
