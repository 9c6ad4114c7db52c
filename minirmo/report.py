"""The printed summaries: every number a command prints, as text tables over seeds.

A number measured at each seed prints as ``mean [min, max]`` over the seeds (`Interval`); a
finding prints as "holds in k of n seeds" with each seed's deciding figures.
"""

import numpy as np

from minirmo import findings
from minirmo.analysis import (
    CURVE,
    DPO_CURVE,
    MEAN,
    Interval,
    curves,
    fit_rows,
    group,
    kl_exponent,
    loss_gap_by_data,
    most_data,
    past_peak,
    peak,
    penalty_gap,
    per_seed,
    seed_mean,
    spearman,
)
from minirmo.bon import distinct_pool_kl
from minirmo.fit import PAPER_COEFFICIENTS


def _seeds(rows) -> list:
    return sorted({r["seed"] for r in rows if r["seed"] != MEAN})


def gold_line(rm_rows) -> str:
    """The gold RM's size and how well it stands in for the hidden utility (every finding is
    measured in its units, so read this first)."""
    gold = [r for r in rm_rows if r["rm"] == "gold"]
    acc = Interval.of([r["val_acc"] for r in gold])
    return (f"gold RM: {gold[0]['rm_params']:,} params, agrees with the hidden utility on "
            f"{acc.mean:.1%} of held-out broad pairs (seeds {_seeds(gold)}: "
            + ", ".join(f"{r['val_acc']:.1%}" for r in gold) + ")")


def bon_table(bon, rm_rows) -> str:
    """Per proxy: test accuracy, where best-of-n gold peaks, gold and proxy at n = N."""
    accuracy = per_seed([r | {"method": "rm"} for r in rm_rows if r["rm"] == "proxy"],
                        lambda c: c[0]["test_acc"])
    measures = {"peak n": lambda c: peak(c)["n"], "peak gold": lambda c: peak(c)["gold"],
                "gold at N": lambda c: c[-1]["gold"], "proxy at N": lambda c: c[-1]["proxy"]}
    values = {name: per_seed(bon, m, geometric=name == "peak n")
              for name, m in measures.items()}
    lines = [f"best-of-n, seeds {_seeds(bon)}: mean [min, max] over seeds (peak n: geometric "
             "mean)",
             f"{'proxy params':>12} {'pairs':>6} {'test acc':>19} {'peak n':>21} "
             f"{'peak gold':>19} {'gold at N':>21} {'proxy at N':>19}"]
    for key in values["peak n"]:
        _, params, data = key
        lines.append(f"{params:>12,} {data:>6} {accuracy['rm', params, data]:>19.2f} "
                     f"{values['peak n'][key]:>21.0f} {values['peak gold'][key]:>19.2f} "
                     f"{values['gold at N'][key]:>21.2f} {values['proxy at N'][key]:>19.2f}")
    return "\n".join(lines)


RL_NAMES = {"rl": "RL (PPO)", "rloo": "RLOO", "grpo": "GRPO"}


def rl_table(rl, fits) -> str:
    """Per proxy: KL reached, where gold peaks, gold and proxy at the end, the RL form's R² on
    the seed-mean curve (from `fits`, analysis.fit_rows) and the KL-growth exponent k of
    KL ≈ c·step^k. `rl`: the rows of one RL algorithm."""
    method = rl[0]["method"]
    measures = {"KL end": lambda c: c[-1]["kl"], "peak step": lambda c: peak(c)["step"],
                "peak gold": lambda c: peak(c)["gold"], "gold end": lambda c: c[-1]["gold"],
                "proxy end": lambda c: c[-1]["proxy"], "k": kl_exponent}
    values = {name: per_seed(rl, m) for name, m in measures.items()}
    r2 = {(f["method"], f["rm_params"], f["rm_data"]): f["r2"] for f in fits
          if f["method"] == method and f["seed"] == MEAN}
    lines = [f"{RL_NAMES[method]}, seeds {_seeds(rl)}: mean [min, max] over seeds",
             f"{'proxy params':>12} {'pairs':>6} {'KL end':>19} {'peak step':>16} "
             f"{'peak gold':>19} {'gold end':>21} {'proxy end':>19} {'k':>19} {'R2':>5}"]
    for key in values["KL end"]:
        v = {name: values[name][key] for name in values}
        lines.append(f"{key[1]:>12,} {key[2]:>6} {v['KL end']:>19.1f} {v['peak step']:>16.0f} "
                     f"{v['peak gold']:>19.2f} {v['gold end']:>21.2f} {v['proxy end']:>19.2f} "
                     f"{v['k']:>19.2f} {r2[key] if key in r2 else float('nan'):>5.2f}")
    return "\n".join(lines)


