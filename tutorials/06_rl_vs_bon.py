# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Tutorial 6: RL against best-of-n, two observations
#
# Best-of-n and RL both optimize a proxy reward model, and both overoptimize it. The paper
# compares them in two ways and gets two different answers:
#
# 1. **Measured by KL, they are far apart.** RL is much less *KL-efficient*: it "spends"
#    far more KL than best-of-n for the same gold gain, and reaches its peak, and its
#    overoptimization, only at much larger KL. Best-of-n only *re-weights* the initial
#    policy's own samples, a local search: its KL grows like log n. RL changes the policy
#    step after step, each step starting from the last; without a KL penalty the paper
#    found its KL growing roughly quadratically in the number of steps. So KL alone is a
#    poor measure of "how much optimization" happened.
# 2. **Measured by the proxy score, they look alike.** The proxy score is what both methods
#    directly push up. Plot gold against proxy instead of against KL and the two curves
#    nearly coincide; the paper saw RL start with a larger proxy–gold gap (it needs more
#    proxy increase to match best-of-n's gold) but then peak at a higher gold score.
#
# The practical reading from the original notes: best-of-n when you want cheap, low-KL
# optimization; RL when you want the highest ceiling and can pay the KL for it.
#
# This tutorial checks both on trained models, then reads what RL actually writes as it
# overoptimizes: reward hacking you can read.
#
# *As a notebook:* open `tutorials/06_rl_vs_bon.ipynb` (written by `minirmo handout`, or by
# `jupytext --to ipynb tutorials/06_rl_vs_bon.py`) in Jupyter, or upload it to Colab after `pip
# install -e .` of the project there. *Time on a laptop CPU (2 cores):* 19 s after Tutorials 3
# to 5 in the same run folder (measured 2026-11-25, before the `tiny` preset moved to
# 1,000/4,000 comparisons: their PPO runs are cached); from an empty folder add theirs.

# %%
import os
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch

from minirmo import analysis, fit, plots
from minirmo.kl import bon_kl
from minirmo.runs import studies
from minirmo.runs.presets import get_preset
from minirmo.runs.run import Run
from minirmo.world import PRAISE_WORDS

FAST = os.environ.get("MINIRMO_FAST") == "1"  # the `test` preset: seconds with a warm cache
OUT = Path(os.environ.get("MINIRMO_OUT", "tutorial_out"))
OUT.mkdir(parents=True, exist_ok=True)
T0 = time.time()

# %% [markdown]
# ## The run
#
# Same run folder as Tutorials 3–5 (`MINIRMO_RUN_DIR`; `MINIRMO_PRESET` and
# `MINIRMO_DEVICE=cuda`, for a GPU, as there). Best-of-n over the whole grid, then
# PPO without a KL penalty against every proxy size on the most data; we compare the two
# on the proxies trained on the most data.

# %%
PRESET = "test" if FAST else os.environ.get("MINIRMO_PRESET", "tiny")  # "paper": 50 min (3 seeds)
RUN_DIR = Path(os.environ.get("MINIRMO_RUN_DIR", f"runs/{PRESET}"))
DEVICE = os.environ.get("MINIRMO_DEVICE", "cpu")  # "cuda" on a GPU
run = Run(get_preset(PRESET), RUN_DIR, DEVICE, progress=not FAST)
MOST = run.preset.proxy_data[-1]
bon_rows = [r for r in studies.bon_rows([run]) if r["rm_data"] == MOST]
rl_rows = studies.rl_rows([run])
bon_curves = {p: c for (p, _), c in analysis.group(bon_rows, "rm_params", "rm_data").items()}
rl_curves = {p: c for (p, _), c in analysis.group(rl_rows, "rm_params", "rm_data").items()}
SIZES = sorted(bon_curves)
N = bon_rows[-1]["n"]


