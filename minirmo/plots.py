"""The paper's figures, drawn with matplotlib from the rows and fits `analysis` hands over.

Nothing here trains, fits or averages: each function draws what it is given. Conventions
shared by every figure: the x axis is d = sqrt(KL) (the paper's choice: both functional forms
are simple in d) with the KL itself marked on a secondary axis on top; one colour per RM size
on a log colour map (darker = fewer parameters); a curve is the **mean over seeds** with a
shaded **min–max band over seeds**; gold is drawn as points with the form fitted to the
seed-mean curve through them, proxy scores are dashed.
"""

import math

import matplotlib

matplotlib.use("Agg")  # files only: the package never opens a window
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from minirmo import fit  # noqa: E402
from minirmo.analysis import FORMS, group, sqrt_kl  # noqa: E402
from minirmo.bon import distinct_pool_kl  # noqa: E402

LABELS = {"bon": "best-of-n", "rl": "RL", "rloo": "RLOO", "grpo": "GRPO"}
BAND = 0.18  # opacity of the min–max band over seeds


def size_colours(params) -> dict:
    """A colour for each RM size, evenly spaced in log(params) on the viridis map."""
    sizes = sorted(set(params))
    logs = np.log10(sizes)
    span = max(logs.max() - logs.min(), 1e-9)
    cmap = matplotlib.colormaps["viridis"]
    return {s: cmap(0.9 * (math.log10(s) - logs.min()) / span) for s in sizes}


def data_colours(data_sizes) -> dict:
    """A colour for each number of comparisons, on the plasma map (lighter = more data)."""
    sizes = sorted(set(data_sizes))
    cmap = matplotlib.colormaps["plasma"]
    return {n: cmap(0.85 * i / max(len(sizes) - 1, 1)) for i, n in enumerate(sizes)}


def kl_axis(ax) -> None:
    """Label the x axis as sqrt(KL) and add the KL in nats on a secondary top axis."""
    ax.set_xlabel("d = sqrt(KL) (sqrt nats)")
    top = ax.secondary_xaxis("top", functions=(np.square, lambda k: np.sqrt(np.clip(k, 0, None))))
    top.set_xlabel("KL (nats)")


def _band(ax, x, curve, column, colour) -> None:
    """The min–max band over seeds of `column` (nothing to shade for a single seed)."""
    if curve[0].get("seeds", 1) > 1:
        ax.fill_between(x, [r[f"{column}_lo"] for r in curve], [r[f"{column}_hi"] for r in curve],
                        color=colour, alpha=BAND, lw=0)


def _seeds_note(rows) -> str:
    seeds = max(r.get("seeds", 1) for r in rows)
    return "one seed" if seeds == 1 else f"mean of {seeds} seeds, band: min–max over seeds"


def _save(fig, path) -> None:
    fig.tight_layout()
    # "tight" grows the canvas to whatever is drawn: a suptitle wider than the figure is kept
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)


def plot_scores_vs_kl(mean_rows, fits, method: str, path, data_sizes=None):
    """The paper's Figure 1: gold (points, band, fitted form) and proxy (dashed) against
    sqrt(KL), one colour per RM size, one panel per number of comparisons in `data_sizes`
    (default: the smallest and the largest).

    mean_rows: `analysis.seed_mean` rows of one method; fits: `analysis.fit_rows` of them.
    """
    form = FORMS[method][1]
    fitted = {(f["rm_params"], f["rm_data"]): f for f in fits
              if f["method"] == method and f["seed"] == "mean"}
    all_data = sorted({r["rm_data"] for r in mean_rows})
    data_sizes = data_sizes or sorted({all_data[0], all_data[-1]})
    colours = size_colours([r["rm_params"] for r in mean_rows])
    fig, axes = plt.subplots(1, len(data_sizes), figsize=(5.2 * len(data_sizes), 4.4),
                             sharey=True, squeeze=False)
    for ax, rm_data in zip(axes[0], data_sizes, strict=True):
        _scores_panel(ax, [r for r in mean_rows if r["rm_data"] == rm_data], fitted, form,
                      colours)
        ax.set_title(f"{LABELS[method]}, proxy RMs trained on {rm_data:,} comparisons",
                     fontsize=10)
    axes[0][0].set_ylabel("RM score (relative to initial policy)")
    axes[0][0].legend(fontsize=8, title="proxy RM size", title_fontsize=8)
    fig.suptitle(f"gold: points with the fitted form (solid); proxy: dashed; "
                 f"{_seeds_note(mean_rows)}", fontsize=10)
    _save(fig, path)


