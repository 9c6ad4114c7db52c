"""The paper's figures, drawn with matplotlib from the rows the experiments write.

Conventions shared by every figure: the x axis is d = sqrt(KL) (the paper's choice: both
functional forms are simple in d) with the KL itself marked on a secondary axis on top; one
colour per RM size on a log colour map (darker = more parameters); gold scores are points with
the fitted functional form drawn through them, proxy scores are dashed.
"""

import math

import matplotlib

matplotlib.use("Agg")  # files only: the package never opens a window
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from minirmo import fit  # noqa: E402

FORMS = {"bon": (fit.fit_bon, fit.bon_form, "best-of-n"), "rl": (fit.fit_rl, fit.rl_form, "RL")}


def size_colours(params) -> dict:
    """A colour for each RM size, evenly spaced in log(params) on the viridis map."""
    sizes = sorted(set(params))
    logs = np.log10(sizes)
    span = max(logs.max() - logs.min(), 1e-9)
    cmap = matplotlib.colormaps["viridis"]
    return {s: cmap(0.9 * (math.log10(s) - logs.min()) / span) for s in sizes}


def kl_axis(ax) -> None:
    """Label the x axis as sqrt(KL) and add the KL in nats on a secondary top axis."""
    ax.set_xlabel("d = sqrt(KL) (sqrt nats)")
    top = ax.secondary_xaxis("top", functions=(np.square, lambda k: np.sqrt(np.clip(k, 0, None))))
    top.set_xlabel("KL (nats)")


def group(rows, *keys) -> dict:
    """Rows grouped by the values of `keys`: {(v1, v2, ...): [row, ...]} in first-seen order."""
    groups = {}
    for row in rows:
        groups.setdefault(tuple(row[k] for k in keys), []).append(row)
    return groups