def bon_kl_table(bon) -> str:
    """How far the analytic best-of-n KL, log n − (n − 1)/n, is from the exact KL on the pools
    (`kl_exact`, bon.pool_bon_kl), per proxy on the most comparisons: the pools' share of
    distinct responses, both KLs at n = N, what a pool of N distinct responses would give
    (the part of the gap that is the pool's finite size, not its repeats), Beirami et al.'s
    estimate at n = N (`kl_beirami`, from the initial policy's probability of the kept
    response), and the best-of-n form's α and β fitted on the seed-mean curve against the
    analytic and the exact KL."""
    bon = [r for r in bon if r["rm_data"] == most_data(bon)]
    N = max(r["n"] for r in bon)
    at_n = [r for r in bon if r["n"] == N]
    distinct_only = distinct_pool_kl(N, [N])[0]
    coefficients = {}
    for x in ("kl", "kl_exact"):
        for f in fit_rows([r | {"kl": r[x]} for r in bon]):
            if f["seed"] == MEAN:
                coefficients[x, f["rm_params"]] = f
    lines = [f"best-of-n KL on the pools, proxies on {most_data(bon):,} comparisons, seeds "
             f"{_seeds(bon)}: mean [min, max] over seeds; at n = N = {N:,} the analytic form "
             f"gives {at_n[0]['kl']:.2f} nats, a pool of N distinct responses {distinct_only:.2f}",
             f"{'proxy params':>12} {'distinct':>19} {'exact KL at N':>19} {'overstated':>10} "
             f"{'Beirami at N':>12} {'alpha: analytic, exact':>23} {'beta: analytic, exact':>22}"]
    for params in sorted({r["rm_params"] for r in bon}):
        mine = [r for r in at_n if r["rm_params"] == params]
        exact = Interval.of([r["kl_exact"] for r in mine])
        distinct = Interval.of([r["distinct"] for r in mine])
        a, e = coefficients["kl", params], coefficients["kl_exact", params]
        beirami = np.mean([r["kl_beirami"] for r in mine])
        lines.append(f"{params:>12,} {distinct:>19.3f} {exact:>19.2f} "
                     f"{mine[0]['kl'] / exact.mean - 1:>10.0%} {beirami:>12.2f} "
                     f"{a['alpha']:>11.3f} {e['alpha']:>11.3f} {a['beta']:>10.3f} "
                     f"{e['beta']:>11.3f}")
    return "\n".join(lines)


