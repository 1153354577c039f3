#!/usr/bin/env python3
"""Per-keep-level table of a pruning sweep's results.csv (docs/reproduction.md).

Usage: python3 scripts/pruning-table.py STORE/sweeps/<sweep>/results.csv

Prints, per task, a Markdown table: keep fraction, then the test loss (mean +- sd over seeds, n)
of random and top-prob pruning without retraining ("pruned") and after fine-tuning
("finetuned"), and the mean MST overlap of each method. Only succeeded rows count.
"""
import csv
import statistics
import sys
from collections import defaultdict


def fmt(v):
    if not v:
        return 'n/a'
    m = statistics.fmean(v)
    s = statistics.stdev(v) if len(v) > 1 else float('nan')
    return f'{m:.3g} ± {s:.2g} ({len(v)})'


COLUMNS = ('task', 'status', 'phase', 'pruning', 'sparsity', 'testLoss', 'mstOverlap')


def rows(path):
    """The rows of results.csv; exits with one line naming the file when it is missing or not a pruning sweep's."""
    try:
        with open(path, newline='') as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                sys.exit(f'pruning-table.py: {path}: no column {", ".join(missing)} (expected a pruning sweep\'s results.csv)')
            return list(reader)
    except OSError as e:
        sys.exit(f'pruning-table.py: cannot read {path}: {e.strerror}')


def main(path):
    loss = defaultdict(list)
    mst = defaultdict(list)
    dense = defaultdict(list)
    for r in rows(path):
        if r['status'] != 'succeeded':
            continue
        if r['phase'] == 'dense':
            dense[r['task']].append(float(r['testLoss']))
            continue
        keep = round(1 - float(r['sparsity']), 4)
        loss[(r['task'], keep, r['pruning'], r['phase'])].append(float(r['testLoss']))
        if r['phase'] == 'pruned' and r['mstOverlap']:
            mst[(r['task'], keep, r['pruning'])].append(float(r['mstOverlap']))
    for task in sorted({k[0] for k in loss}):
        print(f'\n{task} (dense test loss {fmt(dense[task])}; test-set mean MSE, mean ± sd (n))\n')
        print('| keep | random, pruned | top-prob, pruned | random, fine-tuned | top-prob, fine-tuned | MST overlap random / top-prob |')
        print('|---|---|---|---|---|---|')
        for keep in sorted({k[1] for k in loss if k[0] == task}):
            cells = [fmt(loss[(task, keep, p, ph)]) for ph in ('pruned', 'finetuned') for p in ('random', 'top-prob')]
            ov = ' / '.join(f'{statistics.fmean(mst[(task, keep, p)]):.3f}' if mst[(task, keep, p)] else 'n/a' for p in ('random', 'top-prob'))
            print(f'| {keep:.4f} | ' + ' | '.join(cells) + f' | {ov} |')


if __name__ == '__main__':
    if len(sys.argv) != 2:
        sys.exit('usage: pruning-table.py RESULTS_CSV')
    main(sys.argv[1])
