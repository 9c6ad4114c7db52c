# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Tutorial 2: the setup, and where log n − (n − 1)/n comes from
#
# Gao, Schulman & Hilton (2022) measure reward-model overoptimization with three
# ingredients:
#
# 1. a **gold** reward model that plays the role of humans, and **proxy** reward models
#    trained on the gold RM's labels;
# 2. a measure of *how much* we optimized: the KL divergence from the initial policy, plotted
#    as d = sqrt(KL);
# 3. for best-of-n, a closed form for that KL, KL_bon(n) = log n − (n − 1)/n, and an
#    unbiased estimator that gets every n from a single pool of samples.
#
# This tutorial goes through each one and checks every formula numerically.
#
# *As a notebook:* open `tutorials/02_setup_and_bon_kl.ipynb` (written by `minirmo handout`, or
# by `jupytext --to ipynb tutorials/02_setup_and_bon_kl.py`) in Jupyter, or upload it to Colab
# after `pip install -e .` of the project there. *Time on a laptop CPU (2 cores):* about 8
# seconds (fewer samples in fast mode, `MINIRMO_FAST=1`). No model is trained here, so there is no
# GPU to ask for (`MINIRMO_DEVICE` is read by the tutorials that train models).

# %%
import itertools
import os
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch

from minirmo.bon import bon_estimate, bon_weights, distinct_pool_kl, pool_bon_kl
from minirmo.kl import bon_kl, bon_kl_beirami, bon_kl_exact
from minirmo.world import World

FAST = os.environ.get("MINIRMO_FAST") == "1"  # small samples: runs in a few seconds
OUT = Path(os.environ.get("MINIRMO_OUT", "tutorial_out"))
OUT.mkdir(parents=True, exist_ok=True)
T0 = time.time()
gen = torch.Generator().manual_seed(0)
rng = np.random.default_rng(0)

# %% [markdown]
# ## 1. Gold and proxy
#
# In the paper, real human labels would be too expensive for thousands of experiments. So a
# large, fixed **gold RM** stands in for the humans: its score *is* the truth. Samples of the
# initial (SFT) policy are paired, the gold RM labels each pair (the higher gold score wins),
# and smaller **proxy RMs** are trained on those labels. We then optimize the policy
# against a proxy and watch both scores.
#
# minirmo adds one more layer underneath, so that even the gold RM can be checked:
#
#     hidden "human" utility  --labels-->  gold RM  --labels-->  proxy RMs
#
# The world (`minirmo/world.py`) writes short product reviews. A hidden *teacher* language
# produces the SFT corpus, and a hidden utility scores each review: specifics about the
# topic and one or two distinct praise words are good; complaints, unfinished responses,
# gushing (a third praise word) and spam (a repeated praise word) are bad. Here are a few
# teacher samples with their hidden utility.

# %%
world = World()
tok = world.tokenizer
samples = world.corpus(6, generator=gen)  # (6, 3 + max_len): prompt + response token ids
for seq, u in zip(samples, world.utility(samples), strict=True):
    print(f"utility {u:+.2f} | {tok.decode(seq)}")

# %% [markdown]
# Why does this world invite overoptimization? Praise usually helps, so a proxy trained on
# teacher samples learns "more praise is better". But the utility turns down after two praise
# words, and the teacher rarely writes three. Let us count.

# %%
corpus = world.corpus(500 if FAST else 5_000, generator=gen)
n_praise = torch.isin(corpus[:, world.prompt_len:], world.praise_ids).sum(1)  # (size,)
utility = world.utility(corpus)
for k in range(4):
    sel = n_praise == k if k < 3 else n_praise >= 3
    label = f"{k} " if k < 3 else ">=3"
    mean_u = f"{utility[sel].mean():+.2f}" if sel.any() else "  n/a"
    print(f"{label} praise words: {sel.float().mean():6.1%} of samples, mean utility {mean_u}")

