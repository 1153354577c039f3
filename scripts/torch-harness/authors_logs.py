#!/usr/bin/env python3
"""Per-epoch test losses the authors' flip-flop notebooks printed while training.

Reads the saved outputs ("Epoch: k, Test Loss(x)") of a notebook of HChoiLab/biologicalRNNs
(Dales-backprop/flip-flop-*-backprop.ipynb; 5 runs of 100 epochs, test loss = sum of the MSE of
5 test batches of 200) and prints, per run, the curve every --every epochs, the largest test loss
after epoch 10, the final value, and the "relapses": epochs whose test loss is above --high after
the run had been below --low (defaults 2.0 and 1.0 in the authors' unit = 0.4 and 0.2 in
dalesweep's mean-over-the-test-set unit, the defaults of compare.py).

Usage: python3 scripts/torch-harness/authors_logs.py NOTEBOOK.ipynb [--every 5]
(with git: git -C <mirror> show HEAD:Dales-backprop/flip-flop-conventional-backprop.ipynb > nb.ipynb)
"""
from __future__ import annotations

import argparse
import json
import re


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("notebook")
    ap.add_argument("--every", type=int, default=5)
    ap.add_argument("--low", type=float, default=1.0)
    ap.add_argument("--high", type=float, default=2.0)
    args = ap.parse_args()
    nb = json.load(open(args.notebook))
    text = "".join("".join(o.get("text", "")) for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", []))
    runs: list[dict[int, float]] = []
    for e, v in re.findall(r"Epoch: (\d+), Test Loss\(([0-9.eE+-]+)\)", text):
        if int(e) == 1:
            runs.append({})
        runs[-1][int(e)] = float(v)
    finals = []
    for i, r in enumerate(runs):
        ks = sorted(r)
        best, rel = float("inf"), []
        for k in ks:
            if r[k] > args.high and best < args.low:
                rel.append(k)
            best = min(best, r[k])
        finals.append(r[ks[-1]])
        curve = " ".join(f"{k}:{r[k]:.3f}" for k in ks if k == 1 or k % args.every == 0)
        print(f"run {i}: {len(ks)} epochs, max after epoch 10 {max(r[k] for k in ks if k > 10):.3f}, final {r[ks[-1]]:.6f}, relapses {rel}")
        print(f"  {curve}")
    if finals:
        import statistics

        print(f"final: mean {statistics.mean(finals):.4f}, sd {statistics.pstdev(finals):.4f} (ddof 0, numpy's np.std, as the authors"
              f" report) / {statistics.stdev(finals) if len(finals) > 1 else 0:.4f} (ddof 1) over {len(finals)} runs")


if __name__ == "__main__":
    main()
