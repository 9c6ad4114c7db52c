"""Benchmark: the vectorized log-space BoN estimator against a plain big-integer reference.

Target: `minirmo.bon.bon_estimate` is at least 100x faster than the reference on 64 prompts x
N = 12,500 samples for 60 log-spaced values of n, and agrees with it to 1e-8.

The reference is written the way public reproductions often write it. For each n and each rank
i it computes math.comb(i - 1, n - 1) / math.comb(N, n) with Python's big integers. True
division of big ints is correctly rounded and never overflows here. Then it averages the sorted
pools over prompts with numpy.

    python benchmarks/bon_estimator.py                   # times the full reference
    python benchmarks/bon_estimator.py --reference-ns 12 # times it on 12 of the 60 n values
                                                         # and extrapolates linearly
"""

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # works from a plain checkout
from minirmo.bon import bon_estimate  # noqa: E402


def log_grid(N: int, count: int) -> list[int]:
    """`count` distinct integers from 1 to N, spaced as evenly in log n as rounding allows."""
    points = count
    while len(ns := np.unique(np.rint(np.geomspace(1, N, points)).astype(int))) < count:
        points += 1
    return ns.tolist()


def reference(proxy: np.ndarray, gold: np.ndarray, ns: list[int]):
    """Plain estimator: Python big-int binomials per (n, i), numpy averages over prompts."""
    N = proxy.shape[1]
    order = np.argsort(proxy, axis=1, kind="stable")  # (prompts, N)
    proxy_sorted = np.take_along_axis(proxy, order, 1)
    gold_sorted = np.take_along_axis(gold, order, 1)
    est_proxy, est_gold = [], []
    for n in ns:
        total = math.comb(N, n)
        w = np.array([math.comb(i - 1, n - 1) / total for i in range(1, N + 1)])  # (N,)
        est_proxy.append((proxy_sorted @ w).mean())
        est_gold.append((gold_sorted @ w).mean())
    return np.array(est_proxy), np.array(est_gold)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--prompts", type=int, default=64)
    parser.add_argument("--N", type=int, default=12_500)
    parser.add_argument("--num-ns", type=int, default=60)
    parser.add_argument("--reference-ns", type=int, default=None,
                        help="time the reference on this many of the n values (spread over the "
                             "grid) and extrapolate linearly; default: all of them")
    parser.add_argument("--repeats", type=int, default=5, help="timing repeats for ours (best)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    gold = rng.standard_normal((args.prompts, args.N))  # (prompts, N)
    proxy = gold + rng.standard_normal((args.prompts, args.N))
    ns = log_grid(args.N, args.num_ns)
    print(f"pool: {args.prompts} prompts x N = {args.N:,} samples; {len(ns)} values of n from "
          f"{ns[0]} to {ns[-1]:,}; torch threads: {torch.get_num_threads()}")

    proxy_t, gold_t = torch.from_numpy(proxy), torch.from_numpy(gold)
    bon_estimate(proxy_t, gold_t, ns)  # warm-up
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        ours_proxy, ours_gold = bon_estimate(proxy_t, gold_t, ns)
        times.append(time.perf_counter() - start)
    ours = min(times)
    print(f"ours:      {ours:10.4f} s   (best of {args.repeats}, all {len(ns)} n)")

    k = len(ns) if args.reference_ns is None else min(args.reference_ns, len(ns))
    picked = np.unique(np.linspace(0, len(ns) - 1, k).round().astype(int))  # spread over grid
    start = time.perf_counter()
    ref_proxy, ref_gold = reference(proxy, gold, [ns[j] for j in picked])
    measured = time.perf_counter() - start
    if len(picked) == len(ns):
        ref = measured
        print(f"reference: {ref:10.4f} s   (all {len(ns)} n)")
    else:
        ref = measured * len(ns) / len(picked)
        print(f"reference: {ref:10.4f} s   EXTRAPOLATED: measured {measured:.2f} s on "
              f"{len(picked)} of the {len(ns)} n values (evenly spread over the log grid), "
              f"scaled linearly by {len(ns)}/{len(picked)}")

    diff = max(np.abs(ours_proxy.numpy()[picked] - ref_proxy).max(),
               np.abs(ours_gold.numpy()[picked] - ref_gold).max())
    print(f"max |ours - reference| = {diff:.2e}  (over proxy and gold, {len(picked)} n values)")
    assert diff < 1e-8, f"estimators disagree by {diff}"
    print(f"speedup reference/ours: {ref / ours:,.0f}x  (target: >= 100x)")


if __name__ == "__main__":
    main()
