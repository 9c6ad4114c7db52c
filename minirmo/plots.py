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


def plot_scores_vs_kl(rows, method: str, path, rm_data=None, title=None):
    """Gold (points + fitted form) and proxy (dashed) against sqrt(KL), one colour per RM size.

    `rows` are bon.csv or rl.csv rows; `method` is "bon" or "rl" (which form to fit);
    `rm_data` picks one data size (default: the largest in `rows`).
    """
    fit_form, form, label = FORMS[method]
    rm_data = rm_data or max(r["rm_data"] for r in rows)
    rows = [r for r in rows if r["rm_data"] == rm_data]
    colours = size_colours([r["rm_params"] for r in rows])
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for (params,), curve in group(rows, "rm_params").items():
        d = np.sqrt([r["kl"] for r in curve])
        gold = np.array([r["gold"] for r in curve])
        c = colours[params]
        ax.plot(d, gold, "o", ms=3.5, color=c)
        ax.plot(d, [r["proxy"] for r in curve], "--", color=c, lw=1.2)
        alpha, beta = fit_form(d, gold)
        grid = np.linspace(0, d.max(), 200)
        ax.plot(grid, form(grid, alpha, beta), "-", color=c, lw=1.5, label=f"{params:,} params")
    ax.axhline(0, color="grey", lw=0.5)
    kl_axis(ax)
    ax.set_ylabel("RM score (relative to initial policy)")
    ax.set_title(title or f"{label}: gold (solid, fitted) and proxy (dashed), {rm_data:,} "
                 "comparisons", fontsize=10)
    ax.legend(fontsize=8, title="proxy RM size", title_fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