def _scores_panel(ax, panel, fitted, form, colours) -> None:
    """Gold (points, band, fitted form where `fitted` has one) and proxy (dashed) against
    sqrt(KL) for each proxy size of `panel` (seed-mean rows of one method and data size)."""
    for (params, rm_data), curve in group(panel, "rm_params", "rm_data").items():
        d, c = sqrt_kl(curve), colours[params]
        ax.plot(d, [r["gold"] for r in curve], "o", ms=3.5, color=c)
        _band(ax, d, curve, "gold", c)
        ax.plot(d, [r["proxy"] for r in curve], "--", color=c, lw=1.2)
        if (params, rm_data) in fitted:  # a curve too short to fit has no line
            f, grid = fitted[params, rm_data], np.linspace(0, d.max(), 200)
            ax.plot(grid, form(grid, f["alpha"], f["beta"]), "-", color=c, lw=1.5)
        ax.plot([], [], "-o", ms=3.5, color=c, label=f"{params:,} params")
    ax.axhline(0, color="grey", lw=0.5)
    kl_axis(ax)


def plot_bon_kl_exact(bon_mean, path):
    """Where the analytic best-of-n KL is tight on these pools and where it is not: the exact
    KL on the pools (`kl_exact`) against n beside the analytic form and a pool of N distinct
    responses (left), and gold against sqrt(KL) on either axis for the smallest and the
    largest proxy on the most comparisons (right), and Beirami et al.'s estimate from the
    initial policy's probability of the kept response for the smallest proxy. `bon_mean`: seed
    means of kl, kl_exact and kl_beirami."""
    most = max(r["rm_data"] for r in bon_mean)
    rows = [r for r in bon_mean if r["rm_data"] == most]
    sizes = sorted({r["rm_params"] for r in rows})
    colours = size_colours(sizes)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10.4, 4.4))
    one_curve = [r for r in rows if r["rm_params"] == sizes[0]]
    ns = [r["n"] for r in one_curve]
    left.plot(ns, [r["kl"] for r in one_curve], "k-", lw=1.5,
              label="analytic: log n − (n − 1)/n")
    left.plot(ns, distinct_pool_kl(ns[-1], ns), "k:", lw=1.5,
              label=f"a pool of {ns[-1]:,} distinct responses")
    for (params,), curve in group(rows, "rm_params").items():
        left.plot([r["n"] for r in curve], [r["kl_exact"] for r in curve], "--",
                  color=colours[params], label=f"exact on the pools, {params:,} params")
    left.plot(ns, [r["kl_beirami"] for r in one_curve], "-.", color=colours[sizes[0]], lw=1,
              label=f"Beirami et al.'s estimate from ε, {sizes[0]:,} params")
    left.set_xscale("log")
    left.set_xlabel("n")
    left.set_ylabel("KL(best-of-n ‖ initial policy) (nats)")
    left.legend(fontsize=7)
    left.set_title("best-of-n KL: analytic against exact on the pools", fontsize=10)
    for params in (sizes[0], sizes[-1]):
        curve = [r for r in rows if r["rm_params"] == params]
        gold = [r["gold"] for r in curve]
        right.plot(sqrt_kl(curve), gold, "-o", ms=3, color=colours[params],
                   label=f"{params:,} params, analytic KL")
        right.plot(np.sqrt(np.clip([r["kl_exact"] for r in curve], 0, None)), gold, "--o",
                   ms=3, mfc="none", color=colours[params], label=f"{params:,} params, exact KL")
    right.axhline(0, color="grey", lw=0.5)
    kl_axis(right)
    right.set_ylabel("gold score (relative to initial policy)")
    right.legend(fontsize=7)
    right.set_title(f"gold against either KL, proxies on {most:,} comparisons", fontsize=10)
    fig.suptitle(_seeds_note(bon_mean), fontsize=9)
    _save(fig, path)