# %% [markdown]
# The tail where the utility reverses is thin, which is exactly where a learned proxy is
# least reliable (Tutorial 1 shows why that makes the gold score peak).
#
# ## 2. Measuring optimization with KL, and why d = sqrt(KL)
#
# Best-of-n and RL optimize in very different ways (a number of samples vs. a number of
# gradient steps). To put them on one axis the paper asks: how far has the optimized policy
# π moved from the initial policy π_init? It uses
#
#     KL(π ‖ π_init) = E_{y ~ π} [ log π(y) / π_init(y) ],
#
# which is 0 when nothing changed and grows as π puts its mass where π_init rarely goes.
#
# Why plot against **d = sqrt(KL)**? KL behaves like a *squared* distance. Shift a Gaussian
# by δ standard deviations and the KL is δ²/2, so sqrt(KL) = δ/√2 grows linearly with how
# far the distribution moved. On the d axis the paper's gold curves take simple forms:
# d(α − βd) for best-of-n and d(α − β log d) for RL.
#
# ## 3. Deriving the best-of-n KL
#
# Let r(y) be the reward, and F(t) = P_{y~π}(r(y) ≤ t) its CDF under the initial policy π.
# Assume for now the reward is continuous: no two samples tie.
#
# **Step 1: the density of best-of-n.** Best-of-n returns y if y is one of the n draws and
# the other n − 1 draws all have lower reward. A given draw is y with density π(y); each
# other draw is lower with probability F(r(y)); any of the n positions can hold the
# winner. So
#
#     π_n(y) = n · F(r(y))^(n−1) · π(y),   so   log π_n(y)/π(y) = log n + (n − 1) log F(r(y)).
#
# **Step 2: the distribution of F under π_n.** Under π, u = F(r(y)) is Uniform(0, 1) (the
# probability integral transform). Under π_n each u is reweighted by n·u^(n−1), which is
# the density of Beta(n, 1): the maximum of n uniforms.
#
# **Step 3: the expectation.** E[log u] under Beta(n, 1) is
#
#     ∫₀¹ n u^(n−1) log u du = −1/n      (integrate by parts).
#
# **Step 4: put it together.**
#
#     KL(π_n ‖ π) = E_{π_n}[ log n + (n − 1) log u ] = log n − (n − 1)/n.
#
# It is 0 at n = 1 and about log n − 1 for large n. Note what it does *not* depend on: the
# reward's distribution, the policy, the task. Only n.
#
# ## 4. A Monte-Carlo check
#
# Let us check this without using Step 2 or 3. Take any continuous reward, say
# r ~ N(0, 1), so F is the normal CDF Φ. Draw n rewards, keep the largest (that *is* a sample
# of π_n), and average log π_n/π = log n + (n − 1) log Φ(r_max) over many trials.

# %%
TRIALS = 2_000 if FAST else 20_000
mc_ns = [1, 2, 4, 16, 64, 256] if FAST else [1, 2, 4, 16, 64, 256, 1024]
print("    n   MC estimate          analytic")
for n in mc_ns:
    r_max = torch.randn(TRIALS, n, generator=gen, dtype=torch.float64).max(1).values
    log_ratio = np.log(n) + (n - 1) * torch.special.log_ndtr(r_max)  # log π_n/π
    mc, se = log_ratio.mean().item(), log_ratio.std().item() / TRIALS**0.5
    print(f"{n:5d}   {mc:.4f} ± {se:.4f}      {bon_kl(n):.4f}")

