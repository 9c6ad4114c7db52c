# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Tutorial 11: the pieces of week 2, one at a time
#
# Week 2 of the course asks you to write the functions that learn a reward and optimize it:
# the Bradley–Terry loss (Task 4.1), the three per-token KL estimators and the sampled KL
# (Tasks 1.3, 1.4), and PPO's pieces: generalized advantage estimation (Task 5.1), the clipped
# policy and value losses (5.2, 5.3), the per-token KL penalty and its adaptive controller
# (5.4, 5.5) and the diagnostics of an update (5.6). Tutorials 4 to 6 use them inside long
# training runs, where it is hard to see what any one of them does.
#
# This tutorial takes them out of the loop. Each section feeds one function a few numbers
# small enough to check by hand, or a model small enough to enumerate, and asks *why* the
# function is built the way it is: why the loss at chance is ln 2, why k3 rather than k1, why
# GAE has a λ, why the clip looks at the sign of the advantage. Nothing here is trained for
# more than a few hundred steps of a four-number model, so it runs in seconds on any laptop;
# there is no preset and no run folder, and no GPU to ask for.
#
# *As a notebook:* open `tutorials/11_ppo_pieces.ipynb` (written by `minirmo handout`, or by
# `jupytext --to ipynb tutorials/11_ppo_pieces.py`) in Jupyter, or upload it to Colab after
# `pip install -e .` of the project there. In a handout it stops with `NotImplementedError:
# Task X.Y: …` at the first function you have not written yet. *Time on a laptop CPU (2
# cores):* about 9 seconds, most of it importing torch; the sections themselves take under 2
# seconds (fewer samples in fast mode, `MINIRMO_FAST=1`).

# %%
import itertools
import math
import os
import time
from pathlib import Path

import matplotlib.pyplot as plt
import torch

from minirmo.kl import sampled_kl
from minirmo.ppo import (
    gae,
    kl_penalty,
    policy_loss,
    update_diagnostics,
    update_kl_coef,
    value_loss,
)
from minirmo.reward import bradley_terry_loss

FAST = os.environ.get("MINIRMO_FAST") == "1"  # fewer samples: a couple of seconds
OUT = Path(os.environ.get("MINIRMO_OUT", "tutorial_out"))
OUT.mkdir(parents=True, exist_ok=True)
T0 = time.time()
torch.set_num_threads(1)  # tensors of a few thousand numbers: a second thread only waits
gen = torch.Generator().manual_seed(0)  # every random number below comes from this one stream

# %% [markdown]
# ## 1. Bradley–Terry: a score from comparisons (Task 4.1)
#
# A reward model gives each response one number, its score r. The data it learns from are
# not scores but **comparisons**: a labeller saw two responses and picked one. The
# Bradley–Terry model links the two. It says the chosen response wins with probability
#
#     P(a ≻ b) = σ(r_a − r_b),     σ(m) = 1 / (1 + e^(−m)),
#
# so a margin of 0 is a coin flip and a margin of 2 a win 88% of the time. Fitting r by
# maximum likelihood means minimizing, over the comparisons, the negative log-probability of
# what the labeller chose: −log σ(r_chosen − r_rejected), averaged over pairs. That average is
# `reward.bradley_terry_loss(chosen, rejected)`: two tensors of scores, shape (pairs,), in,
# a scalar out.
#
# A small world to try it on: four responses A, B, C, D with hidden "true" scores 0, 0.5, 1
# and 2. A labeller compares random pairs and picks the winner with the Bradley–Terry
# probability of the true scores, so even the labels are noisy: A beats D 12% of the time.

# %%
TRUE = torch.tensor([0.0, 0.5, 1.0, 2.0])  # (items,) hidden scores of responses A, B, C, D
PAIRS = 500 if FAST else 2_000
first = torch.randint(0, 4, (PAIRS,), generator=gen)  # (pairs,) one response of each pair
second = (first + torch.randint(1, 4, (PAIRS,), generator=gen)) % 4  # (pairs,) never the same
first_wins = torch.rand(PAIRS, generator=gen) < torch.sigmoid(TRUE[first] - TRUE[second])
winner = torch.where(first_wins, first, second)  # (pairs,) index of the chosen response
loser = torch.where(first_wins, second, first)  # (pairs,) index of the rejected one

