# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Tutorial 1: Goodhart's law, in one page of numbers
#
# > "When a measure becomes a target, it ceases to be a good measure." (Goodhart's law)
#
# **A story first.** A company wants happy customers, so it starts tracking a *customer
# satisfaction score*. At first the score is a good measure: teams that treat customers well
# get high scores. Then the score becomes a *target*: bonuses depend on it. Now staff quietly
# ask customers for five-star ratings, and steer clear of difficult customers whose ratings
# might be low. The score goes up. The customers' actual experience goes down.
#
# RLHF has the same shape. We cannot ask a human about every sample, so we train a
# **reward model** (RM) on human comparisons and optimize the policy against it. The RM is
# a measure of what humans want. Optimizing it turns it into a target. Push hard enough and
# the policy learns what the RM *rewards* rather than what humans *want*: "reward hacking".
#
# Gao, Schulman & Hilton (2022) measured this carefully. They call the RM being optimized the
# **proxy** and a fixed, larger RM that stands in for humans the **gold** RM. As optimization
# grows, the proxy score keeps rising while the gold score rises, peaks, and falls.
#
# In this tutorial we build that picture from scratch with nothing but Gaussian random
# numbers. The point: not every kind of proxy error makes the gold score fall. *Which*
# kind does, and why a learned reward model has exactly that kind.
#
# *As a notebook:* open `tutorials/01_goodhart.ipynb` (written by `minirmo handout`, or by
# `jupytext --to ipynb tutorials/01_goodhart.py`) in Jupyter, or upload it to Colab after `pip
# install -e .` of the project there. *Time on a laptop CPU (2 cores):* about 6 seconds (fewer
# samples in fast mode, `MINIRMO_FAST=1`). No model is trained here, so there is no GPU to ask
# for (`MINIRMO_DEVICE` is read by the tutorials that train models).

# %%
import os
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from minirmo.bon import bon_estimate
from minirmo.fit import bon_form, bon_peak, fit_bon
from minirmo.kl import bon_kl

FAST = os.environ.get("MINIRMO_FAST") == "1"  # small samples: runs in a few seconds
OUT = Path(os.environ.get("MINIRMO_OUT", "tutorial_out"))
OUT.mkdir(parents=True, exist_ok=True)
T0 = time.time()

# %% [markdown]
# ## The optimizer: best-of-n
#
# The simplest way to optimize against a reward model needs no training at all. For each
# prompt, sample n responses from the initial policy and keep the one the **proxy** scores
# highest. This is **best-of-n** (BoN). n = 1 is no optimization; larger n optimizes harder.
#
# How hard is "harder"? The paper measures how far the optimized policy has moved from the
# initial one by the KL divergence KL(π_n ‖ π). For best-of-n it has a closed form,
#
#     KL_bon(n) = log n − (n − 1)/n,
#
# (Tutorial 2 derives it), and the paper plots everything against **d = sqrt(KL)**.
#
# Our toy "world": each sample has a true quality x ~ N(0, 1). Many prompts, each with a
# pool of N samples. `bon_estimate` takes the proxy and gold scores of the pools, shape
# (prompts, N), and returns the expected proxy and gold score of best-of-n for every n we
# ask for, from that one pool (Tutorial 2 explains how).

# %%
PROMPTS, N = (200, 1_000) if FAST else (1_000, 10_000)
rng = np.random.default_rng(0)
x = rng.standard_normal((PROMPTS, N))  # true quality of each sample

ns = np.unique(np.round(np.logspace(0, np.log10(N), 40)).astype(int))  # n = 1 .. N
d = np.sqrt(bon_kl(ns))  # the x axis of every plot: sqrt(KL)
print(f"{PROMPTS} prompts x {N} samples; n from 1 to {ns[-1]}, d from 0 to {d[-1]:.2f}")