def algorithms_table(rl, fits) -> str:
    """RL algorithms side by side (rows of several methods: "rl" for PPO, "rloo", "grpo"),
    per proxy on the most comparisons: how often gold peaks and falls (k of n seeds), the KL
    spent to the smoothed gold peak and that peak, the RL form's R² on the seed-mean curve,
    and at how many seeds each algorithm reaches the highest peak of those run against that
    proxy."""
    rl = [r for r in rl if r["rm_data"] == most_data(rl)]
    r2 = {(f["method"], f["rm_params"]): f["r2"] for f in fits if f["seed"] == MEAN}
    by_seed = curves(rl)  # {(method, params, data, seed): curve}
    methods = [m for m in RL_NAMES if any(r["method"] == m for r in rl)]
    sizes = sorted({r["rm_params"] for r in rl})
    seeds = _seeds(rl)
    lines = [f"RL algorithms, proxies on {most_data(rl):,} comparisons, seeds {seeds}: mean "
             "[min, max] over seeds (gold smoothed over 3 steps)",
             f"{'algorithm':>9} {'proxy params':>12} {'peaks, falls':>13} {'KL to peak':>19} "
             f"{'peak gold':>19} {'R2':>5} {'highest peak':>13}"]
    for params in sizes:
        ran = [m for m in methods if (m, params, most_data(rl), seeds[0]) in by_seed]
        peaks = {(m, s): findings.smoothed_peak(by_seed[m, params, most_data(rl), s])
                 for m in ran for s in seeds}
        best = {s: max(ran, key=lambda m, s=s: peaks[m, s][0][peaks[m, s][1]]) for s in seeds}
        for m in ran:
            highest = f"{sum(b == m for b in best.values())} of {len(seeds)}"
            curve_at = {s: by_seed[m, params, most_data(rl), s] for s in seeds}
            falls = sum(findings.rl_peaks_and_falls(curve_at[s])[0] for s in seeds)
            kl_to_peak = Interval.of([curve_at[s][peaks[m, s][1]]["kl"] for s in seeds])
            top = Interval.of([peaks[m, s][0][peaks[m, s][1]] for s in seeds])
            lines.append(f"{m if m != 'rl' else 'ppo':>9} {params:>12,} "
                         f"{f'{falls} of {len(seeds)}':>13} {kl_to_peak:>19.1f} {top:>19.2f} "
                         f"{r2.get((m, params), float('nan')):>5.2f} "
                         f"{highest if len(ran) > 1 else 'ran alone':>13}")
    return "\n".join(lines)


def coefficients_table(fits, scaling) -> str:
    """Per proxy size on the most data: α, β and R² of both forms on the seed-mean curve, α and
    β over seeds, then how each coefficient scales with log10(params) beside the paper."""
    most = most_data(fits)
    rows = [r for r in fits if r["rm_data"] == most]
    lines = [f"fitted forms, proxies on {most:,} comparisons: seed-mean curve (R2), and "
             "mean [min, max] over the per-seed fits"]
    for method in ("bon", "rl"):
        mine = [r for r in rows if r["method"] == method]
        if not mine:
            continue
        alpha = per_seed(mine, lambda c: c[0]["alpha"])
        beta = per_seed(mine, lambda c: c[0]["beta"])
        for r in sorted((r for r in mine if r["seed"] == MEAN), key=lambda r: r["rm_params"]):
            key = (method, r["rm_params"], r["rm_data"])
            lines.append(f"  {method:>3} {r['rm_params']:>9,}: alpha {r['alpha']:.3f} "
                         f"beta {r['beta']:.3f} (R2 {r['r2']:.2f}); per seed alpha "
                         f"{alpha[key]:.3f}, beta {beta[key]:.3f}")
    if scaling:
        lines.append("scaling with log10(RM params), slope per decade: on the seed-mean "
                     "coefficients (R2, Spearman), and per seed; paper from its Figure 3")
    for name, s in scaling.items():
        ref = "" if name not in PAPER_COEFFICIENTS[3e6] else f"   paper {_paper_slope(name):+.3f}"
        lines.append(f"  {name:>9}: {s.line.slope:+.3f} (R2 {s.line.r2:.2f}, Spearman "
                     f"{s.spearman:+.2f}); per seed {s.slope:+.3f}{ref}")
    return "\n".join(lines)


def _paper_slope(name: str) -> float:
    """The paper's slope per decade of a coefficient, read off its Figure 3 (3M -> 3B params
    is three decades)."""
    return (PAPER_COEFFICIENTS[3e9][name] - PAPER_COEFFICIENTS[3e6][name]) / 3