scores = torch.zeros(4, requires_grad=True)  # (items,) the "reward model": one score each
at_zero = bradley_terry_loss(scores[winner], scores[loser]).item()
print(f"{PAIRS} comparisons; loss with every score 0: {at_zero:.4f}  (ln 2 = {math.log(2):.4f})")

# %% [markdown]
# With every score equal the model says 50/50 to every pair, and −log ½ = ln 2 ≈ 0.693
# whatever the labels were. That is why Tutorial 5 reads a validation loss near ln 2 as "this
# reward model has learned nothing": it is the loss of a model that cannot tell the two
# responses apart.
#
# Now fit the four scores with Adam, the optimizer that trains the real reward models.

# %%
optimizer = torch.optim.Adam([scores], lr=0.05)
for _ in range(300 if FAST else 600):
    optimizer.zero_grad()
    loss = bradley_terry_loss(scores[winner], scores[loser])  # scalar
    loss.backward()
    optimizer.step()

fitted = scores.detach()
anchored = fitted - fitted[0]  # (items,) only differences are identified: put A at 0
print("true   scores:", [f"{s:.2f}" for s in TRUE.tolist()])
print("fitted scores:", [f"{s:.2f}" for s in anchored.tolist()], " (A anchored at 0)")
print(f"loss at the fitted scores {bradley_terry_loss(fitted[winner], fitted[loser]):.4f}, "
      f"at the true ones {bradley_terry_loss(TRUE[winner], TRUE[loser]):.4f}")
shifted = bradley_terry_loss(fitted[winner] + 5, fitted[loser] + 5).item()
print(f"every score + 5: loss {shifted:.4f} (unchanged)")

# %% [markdown]
# Three things to read off.
#
# * **The scores come back, up to a constant.** The loss only sees differences, so adding 5 to
#   every score changes nothing. A reward model's raw score has no zero of its own; minirmo
#   *calibrates* every RM after training (`RewardModel.calibrate`), shifting it so the initial
#   policy's samples score 0 on average, and "gold gain" is measured from there.
# * **The loss does not go to 0**, not even at the true scores. The labels are noisy, and the
#   floor is the labels' own entropy. The fitted scores even beat the true ones on these
#   pairs, by fitting this sample's share of lucky wins: a small gap here, but a training loss
#   far below the validation loss is a model memorizing noise (Tutorial 5's exercise 3).
# * **The fit is only as sharp as the data.** Each pair of responses is compared about 330
#   times here, and the scores still miss by up to 0.15; try `PAIRS = 50` and watch them
#   scatter.
#
# Why does a confident pair teach so little? The gradient of −log σ(m) with respect to the
# margin m is −σ(−m) = −(1 − P(model agrees with the label)). Autograd says the same:

# %%
margins = torch.tensor([-4.0, -2.0, 0.0, 2.0, 4.0], requires_grad=True)  # (pairs,) r_c − r_r
(len(margins) * bradley_terry_loss(margins, torch.zeros(5))).backward()  # per-pair gradients
for m, g in zip(margins.tolist(), margins.grad.tolist(), strict=True):
    by_hand = -1 / (1 + math.exp(m))  # −σ(−m)
    print(f"margin {m:+.0f}: d loss / d margin = {g:+.3f}   (−σ(−m) = {by_hand:+.3f})")

# %% [markdown]
# A pair the model already ranks right by a margin of 4 pushes 55 times less than one it gets
# wrong by 4. Bradley–Terry spends its effort on the pairs it gets wrong, and never stops
# pushing entirely: on perfectly separable data the margins would grow without bound, which is
# one reason reward models are trained for one epoch (Tutorial 4's exercise 3).
#
# ## 2. Three estimators of the KL, on a model we can enumerate (Tasks 1.3, 1.4)
#
# The paper's x axis is KL(π ‖ π_init). For a language model it cannot be summed over every
# response, so it is estimated from the policy's own samples. Write log r = log π_ref(y_t) −
# log π(y_t) for one sampled token. Three per-token estimators (John Schulman's note "Approximating
# KL divergence", 2020):
#
#     k1 = −log r              unbiased, but negative whenever π_ref likes the token more
#     k2 = ½ (log r)²          never negative, biased
#     k3 = (r − 1) − log r     unbiased (E_π[r] = 1), never negative
#
# `kl.sampled_kl(logp, logp_ref, mask, estimator)` sums a chosen estimator over each response's
# tokens, shape (batch, T) in, (batch,) out. Summing per-token estimates is right because the
# KL of a sequence model is the expected sum of the per-token KLs (the chain rule).
#
# To *measure* bias and variance we need the true KL. So take a model small enough to
# enumerate: responses of T = 3 tokens from a vocabulary of 4, generated by a bigram table
# (4³ = 64 possible responses). The reference is a random table; the "policy" is the same
# logits divided by a temperature τ < 1, sharper, as RL tends to make a policy.