# %% [markdown]
# Agreement within the Monte-Carlo error, for a reward that is Gaussian rather than uniform:
# only the rank F(r) mattered.
#
# ## 5. Discrete outcomes and ties: the formula is an upper bound
#
# A language model's outputs are discrete, and rewards can tie (two identical responses
# always do). Then the derivation breaks at Step 2: F(r) is no longer uniform. Breaking ties
# uniformly at random, the kept outcome has reward level r with probability
# F(r)^n − F⁻(r)^n, where F⁻(r) = P(R < r), and within a level it follows π.
# `kl.bon_kl_exact(probs, rewards, n)` sums the exact KL from that.
#
# Beirami et al. (2024) showed the analytic formula is then an **upper bound**. Attach an
# independent uniform random number U to every sample and rank by (reward, U): this reward is
# continuous, so its best-of-n has KL exactly log n − (n − 1)/n, and among ties it picks a
# uniformly random one, which is our π_n. Our π_n is that policy with U forgotten, and
# forgetting information can only shrink a KL (the data-processing inequality).
#
# Three cases:
#
# * (a) M equally likely distinct rewards: no ties, but only M outcomes. Close to the formula
#   while n ≪ M. At n = M best-of-n returns the single best outcome only
#   1 − (1 − 1/M)^M ≈ 1 − 1/e ≈ 63% of the time; at n = 5M about 99% of the time, and the KL
#   levels off at log M.
# * (b) two equally likely outcomes (say, a good and a bad answer): best-of-n can at most
#   always return the good one, which has KL log 2. The formula passes log 2 between n = 4
#   and n = 5 (`bon_kl(4)` = 0.636, `bon_kl(5)` = 0.809, log 2 = 0.693).
# * (c) a skewed distribution with ties: Zipf-like probabilities on 30 outcomes and only 5
#   reward levels. As n grows π_n piles onto the top reward *level* (keeping π's proportions
#   inside it), so the KL tends to −log P(R = r_max).

# %%
ns = np.unique(np.round(np.logspace(0, 3 if FAST else 4, 25)).astype(int))
analytic = bon_kl(ns)


def exact_curve(probs, rewards):
    """bon_kl_exact at every n in `ns`, as an array."""
    return np.array([bon_kl_exact(probs, rewards, int(n)) for n in ns])


M_values = [10, 100, 1_000]
uniform = {M: exact_curve(np.full(M, 1 / M), np.arange(M)) for M in M_values}
coin = exact_curve([0.5, 0.5], [0.0, 1.0])
K = 30
zipf = 1 / np.arange(1, K + 1)
zipf /= zipf.sum()
levels = rng.integers(0, 5, K)  # 5 reward levels for 30 outcomes: many ties
skewed = exact_curve(zipf, levels)
skewed_limit = -np.log(zipf[levels == levels.max()].sum())

# %% [markdown]
# Numbers first: how close each case is to the formula, where it levels off, and a check
# that exact ≤ analytic everywhere (up to floating-point rounding).

# %%
for M in M_values:
    i10 = np.searchsorted(ns, 10)
    print(f"(a) M={M:5d}: exact/analytic at n={ns[i10]}: {uniform[M][i10] / analytic[i10]:.4f}, "
          f"at n={ns[-1]}: {uniform[M][-1] / analytic[-1]:.4f}  (log M = {np.log(M):.3f})")
print(f"(b) two outcomes: log 2 - exact KL at n = 2, 4, 8, 16: "
      f"{[f'{np.log(2) - bon_kl_exact([0.5, 0.5], [0, 1], n):.1e}' for n in (2, 4, 8, 16)]}; "
      f"analytic at n={ns[-1]}: {analytic[-1]:.3f}")
print(f"(c) skewed with ties: exact at n={ns[-1]} {skewed[-1]:.4f}, "
      f"limit -log P(top level) = {skewed_limit:.4f}")
gaps = [uniform[M] - analytic for M in M_values] + [coin - analytic, skewed - analytic]
worst = max(g.max() for g in gaps)
print(f"exact <= analytic (to rounding, 1e-12) for every case and n: {worst <= 1e-12} "
      f"(largest exact - analytic: {worst:.1e})")

# %%
fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), sharey=True)
for ax in axes:
    ax.plot(ns, analytic, "k--", label="log n − (n−1)/n")
    ax.set_xscale("log")
    ax.set_xlabel("n")
