# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Tutorial 3: bigger reward models are harder to overoptimize
#
# Tutorials 1 and 2 used random numbers. From here on every number comes from models trained
# on this machine: an SFT policy, a gold reward model, and proxy reward models of several
# sizes, all cached by a `Run` so that later tutorials reuse them.
#
# The question of this tutorial is the paper's first scaling result (its Figure 1 and
# Figure 3). Hold everything fixed (the policy, the gold RM, the number of comparisons) and
# change only the **size of the proxy RM**. Then optimize the policy against each proxy,
# with best-of-n and with RL, and watch two curves against d = sqrt(KL):
#
# * the **proxy** score, which the optimizer sees, keeps rising;
# * the **gold** score, which stands in for humans, rises, peaks and falls.
#
# The paper found the same shape for every RM size from 3M to 3B parameters and for both
# optimizers, and that a bigger proxy peaks *later* and *higher*: in the fitted forms
#
#     best-of-n:  R_bon(d) = d (α_bon − β_bon d)
#     RL:         R_RL(d)  = d (α_RL  − β_RL  log d)
#
# α_bon rises and β_bon, β_RL fall roughly linearly in log(params), and α_RL hardly moves.
# A smaller β is a slower turn-down: overoptimization sets in later.
#
# *As a notebook:* open `tutorials/03_rm_size.ipynb` (written by `minirmo handout`, or by
# `jupytext --to ipynb tutorials/03_rm_size.py`) in Jupyter, or upload it to Colab after `pip
# install -e .` of the project there. *Time on a laptop CPU (2 cores):* from an empty run
# folder it trains the policy, the gold and three proxies and runs best-of-n and PPO, a part of
# what `minirmo reproduce --preset tiny --seed 0 --jobs 1` trains, so it takes less than that
# command (timed in the README's table "How long each preset takes"); it took 2 min 10 s on
# 2026-11-25, before the `tiny` preset moved to 1,000/4,000 comparisons. Seconds once
# `runs/tiny` is warm. The `paper` preset: see the same table.

# %%
import os
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from minirmo import analysis, fit, plots
from minirmo.reward import RewardModel
from minirmo.runs import studies
from minirmo.runs.presets import get_preset
from minirmo.runs.run import Run

FAST = os.environ.get("MINIRMO_FAST") == "1"  # the `test` preset: seconds with a warm cache
OUT = Path(os.environ.get("MINIRMO_OUT", "tutorial_out"))
OUT.mkdir(parents=True, exist_ok=True)
T0 = time.time()

# %% [markdown]
# ## The run
#
# A `Run` owns a folder. The first time a model is needed it is trained and saved under
# `RUN_DIR/cache/`; every later call (in this tutorial, in the next ones, or in
# `minirmo reproduce` pointed at the same folder) loads it instead. Fast mode uses the
# `test` preset (two proxy sizes, a few minutes to train from scratch); otherwise the `tiny`
# preset at seed 0 (three sizes, the models of `minirmo reproduce --preset tiny`, found in
# `runs/tiny` if that command ran there). The `paper` preset (eight sizes over 2.6 orders
# of magnitude, 50 minutes for 3 seeds on 2 cores) only when asked: set
# `MINIRMO_PRESET=paper`, and point `MINIRMO_RUN_DIR` at a folder where
# `minirmo reproduce --preset paper` already ran. On a GPU set `MINIRMO_DEVICE=cuda` (default
# `cpu`; in a notebook, a first cell `%env MINIRMO_DEVICE=cuda`).

# %%
PRESET = "test" if FAST else os.environ.get("MINIRMO_PRESET", "tiny")  # "paper": 50 min (3 seeds)
RUN_DIR = Path(os.environ.get("MINIRMO_RUN_DIR", f"runs/{PRESET}"))
DEVICE = os.environ.get("MINIRMO_DEVICE", "cpu")  # "cuda" on a GPU
run = Run(get_preset(PRESET), RUN_DIR, DEVICE, progress=not FAST)
MOST = run.preset.proxy_data[-1]  # the size study holds the data fixed at the most we have
SIZES = run.preset.proxy_sizes
PARAMS = [RewardModel(run.world, s).n_params for s in SIZES]  # an untrained model: no cost
gold_rm, gold_report = run.gold()
print(f"preset {PRESET!r}: {len(SIZES)} proxy sizes, each trained on {MOST:,} comparisons")
for s, p in zip(SIZES, PARAMS, strict=True):
    print(f"  proxy {s.n_layer} layer(s) x {s.n_embd} wide: {p:,} params")
print(f"gold RM: {gold_rm.n_params:,} params, agrees with the hidden utility on "
      f"{gold_report['val_acc']:.1%} of held-out pairs")