# %% [markdown]
# ## (a) Regressional Goodhart: the proxy is noisy
#
# The most obvious flaw a proxy can have is noise: proxy = gold + independent noise. When we
# pick the sample with the highest proxy, part of what we select for is lucky noise, so the
# winner's gold score is lower than its proxy score. This gap is *regressional Goodhart*
# (regression to the mean).
#
# But the noise is independent of x, so a higher proxy still means a higher x *on average*.
# Selecting harder should then still help the gold score, just less than it helps the proxy.
# Let us check: gold = x, proxy = x + N(0, 1) noise.

# %%
gold_a = x
proxy_a = x + rng.standard_normal((PROMPTS, N))
proxy_bon_a, gold_bon_a = bon_estimate(proxy_a, gold_a, ns.tolist())
proxy_bon_a, gold_bon_a = proxy_bon_a.numpy(), gold_bon_a.numpy()

rises = np.all(np.diff(gold_bon_a) > 0)
print(f"regressional: gold at n=1 {gold_bon_a[0]:+.3f}, at n={ns[-1]} {gold_bon_a[-1]:+.3f}; "
      f"rises at every step: {rises}")
print(f"proxy at n={ns[-1]}: {proxy_bon_a[-1]:+.3f} (gold / proxy = "
      f"{gold_bon_a[-1] / proxy_bon_a[-1]:.2f})")

# %% [markdown]
# With equal signal and noise variance, E[x | proxy] = proxy / 2, so gold should come out at
# about half the proxy, and it keeps rising with n. No peak.
#
# ## (b) Extremal Goodhart: the proxy is wrong in a thin tail
#
# Now a different flaw. The proxy is *exactly right in the bulk* of the distribution, but
# wrong in a tail that the data rarely visit. Say the true utility rises with x up to
# x = 1.5 and *falls* beyond it (think: one or two compliments make a review warmer, a
# dozen make it spam). Only about 7% of samples have x > 1.5, so a proxy fitted to typical
# samples never learned the turn and keeps rising:
#
#     gold  u(x) = x − 2·max(x − 1.5, 0)     (slope +1 below 1.5, slope −1 above)
#     proxy       = x

# %%
KINK = 1.5


def utility(x):
    """True utility: rises with x up to KINK, then falls just as fast."""
    return x - 2 * np.clip(x - KINK, 0, None)


gold_b, proxy_b = utility(x), x
print(f"share of samples in the tail x > {KINK}: {np.mean(x > KINK):.1%}")

# %% [markdown]
# A picture of the two scores, with the histogram of x behind them: they agree wherever the
# samples are, and disagree only where there are hardly any.

# %%
grid = np.linspace(-3.5, 4, 200)
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.hist(x.ravel()[:100_000], bins=80, density=True, color="0.85", label="samples of x")
ax2 = ax.twinx()
ax2.plot(grid, utility(grid), color="C3", lw=2, label="gold u(x)")
ax2.plot(grid, grid, "--", color="C0", label="proxy = x")
ax.set_xlabel("true quality x")
ax.set_ylabel("density")
ax2.set_ylabel("score")
ax2.legend(loc="upper left")
ax.set_title("Extremal Goodhart: right in the bulk, wrong in the tail")
fig.tight_layout()
fig.savefig(OUT / "01_extremal_setup.png", dpi=120)
plt.close(fig)

# %% [markdown]
# Now optimize the proxy with best-of-n and watch both scores. As in the paper, we look at
# the *gain* R = gold score minus the initial policy's (n = 1).

# %%
proxy_bon_b, gold_bon_b = bon_estimate(proxy_b, gold_b, ns.tolist())
proxy_bon_b, gold_bon_b = proxy_bon_b.numpy(), gold_bon_b.numpy()
R_b = gold_bon_b - gold_bon_b[0]  # gold gain over the initial policy

peak = int(np.argmax(R_b))
print(f"extremal: proxy rises at every step: {np.all(np.diff(proxy_bon_b) > 0)} "
      f"(n={ns[-1]}: {proxy_bon_b[-1]:+.3f}); "
      f"gold gain peaks at n={ns[peak]} (d={d[peak]:.2f}, R={R_b[peak]:+.3f}) "
      f"and ends at R={R_b[-1]:+.3f}")