def _bar(met: bool) -> str:
    return "met" if met else "NOT MET"


def laws_table(rm, bon, rl, fits, scaling, extrapolation, penalty) -> str:
    """Every number the paper preset is held to, with its bar and the paper's value: how α
    and β scale with RM size, how well the forms fit, where each method peaks, extrapolation,
    the data threshold, KL growth and the KL penalty (seed means; [min, max] over seeds)."""
    most = most_data(bon)
    mean_fits = [r for r in fits if r["seed"] == MEAN and r["rm_data"] == most]
    params = sorted({r["rm_params"] for r in mean_fits})
    decades = np.log10(params[-1] / params[0])
    lines = [f"the laws, beside the paper: {len(params)} proxy sizes over {decades:.1f} decades "
             f"on {most:,} comparisons; seed means, [min, max] over seeds {_seeds(bon)}",
             "  coefficient vs log10(RM params): Spearman; slope per decade on the seed means, "
             "and per seed (bar: |Spearman| >= 0.9, per-seed interval excludes 0)"]
    for name, s in scaling.items():
        ref = (f"paper {_paper_slope(name):+.3f}" if name in PAPER_COEFFICIENTS[3e6]
               else "paper: about constant")
        bar = "reported" if name == "alpha_rl" else _bar(
            abs(s.spearman) >= 0.9 and (s.slope.lo > 0 or s.slope.hi < 0))
        lines.append(f"    {name:>9}: Spearman {s.spearman:+.2f}, slope {s.line.slope:+.3f}, "
                     f"per seed {s.slope:+.3f}   {ref}   {bar}")
    worst = {m: min((r["r2"] for r in mean_fits if r["method"] == m), default=float("nan"))
             for m in ("bon", "rl")}  # NaN: no curve long enough to fit
    lines.append(f"  fits on the seed-mean curves: lowest R2 bon {worst['bon']:.3f} (bar 0.95), "
                 f"rl {worst['rl']:.3f} (bar 0.9)   "
                 f"{_bar(worst['bon'] >= 0.95 and worst['rl'] >= 0.9)}")
    bon_fits = sorted((r for r in mean_fits if r["method"] == "bon"), key=lambda r: r["rm_params"])
    rho = spearman(params, [r["peak_d"] for r in bon_fits])
    lines.append(f"  best-of-n peak d* = alpha/2beta vs size: Spearman {rho:+.2f} (bar 0.9)   "
                 f"{_bar(rho >= 0.9)}")
    lines += _peaks_lines(bon, rl, most, reach=bon_fits[-1]["peak_d"] ** 2)
    relative = [abs(r["error"]) / r["peak_gain"] for r in extrapolation
                if r["seed"] == MEAN and r["peak_gain"] > 0]
    lines.append(f"  BoN form fitted on n <= N/16 misses the seed-mean gold at n = N by "
                 f"{np.median(relative):.0%} of the curve's peak gain (median over cells; bar "
                 f"10%)   {_bar(np.median(relative) <= 0.1)}")
    lines += _data_lines(rm, bon)
    k = Interval.of([kl_exponent(c) for key, c in curves(rl).items() if key[-1] != MEAN])
    lines.append(f"  KL under PPO grows like step^k: k = {k:.2f} over sizes and seeds "
                 "(paper: about 2, roughly quadratic)")
    if penalty:
        by_seed = [penalty_gap({key[0]: c for key, c in group(rows, "kl_coef").items()})
                   for (_,), rows in group(penalty, "seed").items()]
        gaps = ", ".join(f"{coef:g}: {Interval.of([g[coef] for g in by_seed]):+.2f}"
                         for coef in by_seed[0])
        lines.append(f"  KL penalty: end gold minus the unpenalized run's gold at the same KL, "
                     f"per coefficient: {gaps} (paper: about 0, the penalty stops early)")
    return "\n".join(lines)