def plot_rl_algorithms(mean_rows, fits, path):
    """RL algorithms side by side (PPO, RLOO, GRPO: one column each, as many as `mean_rows`
    holds), proxies on the most comparisons: gold (fitted RL form) and proxy against sqrt(KL)
    on top, the sampled KL against the step below, on shared axes."""
    most = max(r["rm_data"] for r in mean_rows)
    methods = [m for m in LABELS if any(r["method"] == m for r in mean_rows)]
    colours = size_colours([r["rm_params"] for r in mean_rows])
    fig, axes = plt.subplots(2, len(methods), figsize=(4.6 * len(methods), 7.6),
                             sharey="row", sharex="row", squeeze=False)
    for column, method in enumerate(methods):
        panel = [r for r in mean_rows if r["method"] == method and r["rm_data"] == most]
        fitted = {(f["rm_params"], f["rm_data"]): f for f in fits
                  if f["method"] == method and f["seed"] == "mean"}
        _scores_panel(axes[0][column], panel, fitted, FORMS[method][1], colours)
        name = "PPO" if method == "rl" else LABELS[method]
        axes[0][column].set_title(f"{name}, proxies on {most:,} comparisons", fontsize=10)
        for (params,), curve in group(panel, "rm_params").items():
            steps = [r["step"] for r in curve]
            axes[1][column].plot(steps, [r["kl"] for r in curve], color=colours[params])
            _band(axes[1][column], steps, curve, "kl", colours[params])
        axes[1][column].set_xlabel("step")
    axes[0][0].set_ylabel("RM score (relative to initial policy)")
    axes[0][0].legend(fontsize=8, title="proxy RM size", title_fontsize=8)
    axes[1][0].set_ylabel("KL(π ‖ π_init) (nats)")
    fig.suptitle(f"gold: points with the fitted RL form (solid); proxy: dashed; "
                 f"{_seeds_note(mean_rows)}", fontsize=10)
    _save(fig, path)


def _kl_vs_step(ax, rl_mean, exponents) -> None:
    """Sampled KL against PPO step, one line per proxy size with its band, labelled with the
    exponent k of KL ≈ c·step^k over seeds (`exponents`: {(method, params, data): Interval})."""
    colours = size_colours([r["rm_params"] for r in rl_mean])
    for (params, data), curve in group(rl_mean, "rm_params", "rm_data").items():
        steps = [r["step"] for r in curve]
        ax.plot(steps, [r["kl"] for r in curve], color=colours[params],
                label=f"{params:,} params: KL ~ step^{exponents['rl', params, data]:.2f}")
        _band(ax, steps, curve, "kl", colours[params])
    ax.set_xlabel("PPO step")
    ax.set_ylabel("KL(π ‖ π_init) (nats)")
    ax.legend(fontsize=7)


def plot_kl_vs_step(rl_mean, exponents, path):
    """RL spends KL fast (the paper: roughly quadratically in steps without a penalty)."""
    fig, ax = plt.subplots(figsize=(5.6, 4.2))
    _kl_vs_step(ax, rl_mean, exponents)
    ax.set_title(f"RL: sampled KL against PPO step ({_seeds_note(rl_mean)})", fontsize=9)
    _save(fig, path)