# %%
V, T = 4, 3
tables = torch.Generator().manual_seed(0)  # its own stream: the same model in fast mode
REF_FIRST = torch.randn(V, generator=tables)  # (V,) logits of the first token
REF_NEXT = torch.randn(V, V, generator=tables)  # (V, V) logits of token t + 1 given token t
ALL = torch.tensor(list(itertools.product(range(V), repeat=T)))  # (V^T, T) every response


def bigram(temperature):
    """The reference logits divided by `temperature`: τ = 1 is π_ref, τ < 1 is sharper."""
    return REF_FIRST / temperature, REF_NEXT / temperature


def token_logps(model, seqs):
    """seqs (B, T) token ids -> (B, T) log-probability of each token under `model`."""
    first_logits, next_logits = model
    head = torch.log_softmax(first_logits, -1)[seqs[:, 0]]  # (B,)
    rest = torch.log_softmax(next_logits, -1)[seqs[:, :-1], seqs[:, 1:]]  # (B, T − 1)
    return torch.cat([head[:, None], rest], 1)  # (B, T)


def sample(model, count):
    """`count` responses of `model`, (count, T), drawn from the tutorial's generator."""
    first_logits, next_logits = model
    tokens = [torch.multinomial(first_logits.softmax(-1), count, True, generator=gen)]
    for _ in range(T - 1):
        probs = next_logits.softmax(-1)[tokens[-1]]  # (count, V) next-token distributions
        tokens.append(torch.multinomial(probs, 1, generator=gen).squeeze(1))
    return torch.stack(tokens, 1)  # (count, T)


def exact_kl(p, q):
    """KL(p ‖ q) in nats between two bigram models, summed over all V^T responses."""
    lp, lq = token_logps(p, ALL).sum(1), token_logps(q, ALL).sum(1)  # (V^T,) log-probs
    return (lp.exp() * (lp - lq)).sum().item()


print(f"{len(ALL)} responses; probabilities sum to "
      f"{token_logps(bigram(1.0), ALL).sum(1).exp().sum():.6f}")

# %% [markdown]
# A PPO step sees one batch, and the x axis is that batch's average. So the unit of
# measurement is a *batch* estimate: the mean over 64 responses. We draw many batches and
# ask of each estimator: is the batch mean right on average (bias), how much does it scatter
# (spread), and how often is a single response's estimate negative. Two policies: one close to
# the reference (τ = 0.9) and one far from it (τ = 0.5).

# %%
BATCH, BATCHES = 64, (200 if FAST else 2_000)
ref = bigram(1.0)
print(f"{'τ':>4} {'exact KL':>9} | {'est.':>4} {'mean':>7} {'bias':>7} {'spread':>7} "
      f"{'P(<0)':>6}")
estimates = {}
for tau in (0.9, 0.5):
    policy = bigram(tau)
    seqs = sample(policy, BATCH * BATCHES)  # (BATCH·BATCHES, T) responses of the policy
    logp, logp_ref = token_logps(policy, seqs), token_logps(ref, seqs)  # (BATCH·BATCHES, T)
    truth = exact_kl(policy, ref)
    for name in ("k1", "k2", "k3"):
        per_response = sampled_kl(logp, logp_ref, estimator=name)  # (BATCH·BATCHES,)
        batch_means = per_response.view(BATCHES, BATCH).mean(1)  # (BATCHES,)
        estimates[tau, name] = batch_means
        print(f"{tau:>4} {truth:>9.4f} | {name:>4} {batch_means.mean():>7.4f} "
              f"{batch_means.mean() - truth:>+7.4f} {batch_means.std():>7.4f} "
              f"{(per_response < 0).float().mean():>6.1%}")