# %% [markdown]
# ## Fitting the paper's functional form
#
# The paper found that, for best-of-n, the gold gain follows
#
#     R_bon(d) = d (α − β d),
#
# a parabola in d with its peak at d* = α / (2β), R* = α² / (4β). It is linear in (α, β), so
# `fit_bon` is plain least squares. Let us fit it to both curves. In the regressional case
# the fit should find β ≈ 0 (or even β < 0): no turn-down, no peak.

# %%
fit_a = fit_bon(d, gold_bon_a - gold_bon_a[0])
fit_b = fit_bon(d, R_b)
print(f"regressional fit: alpha={fit_a.alpha:.3f}  beta={fit_a.beta:+.3f}  R2={fit_a.r2:.3f}")
print(f"extremal fit:     alpha={fit_b.alpha:.3f}  beta={fit_b.beta:+.3f}  R2={fit_b.r2:.3f}")

# %% [markdown]
# The fitted peak is in units of d. To compare it with the n we observed, invert
# d² = log n − (n − 1)/n numerically: `bon_kl` is increasing, so a sorted search works.

# %%
d_star, r_star = bon_peak(fit_b.alpha, fit_b.beta)
n_grid = np.arange(1, 100 * N + 1)
n_star = n_grid[np.searchsorted(bon_kl(n_grid), d_star**2)]
print(f"fitted peak:   d*={d_star:.2f}  R*={r_star:+.3f}  (n* ~ {n_star})")
print(f"observed peak: d ={d[peak]:.2f}  R ={R_b[peak]:+.3f}  (n  = {ns[peak]})")

# %% [markdown]
# The two cases side by side, against d = sqrt(KL), as in the paper's Figure 1. Solid:
# gold gain; dashed: proxy gain; dotted: the fitted form.

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
cases = [("(a) regressional: proxy = gold + noise", proxy_bon_a, gold_bon_a, fit_a),
         ("(b) extremal: proxy wrong in the tail", proxy_bon_b, gold_bon_b, fit_b)]
for ax, (title, p, g, fit) in zip(axes, cases, strict=True):
    ax.plot(d, p - p[0], "--", color="C0", label="proxy")
    ax.plot(d, g - g[0], "o-", ms=3, color="C3", label="gold")
    ax.plot(d, bon_form(d, fit.alpha, fit.beta), ":", color="k",
            label=f"fit d(α − βd): α={fit.alpha:.2f}, β={fit.beta:.2f}")
    ax.set_title(title)
    ax.set_xlabel("d = sqrt(KL)")
    ax.axhline(0, color="0.7", lw=0.8)
    ax.legend(fontsize=8)
axes[0].set_ylabel("score gain over n = 1")
fig.tight_layout()
fig.savefig(OUT / "01_goodhart_bon.png", dpi=120)
plt.close(fig)
print(f"figures in {OUT}/; ran in {time.time() - T0:.1f} s")

# %% [markdown]
# ## (c) Catastrophic Goodhart: the noise has heavy tails
#
# Case (a) had *light-tailed* noise, and selecting harder always helped. Kwa et al. (2024)
# ask what happens when the proxy's error is *heavy-tailed*: most errors are small, but a
# few are huge. Take Student-t noise with 3 degrees of freedom: its bulk looks like a
# Gaussian's, but P(error > t) falls like t⁻³ instead of like exp(−t²/2).
#
# Now think about the winner of a large pool. To have the highest proxy it needs a large
# x *or* a large error, and a large error is far cheaper to find: the tail of the error
# outruns the tail of x. Selecting harder buys error, not quality. The proxy can climb as
# high as we like while the gold gain of the winner falls back towards zero.