# %% [markdown]
# ## Both optimizers against every size
#
# `studies.bon_rows` draws one pool of N initial-policy samples per prompt, scores it with each
# proxy and with the gold RM, and reads off best-of-n for every n ≤ N with the unbiased
# estimator (Tutorial 2). It runs on the whole grid of sizes × data (`minirmo bon` writes the
# same rows to `bon.csv`); we keep the rows on the most data here (Tutorial 4 studies the data
# axis).
#
# `studies.rl_rows` runs PPO, *without a KL penalty* as in the paper's main results, against
# every proxy size on the most data. Each row is one PPO step: the sampled KL of that
# step's rollout and the mean proxy and gold scores of the same samples. Scores are relative
# to the initial policy; gold is in standard deviations of the initial policy's gold scores.

# %%
bon_all = studies.bon_rows([run])
bon_rows = [r for r in bon_all if r["rm_data"] == MOST]
rl_rows = studies.rl_rows([run])
N = bon_rows[-1]["n"]


def smooth(values, width=3):
    """Trailing moving average: each RL step's scores are means over one noisy batch."""
    values = np.asarray(values, dtype=float)
    return np.array([values[max(0, i - width + 1) : i + 1].mean() for i in range(len(values))])


print(f"best-of-n, N = {N:,}:")
print(f"{'params':>9} {'peak n':>7} {'KL':>5} {'gold*':>6} {'gold@N':>7} {'proxy@N':>8}")
for (params, _), curve in analysis.group(bon_rows, "rm_params", "rm_data").items():
    best = max(curve, key=lambda r: r["gold"])
    note = "   <- still rising at n = N: no peak inside the pool" if best is curve[-1] else ""
    print(f"{params:>9,} {best['n']:>7} {best['kl']:>5.2f} {best['gold']:>6.2f} "
          f"{curve[-1]['gold']:>7.2f} {curve[-1]['proxy']:>8.2f}{note}")
print(f"RL, {len(rl_rows) // len(SIZES)} PPO steps (scores smoothed over 3 steps):")
print(f"{'params':>9} {'peak step':>9} {'KL':>5} {'gold*':>6} {'gold end':>8} {'proxy end':>9} "
      f"{'KL end':>6}")
for (params, _), curve in analysis.group(rl_rows, "rm_params", "rm_data").items():
    gold, proxy = smooth([r["gold"] for r in curve]), smooth([r["proxy"] for r in curve])
    peak = int(np.argmax(gold))
    print(f"{params:>9,} {curve[peak]['step']:>9} {curve[peak]['kl']:>5.1f} {gold[peak]:>6.2f} "
          f"{gold[-1]:>8.2f} {proxy[-1]:>9.2f} {curve[-1]['kl']:>6.1f}")

# %% [markdown]
# Read the tables row by row. For every size the proxy ends far above where the gold peaked:
# the optimizer kept climbing a score that had stopped meaning what we wanted. Then compare
# rows: does the bigger proxy peak at a larger n (or KL), and higher?
#
# The paper's Figure 1 draws exactly this: gold as points with the fitted form through
# them, proxy dashed, one colour per RM size.

# %%
all_fits = analysis.fit_rows(bon_rows + rl_rows)  # per seed, and on the seed-mean curve
fits = [f for f in all_fits if f["seed"] == analysis.MEAN]
plots.plot_scores_vs_kl(bon_rows, fits, "bon", OUT / "03_bon_by_size.png")
plots.plot_scores_vs_kl(rl_rows, fits, "rl", OUT / "03_rl_by_size.png")

# %% [markdown]
# ## Fitting the forms, size by size
#
# `analysis.fit_rows` fits `fit_bon` / `fit_rl` to every gold curve (least squares on
# d = sqrt(KL); both forms are linear in α and β) and reports R². From (α, β) the peak
# follows in closed form (`bon_peak`, `rl_peak`): where the proxy stops being worth
# optimizing, *predicted* from the shape of the curve. (It fits each seed's curve and the
# curve averaged over seeds; with the one seed of this run the two are the same, so we keep
# the seed-mean fits, `seed == "mean"`, which the figures above already used.)

# %%
print(f"{'method':>6} {'params':>9} {'alpha':>7} {'beta':>7} {'R2':>5} {'d*':>6} {'KL*':>6} "
      f"{'R*':>6}")
for f in fits:
    peak_fn = fit.bon_peak if f["method"] == "bon" else fit.rl_peak
    d_star, r_star = peak_fn(f["alpha"], f["beta"])
    print(f"{f['method']:>6} {f['rm_params']:>9,} {f['alpha']:>7.3f} {f['beta']:>7.3f} "
          f"{f['r2']:>5.2f} {d_star:>6.2f} {d_star**2:>6.1f} {r_star:>6.2f}")

# %% [markdown]
# ## Figure 3: the coefficients against RM size
#
# The paper plots each coefficient against RM parameters on a log axis and finds nearly
# straight lines. `analysis.scaling` fits coef ≈ slope · log10(params) + intercept
# on the most data; `fit.PAPER_COEFFICIENTS` holds the values read off the paper's Figure 3
# at its smallest (3M) and largest (3B) RMs.
#
# Compare **trends**, not values. Our gold is in standard deviations of the initial policy's
# gold score and our KL lives in a 16-token world, so the absolute α and β have different
# units from the paper's. What should carry over is the sign of each slope: α_bon up,
# β_bon and β_RL down. (With only two sizes, as in the `test` preset, a "line" through two
# points always has R² = 1: the slope is the whole story, and a noisy one.)