def _peaks_lines(bon, rl, most, reach: float) -> list[str]:
    """Per size on the most data: the KL and gold of each method's peak, whether RL passed
    its peak, and at how many seeds RL peaks higher than best-of-n. The bar: RL runs long
    enough that every size passed its peak, or that every run (every size and seed) reached
    at least the KL `reach` at which the largest proxy's fitted best-of-n curve peaks."""
    rl_mean = curves(seed_mean(rl))
    passed = {key[1]: past_peak(c) for key, c in rl_mean.items() if key[2] == most}
    least = min(c[-1]["kl"] for key, c in curves(rl).items() if key[2] == most
                and key[-1] != MEAN)
    lines = [f"  where each method peaks, most data: RL past its peak at {sum(passed.values())} "
             f"of {len(passed)} sizes; every RL run reaches KL {least:.1f}, the largest proxy's "
             f"fitted best-of-n peak is at KL {reach:.1f} (bar: every size past its peak, or "
             f"every run past that KL)   {_bar(all(passed.values()) or least >= reach)}"]
    kl = {m: per_seed(rows, lambda c: peak(c)["kl"]) for m, rows in (("bon", bon), ("rl", rl))}
    gold = {m: per_seed(rows, lambda c: peak(c)["gold"]) for m, rows in (("bon", bon),
                                                                          ("rl", rl))}
    by_seed = {m: {key[1:]: c for key, c in curves(rows, CURVE).items()} for m, rows in
               (("bon", bon), ("rl", rl))}
    for params in sorted(passed):
        higher = sum(peak(by_seed["rl"][params, most, s])["gold"]
                     > peak(by_seed["bon"][params, most, s])["gold"]
                     for s in _seeds(rl) if (params, most, s) in by_seed["bon"])
        lines.append(f"    {params:>9,}: KL at peak bon {kl['bon']['bon', params, most]:.1f}, "
                     f"rl {kl['rl']['rl', params, most]:.1f}; peak gold bon "
                     f"{gold['bon']['bon', params, most]:.2f}, rl "
                     f"{gold['rl']['rl', params, most]:.2f}; RL higher at {higher} of "
                     f"{len(_seeds(rl))} seeds"
                     + ("" if passed[params] else "; RL not past its peak"))
    return lines


def _data_lines(rm, bon) -> list[str]:
    """The data threshold (validation loss near ln 2) and the best-of-n peak against the
    number of comparisons, for each size the data study sweeps."""
    gaps = loss_gap_by_data(rm)
    below = [pairs for pairs, gap in gaps.items() if gap <= 0.02]
    met = bool(below) and below == list(gaps)[:len(below)]  # the fewest comparisons, no others
    threshold = f"within 0.02 up to {max(below):,}" if below else "none within 0.02"
    lines = ["  data: largest |test loss - ln 2| over sizes, per number of comparisons: "
             + ", ".join(f"{pairs:,}: {gap:.3f}" for pairs, gap in gaps.items())
             + f" ({threshold}; bar: every size within 0.02 below a threshold; paper: near "
             f"chance below about 2,000)   {_bar(met)}"]
    bon_mean = curves(seed_mean(bon))
    for params in sorted({key[1] for key in bon_mean}):
        swept = sorted((key[2], peak(c)["gold"]) for key, c in bon_mean.items()
                       if key[1] == params)
        if len(swept) > 2:
            rho = spearman(*zip(*swept, strict=True))
            lines.append(f"    best-of-n peak gold vs comparisons, {params:,}-param proxy: "
                         f"Spearman {rho:+.2f} (bar 0.9)   {_bar(rho >= 0.9)}")
    return lines