# %% [markdown]
# What to see in the table:
#
# * **k1 and k3 are unbiased**: their mean over many batches is the exact KL, up to the
#   sampling error of the mean (spread / √BATCHES). **k2 is not**: ½(log r)² is the
#   second-order term of the KL, right when π and π_ref are close and off when they are not.
# * **k1 goes negative** on a large share of single responses, although a KL never is. A
#   batch mean near zero KL can be negative too, which is why a log-scale plot of sampled k1
#   KL needs care at step 0.
# * **Close to the reference, k3 is unbiased and quiet**: it is k1 plus r − 1, a term with
#   mean 0 under π that cancels most of k1's noise, so its spread is about a tenth of k1's
#   (k2's is as small, and its bias is still small at τ = 0.9). That is why PPO's
#   approximate KL between successive policies (section 6) and GRPO's KL term (Tutorial 10)
#   use k3: both compare policies that are close by construction.
# * **Far from it, nothing is free.** At τ = 0.5 k2 misses a quarter of the KL, and k3's
#   spread has grown past k1's: r = π_ref/π, a ratio of probabilities, is large on the
#   occasional token the policy has made rare, and those tokens dominate k3's variance.
#
# minirmo's x axis is k1 (`PPOConfig.kl_estimator` only changes the penalty): unbiased is what
# a curve of "gold against KL" needs, and averaged over a batch of 256 its noise is small.
#
# The masks matter in a real batch: responses end at `<eos>` and the positions after it hold
# padding, whose log-probabilities can be anything. `sampled_kl` counts only the masked-in
# tokens, even when the others are NaN:

# %%
logp_demo = torch.tensor([[-1.0, -2.0, float("nan")]])  # (1, T) the last position is padding
ref_demo = torch.tensor([[-1.5, -1.0, float("nan")]])  # (1, T)
mask_demo = torch.tensor([[True, True, False]])  # (1, T) a response of two tokens
print("k1 of a two-token response:", sampled_kl(logp_demo, ref_demo, mask_demo).tolist(),
      "(= 0.5 − 1.0)")

# %% [markdown]
# ## 3. GAE: from Monte Carlo to TD with one knob (Task 5.1)
#
# A policy gradient needs, for every token, its **advantage**: how much better things went
# after that token than the value network V expected before it. Two extreme answers:
#
# * **Monte Carlo** (λ = 1): the return that actually followed, minus V(s_t). It uses no
#   model of the future, so it is unbiased, but it carries the luck of every later token.
# * **Temporal difference** (λ = 0): the one-step TD error δ_t = r_t + γ V(s_{t+1}) − V(s_t).
#   It trusts V for everything after the next state, so it is quiet, and exactly as wrong as
#   V is.
#
# GAE (Schulman et al. 2016) sums the TD errors with weights (γλ)^k and slides between the
# two. In RLHF the reward model scores the whole response, so the reward sits on the last
# token and every other r_t is 0 (γ = 1: no discounting). `ppo.gae(rewards, values, mask,
# gamma, lam)` takes (B, T) tensors and returns (advantages, returns), both (B, T).
#
# A world where we know the true advantage: each token is a coin flip x_t = ±1 and the reward
# at the end is their sum. The value of a state is the sum so far (the future coins average
# 0), so the true advantage of token t is x_t itself. We give GAE either that perfect value
# function or a shrunken one, 0.5 × the sum so far.

# %%
EPISODES, STEPS = (10_000 if FAST else 50_000), 8
coins = torch.randint(0, 2, (EPISODES, STEPS), generator=gen).float() * 2 - 1  # (E, T) x_t
so_far = coins.cumsum(1) - coins  # (E, T) the sum of the coins before token t: V(s_t)
rewards = torch.zeros(EPISODES, STEPS)  # (E, T) 0 everywhere ...
rewards[:, -1] = coins.sum(1)  # ... but the last token, which gets the whole sum
full = torch.ones(EPISODES, STEPS, dtype=torch.bool)  # (E, T) every response is 8 tokens long

