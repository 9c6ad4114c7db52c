# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Tutorial 4: more comparisons, less Goodhart?
#
# Tutorial 3 held the data fixed and changed the proxy's size. Now the other axis: hold the
# size fixed and change the **number of comparisons** the proxy was trained on. The paper
# (its Figure 2) reports the intuitive result: more data gives a higher gold score at the
# peak and less Goodharting (the gold falls less once past its peak), at every RM size.
#
# The intuition is the one from Tutorial 1. A proxy is reliable where its training data were
# dense and an extrapolation elsewhere. More comparisons fill in more of the distribution,
# including a few more samples from the thin tail where the hidden utility turns down, so
# the proxy's errors move further out and optimization has to go further to find them.
#
# This tutorial measures it on trained models and reports what this toy shows, whatever
# that is: a small world with a handful of data sizes is a noisy instrument, and the
# honest reading of a noisy instrument is part of the lesson.
#
# *As a notebook:* open `tutorials/04_rm_data.ipynb` (written by `minirmo handout`, or by
# `jupytext --to ipynb tutorials/04_rm_data.py`) in Jupyter, or upload it to Colab after `pip
# install -e .` of the project there. *Time on a laptop CPU (2 cores):* 26 s after Tutorial 3 in
# the same run folder (measured 2026-11-25, before the `tiny` preset moved to 1,000/4,000
# comparisons: it adds the proxies on less data); from an empty folder add Tutorial 3's time.

# %%
import os
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from minirmo import analysis, fit, plots
from minirmo.runs import studies
from minirmo.runs.presets import get_preset
from minirmo.runs.run import Run

FAST = os.environ.get("MINIRMO_FAST") == "1"  # the `test` preset: seconds with a warm cache
OUT = Path(os.environ.get("MINIRMO_OUT", "tutorial_out"))
OUT.mkdir(parents=True, exist_ok=True)
T0 = time.time()

# %% [markdown]
# ## The run and the grid
#
# Same `Run` as Tutorial 3 (set `MINIRMO_RUN_DIR` to share its cache, `MINIRMO_PRESET` and
# `MINIRMO_DEVICE=cuda` as there, to choose the preset and run on a GPU). The preset's grid is
# every proxy size × every number of comparisons; best-of-n needs no training beyond the
# proxies themselves, so it is the cheap way to see the whole grid.

# %%
PRESET = "test" if FAST else os.environ.get("MINIRMO_PRESET", "tiny")  # "paper": 50 min (3 seeds)
RUN_DIR = Path(os.environ.get("MINIRMO_RUN_DIR", f"runs/{PRESET}"))
DEVICE = os.environ.get("MINIRMO_DEVICE", "cpu")  # "cuda" on a GPU
run = Run(get_preset(PRESET), RUN_DIR, DEVICE, progress=not FAST)
DATA = run.preset.proxy_data
print(f"preset {PRESET!r}: {len(run.preset.proxy_sizes)} sizes x {len(DATA)} data sizes "
      f"({', '.join(f'{n:,}' for n in DATA)} comparisons)")
rm_rows = studies.rm_rows([run])  # val loss and accuracy of every proxy (trains what is missing)
bon_rows = studies.bon_rows([run])
N = bon_rows[-1]["n"]
acc = {(r["rm_params"], r["rm_data"]): r["val_acc"] for r in rm_rows if r["rm"] == "proxy"}

# %% [markdown]
# ## Where each proxy's gold peaks
#
# For every (size, data) we read the best-of-n gold curve directly (peak n, peak gold, and
# the gold left at n = N) and fit the paper's form. "Goodharting" is the drop from the peak
# to n = N: how much of the gain the last stretch of optimization gave back.

# %%
table = []
for (params, data), curve in analysis.group(bon_rows, "rm_params", "rm_data").items():
    best = max(curve, key=lambda r: r["gold"])
    alpha, beta = fit.fit_bon(np.sqrt([r["kl"] for r in curve]), [r["gold"] for r in curve])
    table.append({"params": params, "data": data, "acc": acc[params, data], "peak_n": best["n"],
                  "peak": best["gold"], "end": curve[-1]["gold"],
                  "drop": best["gold"] - curve[-1]["gold"], "proxy_end": curve[-1]["proxy"],
                  "alpha": alpha, "beta": beta})
print(f"best-of-n, N = {N:,}")
print(f"{'params':>9} {'data':>6} {'val acc':>7} {'peak n':>7} {'gold*':>6} {'gold@N':>7} "
      f"{'drop':>5} {'proxy@N':>7} {'alpha':>6} {'beta':>6}")
for t in table:
    print(f"{t['params']:>9,} {t['data']:>6,} {t['acc']:>7.3f} {t['peak_n']:>7} {t['peak']:>6.2f} "
          f"{t['end']:>7.2f} {t['drop']:>5.2f} {t['proxy_end']:>7.2f} {t['alpha']:>6.3f} "
          f"{t['beta']:>6.3f}")