# %%
scaling = {name: s.line for name, s in analysis.scaling(all_fits).items()}
paper = fit.PAPER_COEFFICIENTS
print("slope per decade of RM params: ours (paper, 3M -> 3B)")
for name, line in scaling.items():
    ref = (f"{(paper[3e9][name] - paper[3e6][name]) / 3:+.3f}" if name in paper[3e6]
           else "about 0")
    print(f"  {name:>9}: {line.slope:+.3f} (R2 {line.r2:.2f})   paper {ref}")

fig, axes = plt.subplots(1, 4, figsize=(15, 3.6))
for ax, name in zip(axes, ["alpha_bon", "beta_bon", "alpha_rl", "beta_rl"], strict=True):
    coef, method = name.split("_")
    rows = sorted((r for r in fits if r["method"] == method), key=lambda r: r["rm_params"])
    params = np.array([r["rm_params"] for r in rows])
    ax.plot(params, [r[coef] for r in rows], "o", color="C0", label="minirmo")
    if name in scaling:
        ax.plot(params, scaling[name].predict(params), "--", color="C0",
                label=f"{scaling[name].slope:+.3f} per decade")
    if name in paper[3e6]:
        ax.plot(list(paper), [paper[p][name] for p in paper], "s-", color="C3",
                label="paper (Fig. 3)")
    ax.set_xscale("log")
    ax.set_xlabel("RM parameters")
    ax.set_title(name)
    ax.legend(fontsize=7)
fig.tight_layout()
fig.savefig(OUT / "03_coefficients_vs_size.png", dpi=120)
plt.close(fig)
plots.plot_coefficients(all_fits, analysis.scaling(all_fits), OUT / "03_fig3_coefficients.png")
print(f"figures in {OUT}/; ran in {time.time() - T0:.1f} s")

# %% [markdown]
# ## Why size helps
#
# Every proxy here saw the same comparisons, all of initial-policy samples, and all of them
# agree with the gold RM on most held-out pairs. Where they differ is *off* that
# distribution: in the thin tail that optimization drives the policy into (three praise
# words, repeated praise words). A bigger network, trained on the same labels, tends to
# learn features that extrapolate further (here: that a praise word counts less once
# there are two), so its errors start further out. The optimizer has to travel further,
# in KL, before it finds them: a later, higher peak, which is a smaller β.
#
# Honest caveats about a toy of this size, all visible on the `test` preset:
#
# * **A curve that never turns down pins β poorly.** If a big proxy's best-of-n gold is
#   still rising at n = N, the fit sees only the rising part: β comes from a little
#   curvature, α absorbs the rest, and the fitted α can come out *smaller* than the small
#   proxy's even though its gold is higher everywhere. That is how a negative α_bon slope
#   appears next to the paper's positive one; the peak itself (later and higher for the
#   bigger proxy) is the more robust reading. A larger pool, the paper preset's N = 16,384,
#   pushes the peak inside.
# * **RL curves are noisy.** Each RL point is the mean over one batch of rollouts, and
#   against a bigger proxy PPO may gain little gold at all while the proxy climbs; then
#   d(α − β log d) fits a nearly flat, noisy curve and R² is near 0. Read R² before reading
#   α_RL and β_RL.
# * **One seed.** A slope from two or three sizes can come out with either sign by chance.
#   Exercise 1 asks you to measure that noise instead of guessing it.

# %% [markdown]
# ## Exercises
#
# These build on the course's Tasks 2.2 (best-of-n), 3.1–3.5 (forms, peaks, fits and the
# scaling line) and 5.1–5.3 (PPO); `docs/teaching.md` lists every task.
#
# 1. **Seeds (Tasks 3.4, 3.5).** `studies.seed_runs(get_preset("test"), RUN_DIR, seeds=[0, 1,
#    2])` gives three runs sharing one folder; repeat the fits on their rows. How much do α_bon
#    and β_bon move between seeds, compared with how much they move between sizes? Is the sign
#    of the β_bon slope reliable?
# 2. **Predict the peak (Tasks 1.1, 3.2, 3.4).** Fit the best-of-n form to each size on n ≤ N/16
#    only (`analysis.extrapolation_rows` does this) and compare the predicted peak n* (invert
#    d*² = log n − (n − 1)/n) with the observed one. Which sizes extrapolate worst, and why?
# 3. **Where does α_RL go? (Tasks 3.3, 3.4)** The paper finds α_RL roughly constant in RM size.
#    Look at your α_RL values: do they stay put? Plot gold against d for RL on a log-d axis,
#    where d(α − β log d)/d is a straight line, and judge whether the form fits at all.