for M in M_values:
    axes[0].plot(ns, uniform[M], label=f"exact, M = {M}")
axes[0].set_title("(a) M equally likely distinct rewards")
axes[1].plot(ns, coin, color="C3", label="exact")
axes[1].axhline(np.log(2), color="C3", ls=":", label="log 2")
axes[1].set_title("(b) two equally likely outcomes")
axes[2].plot(ns, skewed, color="C2", label="exact")
axes[2].axhline(skewed_limit, color="C2", ls=":", label="−log P(top level)")
axes[2].set_title("(c) skewed, with ties")
axes[0].set_ylabel("KL(π_n ‖ π)")
for ax in axes:
    ax.legend(fontsize=8)
fig.tight_layout()
fig.savefig(OUT / "02_bon_kl_exact.png", dpi=120)
plt.close(fig)

# %% [markdown]
# So `bon_kl` is the right x axis for a policy whose samples are (practically) never
# repeated, which is the case for long language-model responses, and an overestimate when a
# few outcomes carry most of the probability.
#
# ### On samples like minirmo's own
#
# Which case are minirmo's pools? `bon.pool_bon_kl(pool, scores, ns)` answers it for a
# pool: each prompt's N samples become the reference distribution (a response drawn m times
# has probability m/N), ranked by `scores`, and `bon_kl_exact` gives the KL at each n. Here
# the pool is the hidden teacher's reviews (what the SFT policy imitates), four prompts, and
# we rank it two ways: by the hidden utility, a sum of a few counts that ties often, and by
# that utility plus a little noise, standing in for a proxy RM, whose scores never tie.
# `distinct_pool_kl` is the same pool had every sample been different: the part of the gap
# that is only the pool's finite size.