# λ = 0 is the TD error, and λ = 1 the return minus V: check both ends on the shrunken V
shrunk = 0.5 * so_far  # (E, T)
td_error = rewards + torch.cat([shrunk[:, 1:], torch.zeros(EPISODES, 1)], 1) - shrunk  # (E, T)
to_go = rewards.flip(1).cumsum(1).flip(1)  # (E, T) the reward still to come: the MC return
adv_td, _ = gae(rewards, shrunk, full, gamma=1.0, lam=0.0)
adv_mc, returns_mc = gae(rewards, shrunk, full, gamma=1.0, lam=1.0)
print(f"λ = 0 is the TD error: {torch.allclose(adv_td, td_error)};  λ = 1 is the return "
      f"minus V: {torch.allclose(adv_mc, to_go - shrunk)};  its returns are the reward to "
      f"go: {torch.allclose(returns_mc, to_go)}")

# %% [markdown]
# Now the trade-off. For the first token we regress GAE's advantage on the true one, x_0:
# a **slope** of 1 means the estimate credits the token with its true effect (unbiased), a
# smaller slope means it under-credits it; the **noise** is the scatter left around that line,
# the variance that a policy gradient must average away.

# %%
print(f"{'V':>9} {'λ':>5} | {'slope':>6} {'noise':>6}")
for label, values in (("perfect", so_far), ("0.5 × V", shrunk)):
    for lam in (0.0, 0.5, 0.9, 0.95, 1.0):
        adv, _ = gae(rewards, values, full, gamma=1.0, lam=lam)  # (E, T)
        slope = (adv[:, 0] * coins[:, 0]).mean() / (coins[:, 0] ** 2).mean()
        noise = (adv[:, 0] - slope * coins[:, 0]).std()
        print(f"{label:>9} {lam:>5} | {slope:>6.3f} {noise:>6.3f}")

# %% [markdown]
# With a perfect V, λ = 0 is exact (slope 1, no noise) and λ = 1 adds the luck of the seven
# later coins (noise √7 ≈ 2.6). With a wrong V, λ = 0 inherits V's error (slope 0.5) while
# λ = 1 stays unbiased. GAE's λ picks a point between: minirmo uses λ = 0.95 (`PPOConfig.lam`),
# mostly Monte Carlo, because early in a run the value network knows little. Mind one more
# detail of `gae`: after a response's last token there is **no bootstrap**. The episode really
# ends there, and a response cut off at `max_len` is final too: the reward model has already
# scored it as unfinished.
#
# ## 4. The clipped losses (Tasks 5.2, 5.3)
#
# PPO reuses each batch of rollouts for several epochs of minibatch steps. After the first
# step the data come from an older policy π_old, and the policy gradient is reweighted by
# the ratio ρ = π_new(y_t) / π_old(y_t). Left alone, that reweighted objective ρA would
# reward moving ρ as far as the advantage A says, far outside the region where a batch from
# π_old says anything about π_new. PPO's clipped objective is the *pessimistic* one of two:
#
#     min(ρA, clip(ρ, 1 − ε, 1 + ε) A)
#
# and `ppo.policy_loss(logp, logp_old, advantages, mask, clip)` returns minus its mean over
# the valid tokens ((M, T) tensors in, a scalar out). Draw it for a single token, at every ρ
# between 0.5 and 1.5, with A = +1 and A = −1:

# %%
EPS = 0.2
rho = torch.linspace(0.5, 1.5, 201)  # (M,) candidate ratios π_new / π_old of one token
ones, zeros = torch.ones(len(rho), 1), torch.zeros(len(rho), 1)  # (M, 1)
curves = {}
for advantage in (+1.0, -1.0):
    logp = rho.log()[:, None].clone().requires_grad_(True)  # (M, 1) log π_new; log π_old = 0
    adv = torch.full((len(rho), 1), advantage)  # (M, 1)
    # the loss is a mean over tokens: times M, each row's gradient is that token's own
    (len(rho) * policy_loss(logp, zeros, adv, ones, EPS)).backward()
    objective = [-policy_loss(logp[i : i + 1], zeros[:1], adv[:1], ones[:1], EPS).item()
                 for i in range(len(rho))]
    curves[advantage] = (objective, -logp.grad[:, 0])  # objective and its gradient in log π
