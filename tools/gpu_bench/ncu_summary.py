#!/usr/bin/env python3
"""Sums Nsight Compute's per-kernel durations (ncu --metrics gpu__time_duration.sum --csv) by
kernel name: count, total and mean microseconds, share of the total, largest first.

    python3 tools/gpu_bench/ncu_summary.py ncu.csv
"""
import collections
import csv
import sys


def main():
    lines = open(sys.argv[1]).read().splitlines()
    start = next(i for i, l in enumerate(lines) if l.startswith('"ID"'))
    totals = collections.defaultdict(lambda: [0, 0.0])
    for row in csv.DictReader(lines[start:]):
        if row.get("Metric Name") != "gpu__time_duration.sum":
            continue
        value = float(row["Metric Value"].replace(",", ""))
        scale = {"ns": 1e-3, "nsecond": 1e-3, "us": 1.0, "usecond": 1.0, "ms": 1e3,
                 "msecond": 1e3}[row["Metric Unit"]]
        name = row["Kernel Name"].split("(")[0][:70]
        totals[name][0] += 1
        totals[name][1] += value * scale
    grand = sum(t for _, t in totals.values())
    print(f"{'kernel':70} {'count':>6} {'total us':>10} {'mean us':>9} {'share':>6}")
    for name, (n, t) in sorted(totals.items(), key=lambda kv: -kv[1][1]):
        print(f"{name:70} {n:6d} {t:10.1f} {t / n:9.2f} {t / grand:6.1%}")
    print(f"{'all':70} {sum(n for n, _ in totals.values()):6d} {grand:10.1f}")


if __name__ == "__main__":
    main()
