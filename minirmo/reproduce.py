"""Reproduce the paper: run every study on a preset and turn the curves into its findings.

`reproduce` runs, on one `Run` (so every trained model and pool is shared through the cache):

* **RM size and data** — best-of-n against every proxy of the grid, RL against every size on
  the most data (`experiments.bon_experiment`, `experiments.rl_experiment`);
* **coefficients** — `fit_bon` / `fit_rl` per curve and how α and β scale with log RM params
  (the paper's Figure 3), written to fits.csv;
* **extrapolation** — fit the best-of-n form on n ≤ N/16 and predict the gold score at n = N,
  as the paper chose its form on n ≤ 1,000 and predicted out to n = 60,000;
* **KL penalty** — RL against one proxy at several KL coefficients;
* **policy size** — the RM-size study again, from a larger initial policy judged by the same
  gold RM (the paper's Section 3.4), unless the preset's `large_policy` is None;

then draws every figure and returns a text summary beside the paper's Figure 3 values.
"""

import numpy as np

from minirmo import fit, plots
from minirmo.experiments import (
    Run,
    bon_experiment,
    describe_gold,
    rl_experiment,
    rm_table,
    write_csv,
)

KL_COEFS = (0.0, 0.02, 0.05, 0.1)  # the KL-penalty study


def fit_rows(bon_rows, rl_rows) -> list[dict]:
    """fits.csv: one least-squares fit of gold against d = sqrt(KL) per method and proxy."""
    rows = []
    for method, source in (("bon", bon_rows), ("rl", rl_rows)):
        fit_form = plots.FORMS[method][0]
        for (params, data), curve in plots.group(source, "rm_params", "rm_data").items():
            d = np.sqrt(np.clip([r["kl"] for r in curve], 0, None))
            result = fit_form(d, [r["gold"] for r in curve])
            rows.append({"method": method, "rm_params": params, "rm_data": data,
                         "alpha": result.alpha, "beta": result.beta, "r2": result.r2})
    return rows


def scaling_fits(fits: list[dict]) -> dict:
    """{coefficient name: ScalingFit} of α and β against log10 RM params, on the most data."""
    out = {}
    for method in ("bon", "rl"):
        rows = [r for r in fits if r["method"] == method]
        most = max(r["rm_data"] for r in rows)
        rows = [r for r in rows if r["rm_data"] == most]
        if len({r["rm_params"] for r in rows}) < 2:
            continue
        for coef in ("alpha", "beta"):
            out[f"{coef}_{method}"] = fit.fit_scaling([r["rm_params"] for r in rows],
                                                      [r[coef] for r in rows])
    return out


def extrapolation_rows(bon_rows, fraction: float = 1 / 16) -> list[dict]:
    """Fit the best-of-n form on n ≤ fraction·N and compare its prediction at n = N."""
    rows = []
    for (params, data), curve in plots.group(bon_rows, "rm_params", "rm_data").items():
        N = curve[-1]["n"]
        early = [r for r in curve if r["n"] <= fraction * N]
        d = np.sqrt([r["kl"] for r in early])
        alpha, beta = fit.fit_bon(d, [r["gold"] for r in early])
        predicted = float(fit.bon_form(np.sqrt(curve[-1]["kl"]), alpha, beta))
        rows.append({"rm_params": params, "rm_data": data, "fit_up_to_n": early[-1]["n"],
                     "n": N, "predicted_gold": predicted, "observed_gold": curve[-1]["gold"],
                     "error": predicted - curve[-1]["gold"]})
    return rows


def kl_penalty_rows(run: Run, coefs=KL_COEFS) -> list[dict]:
    """RL against the smallest proxy on the most data at each KL coefficient."""
    proxy = (run.preset.proxy_sizes[0], run.preset.proxy_data[-1])
    rows = []
    for coef in coefs:
        rows += rl_experiment(run, [proxy], kl_coef=coef, csv_name=None)
    return rows