def _save(fig, path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_scores_vs_kl(rows, method: str, path, data_sizes=None):
    """Gold (points + fitted form) and proxy (dashed) against sqrt(KL), one colour per RM size.

    `rows` are bon.csv or rl.csv rows; `method` is "bon" or "rl" (which form to fit). One panel
    per number of comparisons in `data_sizes` (default: the smallest and the largest).
    """
    fit_form, form, label = FORMS[method]
    all_data = sorted({r["rm_data"] for r in rows})
    data_sizes = data_sizes or sorted({all_data[0], all_data[-1]})
    colours = size_colours([r["rm_params"] for r in rows])
    fig, axes = plt.subplots(1, len(data_sizes), figsize=(5.2 * len(data_sizes), 4.4),
                             sharey=True, squeeze=False)
    for ax, rm_data in zip(axes[0], data_sizes, strict=True):
        panel = [r for r in rows if r["rm_data"] == rm_data]
        for (params,), curve in group(panel, "rm_params").items():
            d = np.sqrt([r["kl"] for r in curve])
            gold = np.array([r["gold"] for r in curve])
            c = colours[params]
            ax.plot(d, gold, "o", ms=3.5, color=c)
            ax.plot(d, [r["proxy"] for r in curve], "--", color=c, lw=1.2)
            alpha, beta = fit_form(d, gold)
            grid = np.linspace(0, d.max(), 200)
            ax.plot(grid, form(grid, alpha, beta), "-", color=c, lw=1.5,
                    label=f"{params:,} params")
        ax.axhline(0, color="grey", lw=0.5)
        kl_axis(ax)
        ax.set_title(f"{label}, proxy RMs trained on {rm_data:,} comparisons", fontsize=10)
    axes[0][0].set_ylabel("RM score (relative to initial policy)")
    axes[0][0].legend(fontsize=8, title="proxy RM size", title_fontsize=8)
    fig.suptitle("gold: points with the fitted form (solid); proxy: dashed", fontsize=10)
    _save(fig, path)


def _kl_vs_step(ax, rl_rows) -> None:
    """Sampled KL against PPO step, one line per proxy size, with the fitted KL ≈ c·step^k."""
    colours = size_colours([r["rm_params"] for r in rl_rows])
    for (params, _), curve in group(rl_rows, "rm_params", "rm_data").items():
        steps, kl = [r["step"] for r in curve], [r["kl"] for r in curve]
        _, k = fit.fit_power(steps, kl)
        ax.plot(steps, kl, color=colours[params], label=f"{params:,} params: KL ~ step^{k:.2f}")
    ax.set_xlabel("PPO step")
    ax.set_ylabel("KL(π ‖ π_init) (nats)")
    ax.legend(fontsize=7)


def plot_kl_vs_step(rl_rows, path):
    """RL spends KL fast (the paper: roughly quadratically in steps without a penalty)."""
    fig, ax = plt.subplots(figsize=(5.6, 4.2))
    _kl_vs_step(ax, rl_rows)
    ax.set_title("RL: sampled KL against PPO step", fontsize=10)
    _save(fig, path)


def data_colours(data_sizes) -> dict:
    """A colour for each number of comparisons, on the plasma map (lighter = more data)."""
    sizes = sorted(set(data_sizes))
    cmap = matplotlib.colormaps["plasma"]
    return {n: cmap(0.85 * i / max(len(sizes) - 1, 1)) for i, n in enumerate(sizes)}


def plot_gold_vs_data(bon_rows, path):
    """The paper's Figure 2: best-of-n gold against sqrt(KL), one curve per number of
    comparisons, for the smallest and the largest proxy size."""
    sizes = sorted({r["rm_params"] for r in bon_rows})
    colours = data_colours([r["rm_data"] for r in bon_rows])
    fig, axes = plt.subplots(1, 2, figsize=(10.4, 4.4), sharey=True)
    for ax, params in zip(axes, (sizes[0], sizes[-1]), strict=True):
        panel = [r for r in bon_rows if r["rm_params"] == params]
        for (data,), curve in group(panel, "rm_data").items():
            ax.plot(np.sqrt([r["kl"] for r in curve]), [r["gold"] for r in curve], "-o", ms=2.5,
                    color=colours[data], label=f"{data:,} comparisons")
        ax.axhline(0, color="grey", lw=0.5)
        kl_axis(ax)
        ax.set_title(f"best-of-n gold, proxy RM of {params:,} params", fontsize=10)
    axes[0].set_ylabel("gold score (relative to initial policy)")
    axes[0].legend(fontsize=7)
    _save(fig, path)


def plot_coefficients(fits, scaling, path):
    """The paper's Figure 3: α and β of both forms against RM params, with fitted log lines."""
    fig, axes = plt.subplots(1, 4, figsize=(14, 3.6))
    for ax, (method, coef) in zip(axes, [("bon", "alpha"), ("bon", "beta"), ("rl", "alpha"),
                                         ("rl", "beta")], strict=True):
        rows = [r for r in fits if r["method"] == method]
        most = max(r["rm_data"] for r in rows)
        rows = sorted((r for r in rows if r["rm_data"] == most), key=lambda r: r["rm_params"])
        params = np.array([r["rm_params"] for r in rows])
        ax.plot(params, [r[coef] for r in rows], "o", color="C0" if method == "bon" else "C3")
        line = scaling.get(f"{coef}_{method}")
        if line is not None:
            ax.plot(params, line.predict(params), "--", color="grey",
                    label=f"{line.slope:+.3f} per decade")
            ax.legend(fontsize=8)
        ax.set_xscale("log")
        ax.set_xlabel("proxy RM parameters")
        ax.set_title(f"{coef}_{method}", fontsize=10)
    _save(fig, path)


def plot_rm_loss_vs_data(rm_rows, path):
    """The paper's Figure 6: proxy validation loss and accuracy against the number of
    comparisons, one line per RM size; ln 2 and 50% are chance."""
    rows = [r for r in rm_rows if r["rm"] == "proxy"]
    colours = size_colours([r["rm_params"] for r in rows])
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(10, 4))
    for (params,), curve in group(rows, "rm_params").items():
        data = [r["rm_data"] for r in curve]
        loss_ax.plot(data, [r["val_loss"] for r in curve], "-o", ms=3, color=colours[params],
                     label=f"{params:,} params")
        acc_ax.plot(data, [r["val_acc"] for r in curve], "-o", ms=3, color=colours[params])
    loss_ax.axhline(np.log(2), color="grey", ls=":", label="chance (ln 2)")
    acc_ax.axhline(0.5, color="grey", ls=":")
    for ax, label in ((loss_ax, "validation loss"), (acc_ax, "validation accuracy")):
        ax.set_xscale("log")
        ax.set_xlabel("comparisons the proxy was trained on")
        ax.set_ylabel(label)
    loss_ax.legend(fontsize=7)
    _save(fig, path)


def plot_kl_growth(bon_rows, rl_rows, path):
    """KL as an optimization budget: best-of-n spends it like log n, RL like a power of step."""
    fig, (bon_ax, rl_ax) = plt.subplots(1, 2, figsize=(10, 4))
    first = next(iter(group(bon_rows, "rm_params", "rm_data").values()))
    bon_ax.plot([r["n"] for r in first], [r["kl"] for r in first], "-o", ms=3)
    bon_ax.set_xscale("log")
    bon_ax.set_xlabel("n (log scale)")
    bon_ax.set_ylabel("KL (nats)")
    bon_ax.set_title("best-of-n: KL = log n − (n−1)/n", fontsize=10)
    _kl_vs_step(rl_ax, rl_rows)
    rl_ax.set_title("RL: sampled KL(π ‖ π_init)", fontsize=10)
    _save(fig, path)