# %% [markdown]
# ## Does more data help here?
#
# The paper's claim, made concrete: for each size, compare the smallest and the largest
# number of comparisons. Does the gold peak rise? Does the drop after the peak shrink? We
# count how many sizes agree with the paper rather than asserting that they do.

# %%
verdict = {"peak up": 0, "drop shrank": 0, "drop grew": 0, "no peak below N": 0}
sizes = sorted({t["params"] for t in table})
for params in sizes:
    rows = sorted((t for t in table if t["params"] == params), key=lambda t: t["data"])
    lo, hi = rows[0], rows[-1]
    verdict["peak up"] += hi["peak"] > lo["peak"]
    if lo["peak_n"] == hi["peak_n"] == N:  # neither curve turned down inside the pool
        verdict["no peak below N"] += 1
    else:
        verdict["drop shrank" if hi["drop"] < lo["drop"] else "drop grew"] += 1
    print(f"{params:>9,} params: {lo['data']:,} -> {hi['data']:,} comparisons: "
          f"gold peak {lo['peak']:+.2f} -> {hi['peak']:+.2f} (at n {lo['peak_n']} -> "
          f"{hi['peak_n']}), drop after peak {lo['drop']:.2f} -> {hi['drop']:.2f}")
print(f"of {len(sizes)} sizes, least -> most data: " + ", ".join(
    f"{k}: {v}" for k, v in verdict.items()))

# %% [markdown]
# The paper's Figure 2: gold against sqrt(KL), one curve per number of comparisons, for
# the smallest and the largest proxy; and beside it a summary in the style of its
# Figure 21: the gold peak against the number of comparisons, one line per size.

# %%
plots.plot_gold_vs_data(bon_rows, OUT / "04_fig2_gold_vs_data.png")
colours = plots.size_colours(sizes)
fig, (peak_ax, drop_ax) = plt.subplots(1, 2, figsize=(10, 4))
for params in sizes:
    rows = sorted((t for t in table if t["params"] == params), key=lambda t: t["data"])
    data = [t["data"] for t in rows]
    peak_ax.plot(data, [t["peak"] for t in rows], "-o", color=colours[params],
                 label=f"{params:,} params")
    drop_ax.plot(data, [t["drop"] for t in rows], "-o", color=colours[params])
for ax, label in ((peak_ax, "best-of-n gold at its peak"), (drop_ax, "gold lost by n = N")):
    ax.set_xscale("log")
    ax.set_xlabel("comparisons the proxy was trained on")
    ax.set_ylabel(label)
peak_ax.legend(fontsize=7)
fig.tight_layout()
fig.savefig(OUT / "04_peak_vs_data.png", dpi=120)
plt.close(fig)
print(f"figures in {OUT}/; ran in {time.time() - T0:.1f} s")

# %% [markdown]
# ## Reading the result
#
# Validation accuracy almost always rises with data: the proxy gets better *on the
# distribution it was trained on*. Whether that buys a higher gold peak under optimization
# is a different question, and a toy can answer it either way:
#
# * the peak of a best-of-n curve is set by the proxy's behaviour in the far tail of the
#   pool (the top few samples out of N), which a few thousand initial-policy comparisons
#   barely cover, whatever their number;
# * each cell of the grid is one proxy, one seed, one pool, so a difference of a few
#   hundredths of a standard deviation in the peak is within the noise;
# * more data can make a small proxy *more confident about the feature it got wrong*: it
#   learns "praise is good" more firmly, ranks gushing samples higher (look at its proxy
#   score at n = N), and best-of-n finds them sooner, so the peak comes earlier and the
#   fall is steeper. Accuracy on typical pairs says little about how a proxy ranks the
#   extreme ones, and best-of-n at large n only ever looks at the extreme ones.
#
# If your numbers follow the paper, the mechanism above is why. If they do not, the
# bullets are where to look, and Exercise 1 is how to tell noise from a real difference.
# Tutorial 5 looks at the other end of the data axis: below a threshold a proxy learns
# almost nothing at all.

# %% [markdown]
# ## Exercises
#
# These build on the course's Tasks 4.1 (the Bradley–Terry loss every proxy is trained with),
# 2.2 (best-of-n) and 5.1–5.3 (PPO); `docs/teaching.md` lists every task.
#
# 1. **Error bars (Task 2.2).** Repeat the grid for three seeds (`studies.seed_runs(...,
#    seeds=[0, 1, 2])` gives one run per seed in one folder) and plot the mean and spread of
#    the gold peak against data. Which of the differences in the table above survive?
# 2. **RL on the data axis (Tasks 5.1–5.3).** `studies.rl_rows([run], [(size, n) for n in
#    DATA])` runs PPO against one size at every data size. Does RL show the data effect more
#    or less clearly than best-of-n? (Mind the time: one PPO run per data size.)
# 3. **Data or epochs? (Task 4.1)** The paper reports that 4 epochs on 2k comparisons do not
#    help while 1 epoch on 8k does. Make a preset with `dataclasses.replace(preset,
#    proxy_train=BTConfig(epochs=4))` and compare a proxy trained for 4 epochs on the smaller
#    data with the default one on 4× the data: validation accuracy, and gold peak.