def policy_size_rows(run: Run) -> list[dict]:
    """Best-of-n and RL against the smallest, the middle and the largest proxy size on the most
    data, for the preset's policy and for its larger policy (`Preset.large_policy`), both judged
    by the same gold RM. (Three sizes, not all: every size needs a proxy trained on the larger
    policy's own samples and a PPO run of the larger policy.)

    Each row is a bon.csv or rl.csv row with three columns in front: `policy_params`,
    `gold_init` (the initial policy's mean gold score, 0 for the preset's policy) and `method`.
    Gold stays relative to each initial policy, so the curves compare what optimization gains.
    """
    sizes, most = run.preset.proxy_sizes, run.preset.proxy_data[-1]
    picked = {0, len(sizes) // 2, len(sizes) - 1}
    proxies = [(size, most) for i, size in enumerate(sizes) if i in picked]
    rows = []
    for policy_run in (run, run.with_policy(run.preset.large_policy)):
        front = {"policy_params": policy_run.policy().num_parameters(),
                 "gold_init": policy_run.initial_gold()}
        for method, experiment in (("bon", bon_experiment), ("rl", rl_experiment)):
            rows += [front | {"method": method} | row
                     for row in experiment(policy_run, proxies, csv_name=None)]
    return rows


def policy_size_summary(rows) -> str:
    """Per policy size: where it starts, and per method the best peak gain and its KL."""
    lines = ["policy size (proxies on the most data; gold gain over each initial policy)"]
    for (params, start), policy_rows in plots.group(rows, "policy_params", "gold_init").items():
        line = f"  policy {params:>9,} params, initial gold {start:+.2f}:"
        for method in ("bon", "rl"):
            best = max((r for r in policy_rows if r["method"] == method), key=lambda r: r["gold"])
            line += (f"  {method} best gain {best['gold']:+.2f} at KL {best['kl']:.1f} "
                     f"({best['rm_params']:,}-param proxy)")
        lines.append(line)
    return "\n".join(lines)


def summary(fits, scaling, extrapolation, bon_rows, rl_rows) -> str:
    """Per proxy size (most data): fitted coefficients and where gold peaks, for BoN and RL,
    then the scaling slopes beside the paper's Figure 3 values."""
    most = max(r["rm_data"] for r in bon_rows)
    lines = [f"proxy RMs trained on {most:,} comparisons",
             f"{'params':>9} | {'a_bon':>6} {'b_bon':>6} {'R2':>5} {'peak n':>7} {'gold*':>6} | "
             f"{'a_rl':>6} {'b_rl':>6} {'R2':>5} {'peak KL':>7} {'gold*':>6}"]
    for params in sorted({r["rm_params"] for r in bon_rows}):
        line = f"{params:>9,} |"
        for method, rows, where in (("bon", bon_rows, "n"), ("rl", rl_rows, "kl")):
            curve = [r for r in rows if r["rm_params"] == params and r["rm_data"] == most]
            f = [r for r in fits if r["method"] == method and r["rm_params"] == params
                 and r["rm_data"] == most]
            if not curve or not f:
                line += " " * 38 + " |"
                continue
            best = max(curve, key=lambda r: r["gold"])
            line += (f" {f[0]['alpha']:>6.3f} {f[0]['beta']:>6.3f} {f[0]['r2']:>5.2f} "
                     f"{best[where]:>7.3g} {best['gold']:>6.2f} |")
        lines.append(line.rstrip(" |"))
    lines.append("\nscaling with log10(RM params): slope (paper, from its Figure 3: 3M -> 3B)")
    paper = fit.PAPER_COEFFICIENTS
    for name, s in scaling.items():
        ref = ("" if name not in paper[3e6] else  # 3M -> 3B is three decades
               f"   paper: {(paper[3e9][name] - paper[3e6][name]) / 3:+.3f} per decade")
        lines.append(f"  {name:>9}: {s.slope:+.3f} per decade (R2 {s.r2:.2f}){ref}")
    errors = [abs(r["error"]) for r in extrapolation]
    lines.append(f"\nBoN form fitted on n <= N/16 predicts gold at n = N within "
                 f"{np.median(errors):.3f} (median) / {max(errors):.3f} (worst) gold units")
    return "\n".join(lines)


def reproduce(run: Run) -> str:
    """Run every study, write every CSV and figure under run.out, and return the summary."""
    rm_rows = rm_table(run)
    bon_rows = bon_experiment(run)
    rl_rows = rl_experiment(run)
    fits = fit_rows(bon_rows, rl_rows)
    write_csv(run.out / "fits.csv", fits)
    scaling = scaling_fits(fits)
    extrapolation = extrapolation_rows(bon_rows)
    write_csv(run.out / "extrapolation.csv", extrapolation)
    penalty = kl_penalty_rows(run)
    write_csv(run.out / "kl_penalty.csv", penalty)

    out = run.out
    plots.plot_scores_vs_kl(bon_rows, "bon", out / "fig1a_bon.png")
    plots.plot_scores_vs_kl(rl_rows, "rl", out / "fig1b_rl.png")
    plots.plot_gold_vs_data(bon_rows, out / "fig2_bon_data.png")
    plots.plot_coefficients(fits, scaling, out / "fig3_coefficients.png")
    plots.plot_rm_loss_vs_data(rm_rows, out / "fig6_rm_loss_vs_data.png")
    plots.plot_kl_growth(bon_rows, rl_rows, out / "kl_growth_rl_vs_bon.png")
    plots.plot_gold_vs_proxy(bon_rows, rl_rows, out / "gold_vs_proxy.png")
    plots.plot_kl_penalty(penalty, out / "kl_penalty.png")
    plots.plot_extrapolation(bon_rows, out / "bon_extrapolation.png")
    sections = [describe_gold(rm_rows), summary(fits, scaling, extrapolation, bon_rows, rl_rows)]
    if run.preset.large_policy is not None:
        policy_size = policy_size_rows(run)
        write_csv(out / "policy_size.csv", policy_size)
        plots.plot_policy_size(policy_size, out / "policy_size.png")
        sections.append(policy_size_summary(policy_size))
    return "\n\n".join(sections)