for advantage, (_, grad) in curves.items():
    at = {r: grad[torch.argmin((rho - r).abs())].item() for r in (0.7, 1.0, 1.3)}
    print(f"A = {advantage:+.0f}: gradient of the objective in log π_new at ρ = "
          + ", ".join(f"{r}: {g:+.2f}" for r, g in at.items()))

# %% [markdown]
# Read the gradient as "does this token still want to move?". With A > 0 the objective
# wants ρ up; past 1 + ε the gradient is **zero**: no further gain from this batch. Below
# 1 − ε it is not zero: if an earlier step pushed a good token *down*, the loss still pulls
# it back. A < 0 is the mirror image. The clip removes the incentive to go further in the
# direction the advantage favours, never the correction back. (It does not stop a single
# large step from overshooting: that is what section 6's clip fraction watches.)
#
# The value network gets the same treatment in PPO2's clipped value loss,
# ½ · max((V − R)², (V_clip − R)²) with V_clip kept within `value_clip` of the rollout's
# prediction: `ppo.value_loss(values, values_old, returns, mask, value_clip)`. Here the
# rollout predicted V_old = 0 and the target is R = 0.6.

# %%
v = torch.linspace(-1.0, 1.5, 251)  # (M,) candidate new predictions of one state's value
ret = torch.tensor([[0.6]])  # (1, 1) the return target
clipped_v = [value_loss(x.view(1, 1), torch.zeros(1, 1), ret, torch.ones(1, 1), 0.2).item()
             for x in v]
plain_v = [0.5 * (x.item() - 0.6) ** 2 for x in v]

fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
for ax, advantage in zip(axes[:2], (+1.0, -1.0), strict=True):
    ax.axvspan(1 - EPS, 1 + EPS, color="0.92", label="[1 − ε, 1 + ε]")
    ax.plot(rho, rho * advantage, "--", color="0.5", label="unclipped ρA")
    ax.plot(rho, curves[advantage][0], color="C3", lw=2, label="min(ρA, clip(ρ)A)")
    ax.set_title(f"policy objective, A = {advantage:+.0f}")
    ax.set_xlabel("ρ = π_new / π_old")
    ax.legend(fontsize=8)
axes[2].axvspan(-0.2, 0.2, color="0.92", label="V_old ± value_clip")
axes[2].plot(v, plain_v, "--", color="0.5", label="½ (V − R)²")
axes[2].plot(v, clipped_v, color="C0", lw=2, label="clipped value loss")
axes[2].axvline(0.6, color="k", lw=0.8)
axes[2].set_title("value loss, V_old = 0, R = 0.6")
axes[2].set_xlabel("V")
axes[2].legend(fontsize=8)
fig.tight_layout()
fig.savefig(OUT / "11_clipping.png", dpi=120)
plt.close(fig)
print(f"figure: {OUT / '11_clipping.png'}")

# %% [markdown]
# In the right panel the loss is flat between V = 0.2 and V = 1.0: once the prediction has
# left the clip range *towards* the target, the clipped term ½(V_clip − R)² = 0.08 is the
# larger one and does not depend on V, so there is no gradient. Moving away from the target
# is always penalized. Whether value clipping helps at all is debated (Engstrom et al. 2020
# found it often does not); minirmo keeps it because it is what the RLHF codebases do.
#
# ## 5. The KL penalty, and a controller for its coefficient (Tasks 5.4, 5.5)
#
# The paper's main runs use no KL penalty, but InstructGPT-style RLHF does: every token gets
# the extra reward −β · k(log r), and `ppo.kl_penalty(logp, logp_ref, mask, kl_coef,
# estimator)` returns those (B, T) rewards. With k1, a row's sum is −β times that response's
# sampled KL, so the penalty on the whole response is exactly "−β · KL". Putting it on each
# token instead of at the end lets GAE credit the KL to the token that spent it.

