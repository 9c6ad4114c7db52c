"""Does a world give the paper's scaling law? Best-of-n against every proxy size, on one
number of comparisons, and how the fitted α and β move with RM size.

    python benchmarks/scaling_probe.py --preset paper --seeds 0 1 [--pairs 8000]
        [--world graded|one-trap] [--pool 4096] [--out DIR]

Trains (or loads from DIR's cache, which `minirmo reproduce --out DIR` shares) the preset's
gold RM, the proxies of every size on `pairs` of its comparisons (default: the most) and the
best-of-n pool, at each seed, and prints per size: the fitted α_bon,
β_bon, R² and peak on the seed-mean curve, the seed-mean gold at n = N, and how often the
proxy's best-of-N sample falls into each of the world's traps. Then the Spearman correlation
of α, β and the peak d* with log(params), and the slope per decade with its interval over
seeds. It is the quick loop for tuning the world before the paper preset's full run (which
adds RL, the data sweep and the other studies).
"""

import argparse
from dataclasses import replace

import torch

from minirmo import analysis
from minirmo.runs.presets import GRADED_WORLD, get_preset
from minirmo.runs.studies import bon_rows, seed_runs
from minirmo.world import WorldConfig


def trap_rates(run, size, pairs) -> dict:
    """For each trap: the share of prompts whose proxy-best sample of the pool falls into it."""
    pool = run.pool()  # (prompts, N, seq_len)
    scores = run.proxy(size, pairs).model.score(pool)  # (prompts, N)
    best = pool[torch.arange(len(pool)), scores.argmax(1)]  # (prompts, seq_len)
    return {trap: hit.float().mean().item() for trap, hit in run.world.fell_into(best).items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="paper")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--pairs", type=int, default=None, help="default: the preset's most")
    parser.add_argument("--world", choices=("graded", "one-trap"), default=None,
                        help="default: the preset's own world")
    parser.add_argument("--pool", type=int, default=None, help="N (default: the preset's)")
    parser.add_argument("--out", default="runs/probe")
    args = parser.parse_args()
    preset = get_preset(args.preset)
    pairs = args.pairs or preset.proxy_data[-1]
    if pairs not in preset.proxy_data:  # so that the comparisons (and cache) stay the preset's
        raise SystemExit(f"--pairs must be one of the preset's {preset.proxy_data}")
    changes = {"bon_pool": args.pool or preset.bon_pool}
    if args.world:
        changes["world"] = GRADED_WORLD if args.world == "graded" else WorldConfig()
    preset = replace(preset, **changes)
    runs = seed_runs(preset, args.out, seeds=args.seeds, progress=False)
    bon = bon_rows(runs, [(size, pairs) for size in preset.proxy_sizes])
    fits = [r for r in analysis.fit_rows(bon) if r["seed"] == analysis.MEAN]
    ns = sorted({r["n"] for r in bon})
    end = {r["rm_params"]: r["gold"] for r in analysis.seed_mean(bon) if r["n"] == ns[-1]}
    print(f"{preset.name} preset, world {preset.world}\n{pairs:,} comparisons, N = "
          f"{preset.bon_pool:,}, seeds {args.seeds}; share of best-of-N samples in each trap "
          "(mean over seeds)")
    traps = list(runs[0].world.fell_into(runs[0].pool()[:1, 0]))
    print(f"{'params':>9} {'alpha':>6} {'beta':>6} {'R2':>5} {'d*':>6} {'gold*':>6} "
          f"{'gold@N':>6}  " + " ".join(f"{t[:8]:>8}" for t in traps))
    for size, row in zip(preset.proxy_sizes, sorted(fits, key=lambda r: r["rm_params"]),
                         strict=True):
        rates = [trap_rates(run, size, pairs) for run in runs]
        shares = [sum(r[t] for r in rates) / len(rates) for t in traps]
        print(f"{row['rm_params']:>9,} {row['alpha']:6.3f} {row['beta']:6.3f} {row['r2']:5.2f} "
              f"{row['peak_d']:6.2f} {row['peak_gold']:6.2f} {end[row['rm_params']]:6.2f}  "
              + " ".join(f"{s:8.2f}" for s in shares))
    params = [r["rm_params"] for r in sorted(fits, key=lambda r: r["rm_params"])]
    for name, scale in analysis.scaling(analysis.fit_rows(bon)).items():
        print(f"{name}: slope {scale.slope:+.3f} per decade (seed mean line R2 "
              f"{scale.line.r2:.2f}), Spearman {scale.spearman:+.2f}")
    d_star = [r["peak_d"] for r in sorted(fits, key=lambda r: r["rm_params"])]
    print(f"peak d* = alpha/2beta: Spearman {analysis.spearman(params, d_star):+.2f}")


if __name__ == "__main__":
    main()