def plot_gold_vs_data(bon_mean, path):
    """The paper's Figure 2: best-of-n gold against sqrt(KL), one curve per number of
    comparisons, for the smallest and the largest proxy size."""
    sizes = sorted({r["rm_params"] for r in bon_mean})
    colours = data_colours([r["rm_data"] for r in bon_mean])
    fig, axes = plt.subplots(1, 2, figsize=(10.4, 4.4), sharey=True)
    for ax, params in zip(axes, (sizes[0], sizes[-1]), strict=True):
        panel = [r for r in bon_mean if r["rm_params"] == params]
        for (data,), curve in group(panel, "rm_data").items():
            d = sqrt_kl(curve)
            ax.plot(d, [r["gold"] for r in curve], "-o", ms=2.5, color=colours[data],
                    label=f"{data:,} comparisons")
            _band(ax, d, curve, "gold", colours[data])
        ax.axhline(0, color="grey", lw=0.5)
        kl_axis(ax)
        ax.set_title(f"best-of-n gold, proxy RM of {params:,} params", fontsize=10)
    axes[0].set_ylabel("gold score (relative to initial policy)")
    axes[0].legend(fontsize=7, title=_seeds_note(bon_mean), title_fontsize=7)
    _save(fig, path)


def plot_coefficients(fits, scaling, path):
    """The paper's Figure 3: α and β of both forms against RM params on the most data: each
    seed's fit (small, light), the seed-mean curve's fit (large) and its log-linear line."""
    fig, axes = plt.subplots(1, 4, figsize=(14, 3.6))
    for ax, (method, coef) in zip(axes, [("bon", "alpha"), ("bon", "beta"), ("rl", "alpha"),
                                         ("rl", "beta")], strict=True):
        rows = [r for r in fits if r["method"] == method]
        if not rows:
            continue
        most = max(r["rm_data"] for r in rows)
        colour = "C0" if method == "bon" else "C3"
        for (seed,), seed_rows in group([r for r in rows if r["rm_data"] == most],
                                        "seed").items():
            seed_rows = sorted(seed_rows, key=lambda r: r["rm_params"])
            mean = seed == "mean"
            ax.plot([r["rm_params"] for r in seed_rows], [r[coef] for r in seed_rows], "o",
                    color=colour, ms=6 if mean else 3, alpha=1 if mean else 0.35,
                    label="seed mean" if mean else None)
            if mean and f"{coef}_{method}" in scaling:
                s = scaling[f"{coef}_{method}"]
                params = np.array([r["rm_params"] for r in seed_rows])
                ax.plot(params, s.line.predict(params), "--", color="grey",
                        label=f"{s.line.slope:+.3f}/decade (per seed {s.slope:+.3f})")
        ax.legend(fontsize=7)
        ax.set_xscale("log")
        ax.set_xlabel("proxy RM parameters")
        ax.set_title(f"{coef}_{method} (light: single seeds)", fontsize=10)
    _save(fig, path)


def plot_rm_loss_vs_data(rm_mean, path):
    """The paper's Figure 6: proxy test loss and accuracy (on held-out comparisons, the same
    for every proxy) against the number of comparisons, one line per RM size with its band
    over seeds; ln 2 and 50% are chance."""
    rows = [r for r in rm_mean if r["rm"] == "proxy"]
    colours = size_colours([r["rm_params"] for r in rows])
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(10, 4))
    for (params,), curve in group(rows, "rm_params").items():
        data = [r["rm_data"] for r in curve]
        for ax, column in ((loss_ax, "test_loss"), (acc_ax, "test_acc")):
            ax.plot(data, [r[column] for r in curve], "-o", ms=3, color=colours[params],
                    label=f"{params:,} params")
            _band(ax, data, curve, column, colours[params])
    loss_ax.axhline(np.log(2), color="grey", ls=":", label="chance (ln 2)")
    acc_ax.axhline(0.5, color="grey", ls=":")
    for ax, label in ((loss_ax, "test loss (held-out comparisons)"),
                      (acc_ax, "test accuracy (held-out comparisons)")):
        ax.set_xscale("log")
        ax.set_xlabel("comparisons the proxy was trained on")
        ax.set_ylabel(label)
    loss_ax.legend(fontsize=7, title=_seeds_note(rows), title_fontsize=7)
    _save(fig, path)