def smooth(values, width=3):
    """Trailing moving average: each RL step's scores are means over one noisy batch."""
    values = np.asarray(values, dtype=float)
    return np.array([values[max(0, i - width + 1) : i + 1].mean() for i in range(len(values))])


# %% [markdown]
# ## 1. KL as a resource: log n against a power of the step
#
# Best-of-n's KL needs no measurement: log n − (n − 1)/n (Tutorial 2), so each doubling of
# n costs the same ~0.69 nats. RL's KL is sampled from each step's rollout;
# `fit.fit_power` fits KL ≈ c · step^k on a log-log scale, and the paper's "roughly
# quadratic" is k ≈ 2.

# %%
ns = np.array([r["n"] for r in bon_curves[SIZES[0]]])
big = ns >= 16
slope, _ = np.polyfit(np.log(ns[big]), bon_kl(ns[big]), 1)
print(f"best-of-n: KL at n = {N:,} is {bon_kl(N):.2f} nats; d KL / d log n = {slope:.3f} "
      f"for n >= 16 (-> 1 as n grows)")
for params in SIZES:
    curve = rl_curves[params]
    steps, kl = [r["step"] for r in curve], [r["kl"] for r in curve]
    c, k = fit.fit_power(steps, kl)
    n_equiv = np.exp(kl[-1] + 1)  # KL_bon(n) ~ log n - 1 for large n
    print(f"RL, {params:>7,}-param proxy: KL ~ {c:.3f} * step^{k:.2f}; {kl[-1]:.1f} nats after "
          f"{steps[-1]} steps, what best-of-n would spend at n ~ {n_equiv:.1e}")

# %% [markdown]
# The last column is the point: the KL that a few dozen PPO steps spend would take
# best-of-n an astronomical n to reach. The growth exponent k, measured on a short run
# against a small RM, depends on the learning rate and on when the proxy saturates (RL
# slows down once there is nothing left to exploit), so do not expect exactly 2.
#
# ## 2. Gold against KL: where each method peaks
#
# Both methods against the same proxy, on one d = sqrt(KL) axis. For RL we smooth the
# per-step scores over three steps before reading the peak.

# %%
def first_kl(curve, gold, target):
    """The KL of the first optimized point (KL > 0) whose gold reaches `target`, or NaN."""
    hit = [i for i, g in enumerate(gold) if curve[i]["kl"] > 0 and g >= target]
    return curve[hit[0]]["kl"] if hit else float("nan")


print(f"{'params':>9} | {'BoN peak KL':>11} {'gold*':>6} | {'RL peak KL':>10} {'gold*':>6} | "
      f"{'same gold':>9} {'BoN KL':>6} {'RL KL':>6}")
peaks = {}
for params in SIZES:
    b, r = bon_curves[params], rl_curves[params]
    b_gold, rl_gold = [x["gold"] for x in b], smooth([x["gold"] for x in r])
    bi, ri = int(np.argmax(b_gold)), int(np.argmax(rl_gold))
    peaks[params] = (b[bi]["kl"], b_gold[bi], r[ri]["kl"], rl_gold[ri])
    at_n = ">=" if bi == len(b) - 1 else "  "  # best-of-n still rising at n = N: no peak yet
    target = 0.5 * min(b_gold[bi], rl_gold[ri])  # a gold gain both methods reach
    kl_b, kl_r = first_kl(b, b_gold, target), first_kl(r, rl_gold, target)
    print(f"{params:>9,} | {at_n}{b[bi]['kl']:>9.2f} {b_gold[bi]:>6.2f} | {r[ri]['kl']:>10.1f} "
          f"{rl_gold[ri]:>6.2f} | {target:>+9.2f} {kl_b:>6.2f} {kl_r:>6.2f}")

# %% [markdown]
# The last three columns compare the methods at *equal gold*: half the lower of the two
# peaks, and the KL each method spent to first reach it (step 0 and n = 1 excluded: a
# noisy first batch can "reach" a small target without any optimization). ">=" marks a
# best-of-n curve still rising at n = N: its true peak lies beyond the pool. The paper's
# claim is about these columns: for the same gold, RL pays many times the KL.