# %%
policy = bigram(0.5)
seqs = sample(policy, 256)  # (B, T)
logp, logp_ref = token_logps(policy, seqs), token_logps(ref, seqs)  # (B, T)
mask = torch.ones_like(logp, dtype=torch.bool)  # (B, T)
BETA = 0.1
penalty = kl_penalty(logp, logp_ref, mask, BETA)  # (B, T) per-token rewards
print(f"row sums are −β · sampled KL: "
      f"{torch.allclose(penalty.sum(1), -BETA * sampled_kl(logp, logp_ref, mask))};  mean "
      f"{penalty.sum(1).mean():+.4f} against −β · exact KL = {-BETA * exact_kl(policy, ref):+.4f}")

# %% [markdown]
# What β should be is hard to say in advance: the KL a given β allows depends on the reward's
# scale and on how exploitable it is. Ziegler et al. (2019) instead fix a **target KL** and
# steer β towards it: `ppo.update_kl_coef(kl_coef, kl, target, batch_size, horizon)` moves β
# by the factor 1 + e · B / horizon, with e = clip(KL / target − 1, −0.2, 0.2). The clip keeps
# one noisy batch from swinging β; the horizon (in rollouts) sets how fast it closes the gap.
#
# To watch it without training anything we need to know what KL each β leads to. The
# policy that maximizes E[reward] − β · KL is known in closed form: π_β(y) ∝ π_ref(y) ·
# exp(reward(y) / β) (Tutorial 8 turns this identity into DPO). Take reward(y) = the number
# of times token 0 appears in y, and enumerate. The controller then sees, at each step, the
# KL of π_β for its current β, as if PPO reached the optimum at once (a real run lags behind,
# and its KL is sampled).

# %%
reward_all = (ALL == 0).sum(1).float()  # (V^T,) the reward of every response
logp_ref_all = token_logps(ref, ALL).sum(1)  # (V^T,) log π_ref of every response


def tilted_kl(beta):
    """KL(π_β ‖ π_ref) of the optimal policy for penalty β, by enumeration."""
    logits = logp_ref_all + reward_all / beta  # (V^T,) unnormalized log π_β
    log_pi = logits - logits.logsumexp(0)
    return (log_pi.exp() * (log_pi - logp_ref_all)).sum().item()


TARGET, B = 0.5, 256
history = {}
for horizon in (1_000, 10_000):
    beta, trace = 0.05, []
    for _ in range(600):
        kl = tilted_kl(beta)
        trace.append((beta, kl))
        beta = update_kl_coef(beta, kl, TARGET, B, horizon)
    history[horizon] = trace
    near = next((i for i, (_, kl) in enumerate(trace) if abs(kl / TARGET - 1) < 0.1), "never")
    print(f"horizon {horizon:>6,}: β 0.05 -> {trace[-1][0]:.3f}, KL {trace[0][1]:.2f} -> "
          f"{trace[-1][1]:.3f} nats (target {TARGET}); within 10% of it from step {near}")

fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
for horizon, trace in history.items():
    axes[0].plot([b for b, _ in trace], label=f"horizon {horizon:,}")
    axes[1].plot([kl for _, kl in trace], label=f"horizon {horizon:,}")
axes[1].axhline(TARGET, color="k", lw=0.8, ls="--")
axes[0].set_ylabel("β")
axes[1].set_ylabel("KL(π_β ‖ π_ref), nats")
for ax in axes:
    ax.set_xlabel("step")
    ax.legend(fontsize=8)
fig.tight_layout()
fig.savefig(OUT / "11_kl_controller.png", dpi=120)
plt.close(fig)

# %% [markdown]
# The controller is multiplicative, so β never changes sign, and capped, so it climbs at
# most 1 + 0.2 · 256 / 1,000 ≈ 5% a step: from β = 0.05 it needs about 50 steps to reach the
# β that holds the target, and ten times as many with a horizon of 10,000, longer than most
# runs. Start β near where it should end, or the target means little for most of the run.
# (That is also why `PPOConfig` refuses `kl_coef = 0` with a target: 0 times any factor stays
# 0.)
#
# ## 6. Watching an update: clip fraction and approximate KL (Task 5.6)
#
# Two numbers tell whether a PPO update was a healthy size, and `ppo.update_diagnostics(logp,
# logp_old, mask, clip)` returns both for one minibatch:
#
# * the **clip fraction**, the share of valid tokens with |ρ − 1| > ε: how many tokens the
#   step carried outside the trust region;
# * the **approximate KL** between the old and the new policy, the k3 estimate of
#   KL(π_old ‖ π_new) on π_old's samples, *per token* (a mean, not a sum).
#
# Let π_new be π_old sharpened by a little (τ slightly below 1), as one update might do, and
# compare with the exact per-token KL by enumeration (the sequence KL divided by T).