def plot_kl_growth(bon_mean, rl_mean, exponents, path):
    """KL as an optimization budget: best-of-n spends it like log n, RL like a power of step."""
    fig, (bon_ax, rl_ax) = plt.subplots(1, 2, figsize=(10, 4))
    first = next(iter(group(bon_mean, "rm_params", "rm_data").values()))
    bon_ax.plot([r["n"] for r in first], [r["kl"] for r in first], "-o", ms=3)
    bon_ax.set_xscale("log")
    bon_ax.set_xlabel("n (log scale)")
    bon_ax.set_ylabel("KL (nats)")
    bon_ax.set_title("best-of-n: KL = log n − (n−1)/n", fontsize=10)
    _kl_vs_step(rl_ax, rl_mean, exponents)
    rl_ax.set_title(f"RL: sampled KL(π ‖ π_init) ({_seeds_note(rl_mean)})", fontsize=9)
    _save(fig, path)


def plot_gold_vs_proxy(bon_mean, rl_mean, path):
    """Gold against proxy score on the most data: measured by the proxy, RL and best-of-n look
    alike (seed means)."""
    most = max(r["rm_data"] for r in bon_mean)
    colours = size_colours([r["rm_params"] for r in bon_mean])
    fig, ax = plt.subplots(figsize=(6, 4.4))
    for rows, style, name in ((bon_mean, "-o", "BoN"), (rl_mean, "--s", "RL")):
        for (params, data), curve in group(rows, "rm_params", "rm_data").items():
            if data == most:
                ax.plot([r["proxy"] for r in curve], [r["gold"] for r in curve], style, ms=2.5,
                        color=colours[params], label=f"{name}, {params:,} params")
    ax.set_xlabel("proxy score")
    ax.set_ylabel("gold score")
    ax.set_title(f"gold against proxy: best-of-n (solid) and RL (dashed), "
                 f"{_seeds_note(bon_mean)}", fontsize=8)
    ax.legend(fontsize=7)
    _save(fig, path)


def plot_kl_penalty(penalty_mean, path):
    """RL gold against sqrt(KL) at several KL-penalty coefficients, against one proxy."""
    fig, ax = plt.subplots(figsize=(6, 4.4))
    cmap = matplotlib.colormaps["cividis"]
    coefs = sorted({r["kl_coef"] for r in penalty_mean})
    for i, coef in enumerate(coefs):
        curve = [r for r in penalty_mean if r["kl_coef"] == coef]
        colour, d = cmap(0.9 * i / max(len(coefs) - 1, 1)), sqrt_kl(curve)
        ax.plot(d, [r["gold"] for r in curve], "-o", ms=2.5, color=colour,
                label=f"KL coef {coef:g}")
        _band(ax, d, curve, "gold", colour)
    kl_axis(ax)
    ax.set_ylabel("gold score")
    ax.set_title(f"KL penalty, proxy of {penalty_mean[0]['rm_params']:,} params "
                 f"({_seeds_note(penalty_mean)})", fontsize=9)
    ax.legend(fontsize=8)
    _save(fig, path)


