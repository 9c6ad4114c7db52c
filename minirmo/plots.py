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
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_kl_vs_step(rows, path):
    """Sampled KL(π ‖ π_init) against PPO step, one colour per proxy size, with the fitted
    power law KL ≈ c · step^k (the paper: roughly quadratic without a KL penalty)."""
    colours = size_colours([r["rm_params"] for r in rows])
    fig, ax = plt.subplots(figsize=(5.6, 4.2))
    for (params, _), curve in group(rows, "rm_params", "rm_data").items():
        steps = np.array([r["step"] for r in curve])
        kl = np.array([r["kl"] for r in curve])
        _, k = fit.fit_power(steps, kl)
        ax.plot(steps, kl, color=colours[params], label=f"{params:,} params: KL ~ step^{k:.2f}")
    ax.set_xlabel("PPO step")
    ax.set_ylabel("KL(π ‖ π_init) (nats)")
    ax.set_title("RL spends KL fast: KL against PPO step", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