# %%
fig, axes = plt.subplots(1, len(SIZES), figsize=(5 * len(SIZES), 4), squeeze=False,
                         sharey=True)
for ax, params in zip(axes[0], SIZES, strict=True):
    b, r = bon_curves[params], rl_curves[params]
    ax.plot(np.sqrt([x["kl"] for x in b]), [x["gold"] for x in b], "-o", ms=3, color="C0",
            label="BoN gold")
    ax.plot(np.sqrt([x["kl"] for x in b]), [x["proxy"] for x in b], "--", color="C0",
            label="BoN proxy")
    d_rl = np.sqrt(np.clip([x["kl"] for x in r], 0, None))
    ax.plot(d_rl, smooth([x["gold"] for x in r]), "-s", ms=3, color="C3", label="RL gold")
    ax.plot(d_rl, smooth([x["proxy"] for x in r]), "--", color="C3", label="RL proxy")
    ax.axhline(0, color="grey", lw=0.5)
    plots.kl_axis(ax)
    ax.set_title(f"proxy of {params:,} params, {MOST:,} comparisons", fontsize=10)
axes[0][0].set_ylabel("score (relative to initial policy)")
axes[0][0].legend(fontsize=8)
fig.tight_layout()
fig.savefig(OUT / "06_gold_vs_kl_bon_and_rl.png", dpi=120)
plt.close(fig)
plots.plot_kl_growth(bon_rows, rl_rows, analysis.per_seed(rl_rows, analysis.kl_exponent),
                    OUT / "06_kl_growth.png")

# %% [markdown]
# ## 3. Gold against proxy: the two methods line up
#
# Now the same data with the proxy score on the x axis. To compare at *equal proxy score*
# we interpolate best-of-n's gold (its proxy rises with n, so proxy → gold is a function)
# at each RL step's proxy score, where that score lies inside best-of-n's range, and look
# at RL's gold minus best-of-n's there: negative means a larger proxy–gold gap for RL.

# %%
plots.plot_gold_vs_proxy(bon_rows, rl_rows, OUT / "06_gold_vs_proxy.png")
for params in SIZES:
    b, r = bon_curves[params], rl_curves[params]
    b_proxy, b_gold = [x["proxy"] for x in b], [x["gold"] for x in b]
    r_proxy, r_gold = smooth([x["proxy"] for x in r]), smooth([x["gold"] for x in r])
    inside = (r_proxy > 0) & (r_proxy <= max(b_proxy))
    gap = r_gold[inside] - np.interp(r_proxy[inside], b_proxy, b_gold)
    half = len(gap) // 2
    early = f"{gap[:max(half, 1)].mean():+.2f}" if len(gap) else "n/a"
    late = f"{gap[half:].mean():+.2f}" if len(gap) > 1 else "n/a"
    print(f"{params:>9,} params: {int(inside.sum())} RL steps within BoN's proxy range "
          f"(up to {max(b_proxy):.2f}); RL gold - BoN gold at equal proxy: first half "
          f"{early}, second half {late}; peak gold BoN {peaks[params][1]:+.2f}, "
          f"RL {peaks[params][3]:+.2f}; RL proxy reaches {r_proxy.max():.2f}")