def plot_extrapolation(bon_mean, extrapolation, path):
    """The best-of-n form fitted on n ≤ N/16 (solid) and extrapolated to n = N (dotted), on the
    seed-mean curves of the most data (`extrapolation`: analysis.extrapolation_rows)."""
    most = max(r["rm_data"] for r in bon_mean)
    rows = [r for r in bon_mean if r["rm_data"] == most]
    fitted = {r["rm_params"]: r for r in extrapolation
              if r["seed"] == "mean" and r["rm_data"] == most}
    colours = size_colours([r["rm_params"] for r in rows])
    fig, ax = plt.subplots(figsize=(6, 4.4))
    for (params,), curve in group(rows, "rm_params").items():
        d, f, c = sqrt_kl(curve), fitted[params], colours[params]
        cut = d[[r["n"] for r in curve].index(f["fit_up_to_n"])]  # the last fitted point
        ax.plot(d, [r["gold"] for r in curve], "o", ms=3, color=c, label=f"{params:,} params")
        _band(ax, d, curve, "gold", c)
        inside, beyond = np.linspace(0, cut, 50), np.linspace(cut, d.max(), 50)
        ax.plot(inside, fit.bon_form(inside, f["alpha"], f["beta"]), "-", color=c)
        ax.plot(beyond, fit.bon_form(beyond, f["alpha"], f["beta"]), ":", color=c)
    kl_axis(ax)
    ax.set_ylabel("gold score")
    N = rows[-1]["n"]
    ax.set_title(f"fit on n ≤ {next(iter(fitted.values()))['fit_up_to_n']:,} (solid), "
                 f"predicted to n = {N:,} (dotted)", fontsize=10)
    ax.legend(fontsize=7)
    _save(fig, path)


def plot_policy_size(policy_mean, path):
    """The paper's Section 3.4: gold gain against sqrt(KL) from two initial policies, best-of-n
    and RL, one colour per proxy size; the larger policy dashed."""
    colours = size_colours([r["rm_params"] for r in policy_mean])
    policies = sorted({r["policy_params"] for r in policy_mean})
    fig, axes = plt.subplots(1, 2, figsize=(10.4, 4.4), sharey=True)
    for ax, method in zip(axes, ("bon", "rl"), strict=True):
        panel = [r for r in policy_mean if r["method"] == method]
        for (policy, params), curve in group(panel, "policy_params", "rm_params").items():
            d = sqrt_kl(curve)
            ax.plot(d, [r["gold"] for r in curve], "-" if policy == policies[0] else "--",
                    color=colours[params], lw=1.3, label=f"policy {policy:,}, RM {params:,}")
            _band(ax, d, curve, "gold", colours[params])
        ax.axhline(0, color="grey", lw=0.5)
        kl_axis(ax)
        ax.set_title(f"{LABELS[method]}: smaller policy solid, larger dashed", fontsize=10)
    axes[0].set_ylabel("gold gain over the initial policy")
    axes[1].legend(fontsize=6, title=_seeds_note(policy_mean), title_fontsize=6)
    _save(fig, path)


OBJECTIVE_STYLES = {"single": ("tab:grey", "a member alone"), "mean": ("tab:blue", "mean"),
                    "wco": ("tab:red", "worst case (WCO)"),
                    "uwo": ("tab:green", "uncertainty-weighted (UWO)")}


def plot_ensembles(ensemble_mean, path):
    """Coste et al.'s Figure 1: gold against sqrt(KL) for a member alone and for each ensemble
    objective, best-of-n (top) and RL (bottom), one column per label-noise level.

    ensemble_mean: `analysis.seed_mean` rows keyed by method, label_noise and objective (the
    single-member curve averages members and seeds)."""
    noises = sorted({r["label_noise"] for r in ensemble_mean})
    methods = [m for m in ("bon", "rl") if any(r["method"] == m for r in ensemble_mean)]
    fig, axes = plt.subplots(len(methods), len(noises), figsize=(5.2 * len(noises),
                             4.0 * len(methods)), squeeze=False, sharey="row")
    for row, method in zip(axes, methods, strict=True):
        for ax, noise in zip(row, noises, strict=True):
            panel = [r for r in ensemble_mean if r["method"] == method
                     and r["label_noise"] == noise]
            for (objective,), curve in group(panel, "objective").items():
                colour, label = OBJECTIVE_STYLES[objective]
                d = sqrt_kl(curve)
                ax.plot(d, [r["gold"] for r in curve], "-o", ms=2.5, color=colour, label=label)
                _band(ax, d, curve, "gold", colour)
            ax.axhline(0, color="grey", lw=0.5)
            kl_axis(ax)
            ax.set_title(f"{LABELS[method]}, {noise:.0%} label noise", fontsize=10)
        row[0].set_ylabel("gold score")
    axes[0][0].legend(fontsize=8)
    note = _seeds_note([r for r in ensemble_mean if r["objective"] != "single"])
    fig.suptitle(f"proxy ensembles: gold against KL ({note}; a member alone: mean and band "
                 "over members too)", fontsize=10)
    _save(fig, path)