def extrapolation_line(rows) -> str:
    """How well the best-of-n form fitted on n ≤ N/16 predicts gold at n = N
    (`rows`: analysis.extrapolation_rows)."""
    mean = [abs(r["error"]) for r in rows if r["seed"] == MEAN]
    seeds = [abs(r["error"]) for r in rows if r["seed"] != MEAN]
    return (f"BoN form fitted on n <= N/16 predicts gold at n = N within {np.median(mean):.2f} "
            f"(median) / {max(mean):.2f} (worst) on the seed-mean curves, {np.median(seeds):.2f}"
            f" / {max(seeds):.2f} on single seeds")


def policy_size_summary(rows) -> str:
    """Per policy size: where it starts, and per method the best gold gain of any proxy; then
    the paper's finding as a bar (its Section 3.4): the larger policy starts higher and gains
    less from best-of-n."""
    lines = ["policy size (proxies on the most data; gold gain over each initial policy)"]
    per_policy = {}  # params -> (per seed: initial gold, per seed: best best-of-n gain)
    for (params,), policy_rows in group(rows, "policy_params").items():
        by_seed = group(policy_rows, "seed").values()
        starts = [seed_rows[0]["gold_init"] for seed_rows in by_seed]
        best = {method: [max(r["gold"] for r in seed_rows if r["method"] == method)
                         for seed_rows in by_seed] for method in ("bon", "rl")}
        lines.append(f"  policy {params:>9,} params, initial gold {Interval.of(starts):+.2f}:"
                     + "".join(f"  {method} best gain {Interval.of(gains):+.2f}"
                               for method, gains in best.items()))
        per_policy[params] = starts, best["bon"]
    if len(per_policy) == 2:
        (small_starts, small_gains), (large_starts, large_gains) = (
            per_policy[params] for params in sorted(per_policy))
        ahead = Interval.of([b - a for a, b in zip(small_starts, large_starts, strict=True)])
        less = sum(b < a for a, b in zip(small_gains, large_gains, strict=True))
        seeds = len(small_gains)
        lines.append(f"  the larger policy starts {ahead:+.2f} gold higher and gains less from "
                     f"best-of-n at {less} of {seeds} seeds (bar: >= 0.2 higher, every "
                     f"seed above 0, less at every seed; paper: higher, and gains less)   "
                     f"{_bar(ahead.mean >= 0.2 and ahead.lo > 0 and less == seeds)}")
    return "\n".join(lines)


def ensembles_table(rows) -> str:
    """Per method, noise level and objective: gold at the peak, at the end and lost between
    them, over seeds, and at how many seeds the objective lost less than a member alone
    ("single": the mean over the members optimized alone; PPO: member 0)."""
    lines = [f"ensembles of {max(r['members'] for r in rows)} proxies of "
             f"{rows[0]['rm_params']:,} params on {rows[0]['rm_data']:,} comparisons, seeds "
             f"{_seeds(rows)}: mean [min, max] over seeds (RL: gold smoothed over 3 steps)",
             f"{'method':>6} {'noise':>5} {'objective':>9} {'peak gold':>19} {'gold end':>21} "
             f"{'gold lost':>19}  loses less than single"]
    for method in ("bon", "rl"):
        outcomes = [findings.ensemble_outcomes(seed_rows, method)
                    for seed_rows in group(rows, "seed").values()]
        for noise, objective in outcomes[0]:
            peak_gold, end, lost = (Interval.of([o[noise, objective][i] for o in outcomes])
                                    for i in range(3))
            fewer = sum(o[noise, objective][2] < o[noise, "single"][2] for o in outcomes)
            count = "" if objective == "single" else f"{fewer} of {len(outcomes)} seeds"
            lines.append(f"{method:>6} {noise:>5.0%} {objective:>9} {peak_gold:>19.2f} "
                         f"{end:>21.2f} {lost:>19.2f}  {count}")
    return "\n".join(lines)


