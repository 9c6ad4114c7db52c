"""Does a world give the paper's scaling law? Every proxy size on one number of comparisons:
what each knows (test accuracy), its best-of-n curve, and how α and β move with RM size.

    python benchmarks/scaling_probe.py --preset paper --seeds 0 1 2 [--pairs 8000]
        [--set bon_pool=4096] [--set pretrain.texts=200000] [--out DIR]

Trains (or loads from DIR's cache, which `minirmo reproduce --out DIR` shares) the preset's
gold RM, the proxies of every size on `pairs` of its comparisons (default: the most) and the
best-of-n pool, at each seed; `--set` changes any setting of the preset as on the command line
(`--set pretrain.texts=200000` pretrains every proxy on the verdict corpus). It prints per size:
the test accuracy on the seed's held-out comparisons, the fitted α_bon, β_bon, R² and peak on
the seed-mean curve, the seed-mean peak gold and gold at n = N, and how often the proxy's
best-of-N sample falls into each of the world's traps. Then the Spearman correlation of test
accuracy, α, β, the peak d* and the peak gold with log(params), and the gate before a full
sweep: test accuracy rising with size (Spearman >= 0.9 on seed means) and the largest proxy
beating the 8,129-param one by at least 2 points. It is the quick loop for tuning the world
before the paper preset's full run (which adds RL, the data sweep and the other studies).
"""

import argparse
import os
from functools import partial

import torch

from minirmo import analysis
from minirmo.runs import overrides
from minirmo.runs.parallel import train_in_parallel
from minirmo.runs.presets import get_preset
from minirmo.runs.studies import bon_rows, log_spaced_ns, seed_runs


def trap_rates(run, size, pairs) -> dict:
    """For each trap: the share of prompts whose proxy-best sample of the pool falls into it."""
    pool = run.pool()  # (prompts, N, seq_len)
    scores = run.proxy(size, pairs).model.score(pool)  # (prompts, N)
    best = pool[torch.arange(len(pool)), scores.argmax(1)]  # (prompts, seq_len)
    return {trap: hit.float().mean().item() for trap, hit in run.world.fell_into(best).items()}


def probe_leaves(run, pairs: int) -> list:
    """What the probe reads at one seed: every size's best-of-n curve and test."""
    ns = tuple(log_spaced_ns(run.preset.bon_pool))
    return [artefact for size in run.preset.proxy_sizes for artefact in
            (run.bon_artefact(size, pairs, ns), run.proxy_test_artefact(size, pairs))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="paper")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--pairs", type=int, default=None, help="default: the preset's most")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                        dest="assignments", help="change a setting, as on the command line")
    parser.add_argument("--out", default="runs/probe")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="models trained at once, one process and thread each")
    args = parser.parse_args()
    preset = overrides.apply(get_preset(args.preset), args.assignments)
    pairs = args.pairs or preset.proxy_data[-1]
    if pairs not in preset.proxy_data:  # so that the comparisons (and cache) stay the preset's
        raise SystemExit(f"--pairs must be one of the preset's {preset.proxy_data}")
    torch.set_num_threads(1)  # as the `minirmo` command: the same bits as its runs
    runs = seed_runs(preset, args.out, seeds=args.seeds, progress=False)
    if args.jobs > 1:
        train_in_parallel(runs, partial(probe_leaves, pairs=pairs), args.jobs)
    bon = bon_rows(runs, [(size, pairs) for size in preset.proxy_sizes])
    fits = sorted((r for r in analysis.fit_rows(bon) if r["seed"] == analysis.MEAN),
                  key=lambda r: r["rm_params"])
    mean = analysis.seed_mean(bon)
    ns = sorted({r["n"] for r in bon})
    end = {r["rm_params"]: r["gold"] for r in mean if r["n"] == ns[-1]}
    top = {p: max(r["gold"] for r in mean if r["rm_params"] == p) for p in end}
    accuracy = {f["rm_params"]: analysis.Interval.of(
        [run.proxy_test(size, pairs)["accuracy"] for run in runs])
        for f, size in zip(fits, preset.proxy_sizes, strict=True)}
    print(f"{preset.name} preset {' '.join(preset.overrides)}\n{pairs:,} comparisons, N = "
          f"{preset.bon_pool:,}, seeds {args.seeds}; share of best-of-N samples in each trap "
          "(mean over seeds)")
    traps = list(runs[0].world.fell_into(runs[0].pool()[:1, 0]))
    print(f"{'params':>9} {'test acc [min, max]':>20} {'alpha':>6} {'beta':>6} {'R2':>5} "
          f"{'d*':>6} {'gold*':>6} {'gold@N':>6}  " + " ".join(f"{t[:8]:>8}" for t in traps))
    for size, row in zip(preset.proxy_sizes, fits, strict=True):
        rates = [trap_rates(run, size, pairs) for run in runs]
        shares = [sum(r[t] for r in rates) / len(rates) for t in traps]
        params = row["rm_params"]
        print(f"{params:>9,} {accuracy[params]:>20.3f} {row['alpha']:6.3f} {row['beta']:6.3f} "
              f"{row['r2']:5.2f} {row['peak_d']:6.2f} {top[params]:6.2f} {end[params]:6.2f}  "
              + " ".join(f"{s:8.2f}" for s in shares))
    params = [r["rm_params"] for r in fits]
    for name, scale in analysis.scaling(analysis.fit_rows(bon)).items():
        print(f"{name}: slope {scale.slope:+.3f} per decade (seed mean line R2 "
              f"{scale.line.r2:.2f}), Spearman {scale.spearman:+.2f}")
    for name, values in [("peak d* = alpha/2beta", [r["peak_d"] for r in fits]),
                         ("best-of-n peak gold", [top[p] for p in params]),
                         ("test accuracy", [accuracy[p].mean for p in params])]:
        print(f"{name}: Spearman {analysis.spearman(params, values):+.2f}")
    rho = analysis.spearman(params, [accuracy[p].mean for p in params])
    reference = min(params, key=lambda p: abs(p - 8129))  # the first size that flattened
    gain = accuracy[params[-1]].mean - accuracy[reference].mean
    passed = rho >= 0.9 and gain >= 0.02
    print(f"gate: test accuracy Spearman {rho:+.2f} (>= 0.9), largest minus {reference:,} "
          f"params {gain:+.3f} (>= +0.020): {'passed' if passed else 'not passed'}")


if __name__ == "__main__":
    main()