# %% [markdown]
# Against KL the two methods live on scales an order of magnitude apart; against the proxy
# score their curves are at least comparable, which is the paper's point: the proxy score
# is a better common measure of "how much optimization" than the KL.
#
# The finer claim, RL starting with a larger proxy–gold gap but then peaking *higher*, is
# one to check rather than expect. On the `test` preset (fast mode) RL sits *below*
# best-of-n at equal proxy all the way and peaks lower: with 128 rollouts a step, 24
# steps and a tiny policy, PPO finds the proxy's blind spots (praise, length) faster than
# it finds real quality. The paper's policies were 1.2B-parameter models trained far
# longer; a bigger policy and a gentler learning rate (Exercise 2) are where to look for
# the other regime.
#
# ## 4. Reading the reward hacking
#
# Numbers say gold fell; samples say *how*. PPO keeps a few decoded samples every
# `sample_every` steps. We re-encode them and score each one three ways: the proxy being
# optimized, the gold RM, and the hidden "human" utility the gold RM was trained to imitate
# (`world.utility`), and count praise words, the feature the proxy over-rewards.

# %%
size, tok, world = run.preset.proxy_sizes[0], run.world.tokenizer, run.world
proxy_rm, gold_rm = run.proxy(size, MOST).model, run.gold().model
records = run.rl(size, MOST)  # cached: the same PPO run as above
PRAISE = set(PRAISE_WORDS)


def encode(texts):
    """Decoded samples back to padded token ids (batch, prompt_len + max_len), on the run's
    device (where the reward models are)."""
    ids = torch.full((len(texts), world.prompt_len + world.max_len), tok.pad_id)
    for i, text in enumerate(texts):
        row = tok.encode(text)
        ids[i, : len(row)] = torch.tensor(row)
    return ids.to(world.device)


print(f"PPO against the {proxy_rm.n_params:,}-param proxy ({MOST:,} comparisons):")
for record in (r for r in records if "samples" in r):
    ids = encode(record["samples"])
    proxy, gold, utility = proxy_rm.score(ids), gold_rm.score(ids), world.utility(ids)
    print(f"step {record['step']} (KL {record['kl']:.1f}, batch mean proxy {record['proxy']:+.2f}"
          f", gold {record['gold']:+.2f}, length {record['length']:.1f}):")
    for text, p, g, u in zip(record["samples"], proxy, gold, utility, strict=True):
        praise = sum(w in PRAISE for w in text.split())
        print(f"  proxy {p:+.2f} gold {g:+.2f} utility {u:+.1f} praise {praise} | {text}")
print(f"figures in {OUT}/; ran in {time.time() - T0:.1f} s")

# %% [markdown]
# Follow one column at a time. The proxy score rises from step to step. The praise count
# rises with it: the proxy learned from initial-policy samples, where more praise usually
# meant a better review, and never saw enough three-praise reviews to learn that the
# utility punishes gushing (−1.5 per praise word past the second) and repeats (−1 more
# each). The utility column says what a "human" would think of the result. This is
# Goodhart's customer-satisfaction story from Tutorial 1, written out in words.

# %% [markdown]
# ## Exercises
#
# These build on the course's Tasks 5.1–5.6 (GAE, the clipped losses, the KL penalty and its
# controller, the update diagnostics), 1.4 (the sampled KL on the x-axis) and 3.5 (the power
# law of KL against steps); `docs/teaching.md` lists every task.
#
# 1. **KL penalty (Tasks 5.4, 5.5).** Run `studies.rl_rows([run], kl_coef=c)` for c = 0.02 and
#    0.1. The paper found that a penalty acts like early stopping: gold against KL follows the
#    same frontier, the run just stops earlier on it. Check it on the gold-vs-d plot.
# 2. **A gentler RL (Tasks 5.2, 3.5).** Make a preset with `dataclasses.replace(preset,
#    ppo=replace(preset.ppo, lr=3e-5, steps=60))` and rerun the comparison at equal proxy
#    score. Does RL's gold at equal proxy move toward best-of-n's, and does its peak rise? What
#    does it cost in KL?
# 3. **Catch the hack early (Task 5.6).** Using the per-step records (`run.rl(...)`: `length`,
#    `entropy`, `truncated`, `proxy`), design a stopping rule that does not look at the gold
#    score and still stops within a few steps of the gold peak. How well does it transfer to the
#    other proxy sizes?