# %%
old = ref
seqs = sample(old, 4_096)  # (B, T) the rollout, from π_old
logp_old = token_logps(old, seqs)  # (B, T)
valid = torch.ones_like(logp_old)  # (B, T) float 0/1, as inside the PPO loop
print(f"{'τ':>5} | {'clip frac':>9} {'approx KL':>10} {'exact/token':>11}")
for tau in (0.99, 0.95, 0.9, 0.8, 0.6):
    new = bigram(tau)
    clip_frac, approx_kl = update_diagnostics(token_logps(new, seqs), logp_old, valid, EPS)
    print(f"{tau:>5} | {clip_frac:>9.1%} {approx_kl:>10.5f} {exact_kl(old, new) / T:>11.5f}")

# %% [markdown]
# The approximate KL tracks the exact one, and the clip fraction rises with it, slowly and
# then all at once. `PPOConfig`'s learning rate was chosen to keep a step at a clip fraction
# of about 0.03–0.13 and an approximate KL of 2e-3 to 9e-3 per token, the usual healthy
# range: τ = 0.9 is a step at its low end, τ = 0.8 one at its high end. At τ = 0.6 two tokens
# in three left the trust region: a step that size means the learning rate is far too large.
# An approximate KL near 0, the other way, says the policy is hardly learning. Tutorial 6's
# exercise 3 uses these per-step records to catch a run that is reward hacking.

# %% [markdown]
# ## Exercises
#
# These build on the course's Tasks 4.1 (Bradley–Terry), 1.3–1.4 (the KL estimators and the
# sampled KL) and 5.1–5.6 (PPO's pieces); `docs/teaching.md` lists every task.
#
# 1. **Write the pieces (Tasks 4.1, 1.3, 1.4, 5.1–5.6).** In a handout (`minirmo handout
#    DIR`) each function above raises `NotImplementedError`. Write them in the order of this
#    tutorial until `pytest -m "task_4_1 or task_1_3 or task_1_4 or task_5_1"` (and so on up
#    to `task_5_6`) passes, then rerun this tutorial: every table should read as here.
# 2. **Ties (Task 4.1).** Some labellers answer "about the same". One way to use a tie is to
#    count it as half a win each way: the loss ½·ℓ(m) + ½·ℓ(−m), with ℓ the Bradley–Terry
#    loss of one pair at margin m. Show that it equals log(2 cosh(m/2)), where it has its
#    minimum and what the minimum is, and check it numerically with `bradley_terry_loss`.
#    What does a reward model trained on many ties learn to do with their margins?
# 3. **When does k2 fail? (Tasks 1.3, 1.4)** Repeat section 2 for τ = 0.95, 0.9, 0.8, 0.7,
#    0.5, 0.3, and plot against the exact KL the relative bias of k2 and the spread of k1 and
#    k3. From what KL is k2 off by more than 10%? Is there a KL beyond which k3 stops having
#    the smallest spread?
# 4. **The best λ (Task 5.1).** In section 3's coin world, find the λ that minimizes the mean
#    squared error of the first token's advantage against the true one (x_0), for responses of
#    8 and of 32 tokens, with a value function that knows nothing (V = 0) and with the
#    shrunken one (0.5 × V). Why does the best λ rise with length when V = 0, and why is the
#    shrunken V's best λ so different, although it too is wrong everywhere?
# 5. **The controller in the real loop (Tasks 5.5, 5.6).** Read the per-step records of the
#    PPO run against the smallest proxy of the `tiny` preset (`run.rl(size, pairs)` in
#    Tutorial 6's run folder): the range of `clip_frac` and `approx_kl` over the run. Are
#    they in the healthy range section 6 quotes? In section 5 from β = 0.05, how many steps
#    does the controller need to come within 10% of a target of 2 nats, with horizon 1,000?

# %%
print(f"done in {time.time() - T0:.1f} s")