# %%
N_POOL = 256 if FAST else 4096
topics = torch.arange(4).repeat_interleave(N_POOL)  # (4 N,) four prompts, N samples each
pool = torch.cat([world.prompts[topics], world.teacher_sample(topics, gen)], dim=1)
pool = pool.view(4, N_POOL, -1)  # (prompts, N, seq_len)
utility = world.utility(pool.flatten(0, 1)).view(4, N_POOL).double()  # (prompts, N)
proxy_like = utility + 0.1 * torch.randn(utility.shape, generator=gen, dtype=torch.float64)
pool_ns = sorted({1, 16, N_POOL // 16, N_POOL})

by_utility, distinct = pool_bon_kl(pool, utility, pool_ns)
by_proxy, _ = pool_bon_kl(pool, proxy_like, pool_ns)
print(f"distinct responses in the pools: {distinct:.1%}")
for n, a, u, p, d in zip(pool_ns, bon_kl(pool_ns), by_utility, by_proxy,
                         distinct_pool_kl(N_POOL, pool_ns), strict=True):
    print(f"n = {n:5d}: analytic {a:.2f}, exact ranked by the utility {u:.2f}, by a "
          f"tie-free proxy {p:.2f}, a pool of N distinct {d:.2f} nats")

# %% [markdown]
# The teacher almost never writes the same review twice, so repeats cost nothing here. Ties
# in the *ranking* do: ranked by the utility, whose values tie across many different
# reviews, best-of-n keeps a uniformly random review of the top level, and its KL stops far
# short of the formula. A proxy RM's scores are continuous, so best-of-n against a proxy
# follows the formula up to the pool's finite size, which only bends it near n = N.
# `minirmo bon` measures the same on the trained policy's pools with each proxy (the
# `kl_exact` and `distinct` columns of bon.csv, the `bon_kl_exact.png` figure and a table
# that refits α and β against the exact KL).
#
# ### Beirami et al.'s estimate: one probability is enough
#
# The exact KL needs the whole reference distribution. Beirami et al. (2024) estimate it
# from one number: ε, the reference probability of the response best-of-n kept.
# `kl.bon_kl_beirami(n, eps)` is the exact KL of the simplest world with such a response:
# the kept response carries ε and the rest of the mass is spread so thin that it never
# ties. Its properties are easy to read off: at ε = 1 the policy is deterministic and
# best-of-n changes nothing (KL 0); as ε → 0 it is the formula; in between it is below the
# formula, and as n grows it levels off at −log ε: the most best-of-n can do is always keep
# that one response.

# %%
print("    n   formula   " + "   ".join(f"eps={eps:<6g}" for eps in (1e-6, 1e-3, 0.01, 0.1, 0.5)))
for n in (2, 16, 256, 4096):
    row = "   ".join(f"{bon_kl_beirami(n, eps):10.3f}" for eps in (1e-6, 1e-3, 0.01, 0.1, 0.5))
    print(f"{n:5d}   {bon_kl(n):7.3f}   {row}")

# %% [markdown]
# A review of up to 16 tokens is a long sequence of choices, so its probability is tiny: in
# `minirmo bon`'s pools (the `tiny` preset) the likeliest response of a pool has ε ≈ e^−5.4 ≈
# 0.004 and the median one e^−27, and the response a proxy keeps is rarely the likeliest.
# Averaged over which response is kept (`bon.pool_beirami_kl`), the `kl_beirami` column of
# bon.csv reads 7.318 nats at n = 4,096: the formula to three decimals. The estimate matters
# for short answers (a yes/no, a number, a label), where one response can carry most of the
# mass.
#
# ## 6. One pool, every n: the unbiased best-of-n estimator
#
# To draw the paper's curves we need E[gold of best-of-n] for many n. Drawing n fresh
# samples per prompt for every n would cost Σ n samples; scoring is the expensive part.
# The trick (from WebGPT, Nakano et al. 2021): draw **one** pool of N ≥ n samples per prompt
# and average over **all** C(N, n) of its n-subsets at once, in closed form.
#
# Sort the pool ascending by proxy score, S_1 ≤ … ≤ S_N. A random n-subset has S_i as its
# proxy-best member exactly when it contains S_i and its other n − 1 members come from
# S_1..S_{i−1}: C(i − 1, n − 1) subsets out of C(N, n). So
#
#     E[score of best-of-n] ≈ Σ_i  C(i − 1, n − 1) / C(N, n) · score(S_i).
#
# Each n-subset of an i.i.d. pool is itself an i.i.d. draw of n samples, so the average over
# subsets is **unbiased**; and averaging over all subsets uses the whole pool, so it has lower
# variance than, say, keeping only the first n samples. `bon.bon_weights(N, n)` returns the
# weights (computed in log space, because C(N, n) overflows float64 past N ≈ 1,030).

# %%
N = 100
fig, ax = plt.subplots(figsize=(6, 3.5))
for n in [1, 4, 16, 64, 100]:
    w = bon_weights(N, n)
    ax.plot(np.arange(1, N + 1), w.numpy(), label=f"n = {n} (sum {w.sum():.6f})")
ax.set_yscale("log")
ax.set_ylim(1e-4, 1.5)
ax.set_xlabel("rank i in the pool (1 = lowest proxy score)")
ax.set_ylabel("weight C(i−1, n−1) / C(N, n)")
ax.set_title(f"best-of-n weights for a pool of N = {N}")
ax.legend(fontsize=8)
fig.tight_layout()
fig.savefig(OUT / "02_bon_weights.png", dpi=120)
plt.close(fig)
print("weights for N=5, n=3:", bon_weights(5, 3).numpy().round(3))

# %% [markdown]
# n = 1 gives uniform weights (the plain average); n = N puts all weight on the top sample;
# in between the weight slides toward the top of the pool.
#
# **Check 1: exact enumeration.** For a tiny pool we can list every n-subset, take its
# proxy-best member, and average the gold scores. It should match to rounding error.

# %%
proxy_1 = rng.standard_normal(8)
gold_1 = proxy_1 + rng.standard_normal(8)
for n in [1, 3, 8]:
    best = [max(s, key=lambda i: proxy_1[i]) for s in itertools.combinations(range(8), n)]
    brute = gold_1[best].mean()
    est = bon_estimate(proxy_1, gold_1, [n])[1].item()
    print(f"n={n}: all {len(best):3d} subsets {brute:+.6f}   bon_estimate {est:+.6f}")

# %% [markdown]
# **Check 2: naive resampling.** With many prompts and a bigger pool, draw many random
# n-subsets per prompt (a random permutation, cut after n), keep the proxy-best, and
# average its gold score. This is what best-of-n *does*; the estimator should agree within
# the Monte-Carlo error.

# %%
PROMPTS, POOL, DRAWS = (50, 32, 400) if FAST else (200, 64, 2_000)
gold = torch.randn(PROMPTS, POOL, generator=gen, dtype=torch.float64)
proxy = gold + torch.randn(PROMPTS, POOL, generator=gen, dtype=torch.float64)
check_ns = [1, 4, 16, POOL]
_, est = bon_estimate(proxy, gold, check_ns)
for n, e in zip(check_ns, est, strict=True):
    subsets = torch.rand(PROMPTS, DRAWS, POOL, generator=gen).argsort(-1)[..., :n]
    pick = proxy[:, None, :].expand(-1, DRAWS, -1).gather(2, subsets).argmax(-1, keepdim=True)
    won = gold[:, None, :].expand(-1, DRAWS, -1).gather(2, subsets.gather(2, pick))  # (P, D, 1)
    per_prompt = won.squeeze(-1).mean(1)  # (prompts,)
    # bon_estimate is the exact mean over all subsets of these pools, so the only error of
    # the naive estimate is from the random subsets: its standard error, over DRAWS x PROMPTS
    se = (won.squeeze(-1).std(1) / DRAWS**0.5).pow(2).mean().sqrt() / PROMPTS**0.5
    print(f"n={n:3d}: naive resampling {per_prompt.mean():+.4f} ± {se:.4f}   "
          f"bon_estimate {e:+.4f}")
print(f"ran in {time.time() - T0:.1f} s; figures in {OUT}/")

# %% [markdown]
# ## Exercises
#
# These build on the course's Tasks 1.1–1.4 (best-of-n KL, exact and sampled) and 2.1–2.2 (the
# best-of-n estimator); `docs/teaching.md` lists every task.
#
# 1. **Implement the estimator (Tasks 2.1, 2.2).** In a handout (`minirmo handout DIR`), write
#    the weights and `bon_estimate` (hint: log C(a, b) = lgamma(a + 1) − lgamma(b + 1) −
#    lgamma(a − b + 1), and the weights are a softmax over i) until `pytest -m "task_2_1 or
#    task_2_2"` passes. Why must the weights be computed in log space for N = 2,000?
# 2. **Implement the exact discrete KL (Task 1.2).** Write `bon_kl_exact(probs, rewards, n)`
#    from the formula in Section 5 until `pytest -m task_1_2` passes. Then prove the limit in
#    case (c): as n → ∞ the exact KL tends to −log P(R = r_max).
# 3. **Variance, not just bias (Task 2.2).** The "first n samples of the pool" estimator is also
#    unbiased. Over many independent pools, compare its standard deviation with `bon_estimate`'s
#    at N = 64 and n = 4, 16, 64. When do the two coincide?
# 4. **Three KL estimators (Tasks 1.3, 1.4).** Sample 64 responses from the SFT policy and from
#    a copy sampled at temperature 1.3, and estimate KL(π_1.3 ‖ π) with k1, k2 and k3
#    (`kl.sampled_kl`) over 100 batches. Which estimates go negative, which are biased, and
#    which has the smallest spread?