# --- direct alignment ---------------------------------------------------------------------------


def plot_dpo(dpo_mean, fits, frontier_mean, path):
    """Direct alignment, one column per loss. Top: gold against sqrt(KL) at each beta (points,
    band, the RL form fitted to the seed-mean curve), beside best-of-n (grey) and RL (black)
    against the proxy trained on the same comparisons. Bottom: gold (solid) and the implicit
    reward's held-out accuracy (dashed, right axis) against epochs of training. The frontier
    is drawn without its band: RL's seeds spend very different KL by the same step, and their
    band would cover the panel.

    dpo_mean: analysis.dpo_seed_mean rows; fits: analysis.dpo_fit_rows; frontier_mean:
    analysis.seed_mean of studies.dpo_frontier_rows.
    """
    fitted = {(f["loss"], f["beta"]): f for f in fits if f["seed"] == "mean"}
    losses = list(dict.fromkeys(r["loss"] for r in dpo_mean))
    colours = size_colours([r["beta"] for r in dpo_mean])
    fig, axes = plt.subplots(2, len(losses), figsize=(5.6 * len(losses), 8.4), squeeze=False)
    for column, loss in enumerate(losses):
        top, bottom = axes[0][column], axes[1][column]
        accuracy = bottom.twinx()
        for (method, params), curve in group(frontier_mean, "method", "rm_params").items():
            d, colour = sqrt_kl(curve), "0.55" if method == "bon" else "black"
            top.plot(d, [r["gold"] for r in curve], "-" if method == "bon" else ":",
                     color=colour, lw=1.4, label=f"{LABELS[method]}, proxy of {params:,}")
        for (beta,), curve in group([r for r in dpo_mean if r["loss"] == loss], "beta").items():
            d, colour, f = sqrt_kl(curve), colours[beta], fitted.get((loss, beta))
            top.plot(d, [r["gold"] for r in curve], "o", ms=3.5, color=colour,
                     label=None if f else f"β = {beta:g}")
            _band(top, d, curve, "gold", colour)
            if f:  # analysis.fittable
                grid = np.linspace(0, d.max(), 200)
                top.plot(grid, fit.rl_form(grid, f["fit_alpha"], f["fit_beta"]), "-",
                         color=colour, lw=1.5, label=f"β = {beta:g} (RL form, R² {f['r2']:.2f})")
            epoch = [r["epoch"] for r in curve]
            bottom.plot(epoch, [r["gold"] for r in curve], "-", color=colour, label=f"β = {beta:g}")
            _band(bottom, epoch, curve, "gold", colour)
            accuracy.plot(epoch, [r["implicit_acc"] for r in curve], "--", color=colour)
        top.axhline(0, color="grey", lw=0.5)
        kl_axis(top)
        top.set_title(f"{loss.upper()}: gold against KL, on {curve[0]['rm_data']:,} comparisons",
                      fontsize=10)
        top.legend(fontsize=7)
        bottom.set_xlabel("epochs of training")
        bottom.set_ylabel("gold score (solid)")
        accuracy.set_ylabel("implicit reward's held-out accuracy (dashed)")
        bottom.legend(fontsize=7)
    axes[0][0].set_ylabel("gold score (relative to initial policy)")
    fig.suptitle(f"direct alignment: {_seeds_note(dpo_mean)}", fontsize=10)
    _save(fig, path)