def disagreement_table(rows) -> str:
    """Per noise level and praise count: gold, the members' mean score and their disagreement
    on pool samples, over seeds."""
    lines = ["where the members disagree: pool samples by praise words (3: 3 or more), mean "
             "[min, max] over seeds",
             f"{'noise':>5} {'praise':>6} {'samples':>8} {'gold':>21} {'members mean':>21} "
             f"{'disagreement':>19}"]
    for (noise, praise), cell in group(rows, "label_noise", "praise").items():
        v = {k: Interval.of([r[k] for r in cell])
             for k in ("samples", "gold", "members_mean", "disagreement")}
        lines.append(f"{noise:>5.0%} {praise:>6} {v['samples'].mean:>8.0f} {v['gold']:>21.2f} "
                     f"{v['members_mean']:>21.2f} {v['disagreement']:>19.2f}")
    return "\n".join(lines)


def dpo_table(dpo, fits, frontier) -> str:
    """Per loss and beta: the most KL spent, where gold peaks, gold, implicit accuracy and
    training loss at the end, and the R² of the RL form and of the quadratic on the seed-mean
    curve (`fits`: analysis.dpo_fit_rows); then where best-of-n and RL against the proxy on the
    same comparisons peak (`frontier`: studies.dpo_frontier_rows)."""
    measures = {"most KL": lambda c: max(r["kl"] for r in c),
                "peak epoch": lambda c: peak(c)["epoch"], "peak gold": lambda c: peak(c)["gold"],
                "gold end": lambda c: c[-1]["gold"], "acc end": lambda c: c[-1]["implicit_acc"],
                "loss end": lambda c: c[-1]["train_loss"]}
    values = {name: per_seed(dpo, m, DPO_CURVE) for name, m in measures.items()}
    r2 = {tuple(f[k] for k in DPO_CURVE): (f["r2"], f["r2_quadratic"]) for f in fits
          if f["seed"] == MEAN}
    lines = [f"direct alignment, seeds {_seeds(dpo)}, on {most_data(dpo):,} comparisons: "
             "mean [min, max] over seeds; R2 of the RL form / the quadratic on the seed mean",
             f"{'loss':>4} {'beta':>5} {'most KL':>19} {'peak epoch':>19} {'peak gold':>19} "
             f"{'gold end':>21} {'implicit acc end':>19} {'train loss end':>22} {'R2 RL/quad':>11}"]
    for key in values["most KL"]:
        v = {name: values[name][key] for name in values}
        lines.append(f"{key[0]:>4} {key[1]:>5g} {v['most KL']:>19.1f} {v['peak epoch']:>19.2f} "
                     f"{v['peak gold']:>19.2f} {v['gold end']:>21.2f} {v['acc end']:>19.2f} "
                     f"{v['loss end']:>22.4g} "
                     + (f"{r2[key][0]:>5.2f}/{r2[key][1]:.2f}" if key in r2 else "  (too short)"))
    for (method, params, data), rows in group(frontier, "method", "rm_params",
                                              "rm_data").items():
        top = Interval.of([peak(c)["gold"] for c in group(rows, "seed").values()])
        kl = Interval.of([peak(c)["kl"] for c in group(rows, "seed").values()])
        lines.append(f"  beside it, {method} against the {params:,}-param proxy on {data:,} "
                     f"comparisons: peak gold {top:.2f} at KL {kl:.1f}")
    return "\n".join(lines)


def findings_summary(studies: dict) -> str:
    """Every finding whose studies ran, as "holds in k of n seeds" with each seed's figures."""
    per_seed_results = {seed: findings.check(rows)
                        for seed, rows in findings.by_seed(studies).items()}
    lines = ["findings"]
    for f in findings.FINDINGS:
        results = {s: r[f.name] for s, r in per_seed_results.items() if f.name in r}
        if not results:
            continue
        held = sum(ok for ok, _ in results.values())
        note = "" if f.pinned else " (measured, not pinned by the tests)"
        lines.append(f"  {f.statement}: holds in {held} of {len(results)} seeds{note}")
        lines += [f"    seed {s}: {'yes' if ok else 'no '}  {figures}"
                  for s, (ok, figures) in results.items()]
    return "\n".join(lines)