def plot_gold_vs_proxy(bon_rows, rl_rows, path):
    """Gold against proxy score: measured by the proxy, RL and best-of-n look alike."""
    most = max(r["rm_data"] for r in bon_rows)
    colours = size_colours([r["rm_params"] for r in bon_rows])
    fig, ax = plt.subplots(figsize=(6, 4.4))
    for rows, style, name in ((bon_rows, "-o", "BoN"), (rl_rows, "--s", "RL")):
        for (params, data), curve in group(rows, "rm_params", "rm_data").items():
            if data == most:
                ax.plot([r["proxy"] for r in curve], [r["gold"] for r in curve], style, ms=2.5,
                        color=colours[params], label=f"{name}, {params:,} params")
    ax.set_xlabel("proxy score")
    ax.set_ylabel("gold score")
    ax.set_title("gold against proxy: best-of-n (solid) and RL (dashed)", fontsize=10)
    ax.legend(fontsize=7)
    _save(fig, path)


def plot_kl_penalty(rows, path):
    """RL gold against sqrt(KL) at several KL-penalty coefficients, against one proxy."""
    fig, ax = plt.subplots(figsize=(6, 4.4))
    cmap = matplotlib.colormaps["cividis"]
    coefs = sorted({r["kl_coef"] for r in rows})
    for i, coef in enumerate(coefs):
        curve = [r for r in rows if r["kl_coef"] == coef]
        colour = cmap(0.9 * i / max(len(coefs) - 1, 1))
        ax.plot(np.sqrt(np.clip([r["kl"] for r in curve], 0, None)), [r["gold"] for r in curve],
                "-o", ms=2.5, color=colour, label=f"KL coef {coef:g}")
    kl_axis(ax)
    ax.set_ylabel("gold score")
    ax.set_title(f"KL penalty, proxy of {rows[0]['rm_params']:,} params", fontsize=10)
    ax.legend(fontsize=8)
    _save(fig, path)


def plot_extrapolation(bon_rows, path, fraction: float = 1 / 16):
    """The best-of-n form fitted on n ≤ N/16 (solid) and extrapolated to n = N (dotted)."""
    most = max(r["rm_data"] for r in bon_rows)
    rows = [r for r in bon_rows if r["rm_data"] == most]
    colours = size_colours([r["rm_params"] for r in rows])
    fig, ax = plt.subplots(figsize=(6, 4.4))
    for (params,), curve in group(rows, "rm_params").items():
        d = np.sqrt([r["kl"] for r in curve])
        gold = [r["gold"] for r in curve]
        cut = curve[-1]["n"] * fraction
        early = np.array([r["n"] <= cut for r in curve])
        alpha, beta = fit.fit_bon(d[early], np.array(gold)[early])
        ax.plot(d, gold, "o", ms=3, color=colours[params], label=f"{params:,} params")
        fitted = np.linspace(0, d[early].max(), 50)
        ax.plot(fitted, fit.bon_form(fitted, alpha, beta), "-", color=colours[params])
        beyond = np.linspace(d[early].max(), d.max(), 50)
        ax.plot(beyond, fit.bon_form(beyond, alpha, beta), ":", color=colours[params])
    kl_axis(ax)
    ax.set_ylabel("gold score")
    ax.set_title(f"fit on n ≤ N/{round(1 / fraction)} (solid), predicted beyond (dotted)",
                 fontsize=10)
    ax.legend(fontsize=7)
    _save(fig, path)


def plot_policy_size(rows, path):
    """The paper's Section 3.4: gold gain against sqrt(KL) from two initial policies, best-of-n
    and RL, one colour per proxy size; the larger policy dashed."""
    colours = size_colours([r["rm_params"] for r in rows])
    policies = sorted({r["policy_params"] for r in rows})
    fig, axes = plt.subplots(1, 2, figsize=(10.4, 4.4), sharey=True)
    for ax, method in zip(axes, ("bon", "rl"), strict=True):
        panel = [r for r in rows if r["method"] == method]
        for (policy, start, params), curve in group(
                panel, "policy_params", "gold_init", "rm_params").items():
            ax.plot(np.sqrt(np.clip([r["kl"] for r in curve], 0, None)),
                    [r["gold"] for r in curve], "-" if policy == policies[0] else "--",
                    color=colours[params], lw=1.3,
                    label=f"policy {policy:,} (starts at {start:+.2f}), RM {params:,}")
        ax.axhline(0, color="grey", lw=0.5)
        kl_axis(ax)
        ax.set_title(f"{FORMS[method][2]}: smaller policy solid, larger dashed", fontsize=10)
    axes[0].set_ylabel("gold gain over the initial policy")
    axes[1].legend(fontsize=6)
    _save(fig, path)