# %%
proxy_c = x + rng.standard_t(3, size=(PROMPTS, N))
proxy_bon_c, gold_bon_c = (v.numpy() for v in bon_estimate(proxy_c, x, ns.tolist()))
peak_c = int(np.argmax(gold_bon_c))
print(f"heavy-tailed: gold peaks at n={ns[peak_c]} ({gold_bon_c[peak_c]:+.3f}) and falls to "
      f"{gold_bon_c[-1]:+.3f} at n={ns[-1]}, while the proxy climbs to {proxy_bon_c[-1]:+.1f}")

fig, ax = plt.subplots(figsize=(5.5, 3.8))
for label, p, g, colour in (("(a) Gaussian noise", proxy_bon_a, gold_bon_a, "C0"),
                            ("(c) Student-t(3) noise", proxy_bon_c, gold_bon_c, "C3")):
    ax.plot(d, g - g[0], "o-", ms=3, color=colour, label=f"{label}: gold")
    ax.plot(d, p - p[0], "--", color=colour, lw=1, label=f"{label}: proxy")
ax.set_ylim(-0.5, 4)
ax.set_xlabel("d = sqrt(KL)")
ax.set_ylabel("score gain over n = 1")
ax.legend(fontsize=7)
fig.tight_layout()
fig.savefig(OUT / "01_heavy_tails.png", dpi=120)
plt.close(fig)

# %% [markdown]
# Same signal, same noise in the bulk, opposite fates: with Gaussian noise the gold gain keeps
# rising; with heavy-tailed noise it peaks after a few dozen samples and decays while the
# proxy (clipped in the figure) runs off. Kwa et al. show this is the general rule, and that
# a KL penalty cannot rule it out: heavy-tailed errors can be bought at almost no KL.
# `tests/test_bon.py` pins it at every seed Hypothesis tries.

# %% [markdown]
# ## Why the paper's proxies peak
#
# Noise alone (case a) costs you some of the gain but never turns it negative: the gold score
# under best-of-n keeps rising. A *peak* needs case (b): errors that grow exactly where the
# optimizer is looking. And that is precisely what a learned reward model supplies.
#
# * A reward model is fitted on samples of the initial policy. It is accurate where those
#   samples are dense and is an extrapolation everywhere else.
# * An optimizer, best-of-n with a large n or RL, goes looking for the highest proxy score.
#   Those outputs are, by construction, *unusual*: they live in the thin tail of the
#   initial distribution, the one region where the RM had the least evidence.
# * So the harder we optimize, the more we sample from the region where the proxy is least
#   trustworthy. The proxy keeps rising; the gold score peaks and falls.
#
# This also explains the paper's scaling results. A bigger RM, or one trained on more
# comparisons, extrapolates better into the tails: its gold curve peaks later (larger d*)
# and higher (larger R*), i.e. a smaller β. minirmo's toy world (`minirmo/world.py`) is built
# on the same idea: two distinct praise words are good, a third is gushing, and three praise
# words are rare in the policy's samples, so a proxy learns "more praise is better".

# %% [markdown]
# ## Exercises
#
# These build on the course's Tasks 2.1–2.2 (the best-of-n weights and estimator) and 3.1–3.4
# (the forms, their peaks, R² and the fits); `docs/teaching.md` lists every task.
#
# 1. **Implement the estimator (Tasks 2.1, 2.2).** In a handout (`minirmo handout DIR`), write
#    `bon._bon_weight_matrix` (the weights C(i − 1, n − 1)/C(N, n), computed in log space so N =
#    10⁵ works) and `bon_estimate`, until `pytest -m "task_2_1 or task_2_2"` passes.
# 2. **Move the kink (Tasks 3.2, 3.4).** Re-run case (b) with the kink at 1.0, 2.0 and 2.5. How
#    do the fitted α, β and the peak n* change? Predict first: a proxy that is right over more
#    of the distribution should be harder to overoptimize.
# 3. **Both at once (Tasks 2.2, 3.4).** Make the proxy `x + σ·noise` *and* wrong in the tail.
#    How does the noise level σ move the peak? Does the extrapolation test hold: fit on n ≤ 100
#    only and predict the gold gain at n = N?
