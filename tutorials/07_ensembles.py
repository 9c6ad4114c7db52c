# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Tutorial 7: ensembles against overoptimization, and label noise
#
# The paper measures overoptimization; the work that followed tries to prevent it. The
# simplest idea: train not one proxy RM but k of them, and only pay for what they *agree*
# on. Coste et al. (ICLR 2024) train k proxies that differ only in their random seed and
# optimize one of three combinations of their scores:
#
# * **mean**: the members' average. Each member's own quirks average out; errors the
#   members share do not.
# * **WCO**, worst-case optimization: the minimum over members. A sample scores high only
#   if *every* member likes it.
# * **UWO**, uncertainty-weighted optimization: mean − λ · variance across members. Where the
#   members disagree, at least one of them is extrapolating; UWO charges λ per unit of
#   disagreement.
#
# Their findings: WCO and UWO nearly eliminate overoptimization under best-of-n and raise
# the final gold score (up to about 70%); with 25% of the comparison labels flipped at
# random, a single RM and the plain mean still overoptimize; under PPO, WCO and UWO with a
# small KL penalty hold off what a single RM needs a far larger penalty for. Eisenstein et al.
# (2023) add a warning: a hack that *all* members share survives any combination of them.
#
# This tutorial builds the ensemble from the package's own pieces, asks *where* its members
# disagree, and then measures whether the conservative objectives help in this world. They
# help less than in the paper, and the second section shows why.
#
# *As a notebook:* open `tutorials/07_ensembles.ipynb` (written by `minirmo handout`, or by
# `jupytext --to ipynb tutorials/07_ensembles.py`) in Jupyter, or upload it to Colab after `pip
# install -e .` of the project there. *Time on a laptop CPU (2 cores):* 1 min 55 s for the
# `tiny` preset's seed 0 from a folder that already holds its policy, gold RM and pool
# (Tutorials 3–6 leave them there; measured 2026-11-25): the 10 members, then the 8 PPO runs,
# which take most of it. From an empty folder, add about 2 minutes for the policy, the gold RM
# and the pool.

# %%
import os
import time
from dataclasses import replace
from pathlib import Path

import torch

from minirmo import plots, report
from minirmo.analysis import seed_mean
from minirmo.ensemble import OBJECTIVES, EnsembleConfig, combine
from minirmo.reproduce import ENSEMBLE_CURVE
from minirmo.runs import studies
from minirmo.runs.presets import get_preset
from minirmo.runs.run import Run

FAST = os.environ.get("MINIRMO_FAST") == "1"  # the `test` preset, fewer members, short PPO
OUT = Path(os.environ.get("MINIRMO_OUT", "tutorial_out"))
OUT.mkdir(parents=True, exist_ok=True)
T0 = time.time()

# %% [markdown]
# ## The run
#
# Five members of the smallest proxy size (4,849 parameters), each trained on the same
# 4,000 gold-labelled comparisons, the proxy that overoptimizes at every seed in
# Tutorial 3. Each member has its own random seed: its initial weights, its validation
# split and the order of its batches. Label noise is a study axis: one uniform draw per
# comparison, and noise level p flips the pairs whose draw is below p. So 25% noise flips a
# quarter of the pairs, and a member at 25% noise starts from the same weights and sees the
# same batches as at 0%: the flips are the only difference. (`MINIRMO_PRESET`,
# `MINIRMO_RUN_DIR` and `MINIRMO_DEVICE` choose the preset, the folder and the device as in
# Tutorial 3: `cuda` on a GPU.)

# %%
PRESET = "test" if FAST else os.environ.get("MINIRMO_PRESET", "tiny")
RUN_DIR = Path(os.environ.get("MINIRMO_RUN_DIR", f"runs/{PRESET}"))
DEVICE = os.environ.get("MINIRMO_DEVICE", "cpu")  # "cuda" on a GPU
preset = get_preset(PRESET)
config = EnsembleConfig(members=3 if FAST else 5, label_noise=(0.0, 0.25), uwo_lambda=1.0)
if FAST:  # a few PPO steps: enough to run every line, not to overoptimize
    preset = replace(preset, ppo=replace(preset.ppo, steps=3, batch_size=64, minibatch_size=32))
run = Run(replace(preset, ensembles=config), RUN_DIR, DEVICE, progress=not FAST)
config = run.preset.ensemble_study  # the preset fills in the size and the number of pairs
print(f"{config.members} members of {config.size} on {config.pairs:,} comparisons, "
      f"label noise {config.label_noise}, UWO lambda {config.uwo_lambda}")

# %% [markdown]
# ## 1. Three ways to combine k scores
#
# `ensemble.combine` takes the members' scores of the same samples, shape (members, ...),
# and returns one score per sample. Three members, four samples: in the first two they
# agree, in the last two one member is far more enthusiastic than the others.

# %%
toy = torch.tensor([[1.0, 0.0, 2.0, 3.0],
                    [1.0, 0.0, 0.5, 0.0],
                    [1.0, 0.0, 0.5, 0.2]])  # (members, samples)
for objective in OBJECTIVES:
    print(f"{objective:>4}: {combine(toy, objective, uwo_lambda=1.0).numpy().round(2)}")

# %% [markdown]
# Where the members agree, every objective returns their common score. Where one member
# is an outlier, the mean follows it part of the way, WCO ignores it and takes the most
# sceptical member, and UWO subtracts the variance: the fourth sample, the one with the
# largest disagreement, falls from first place under the mean to below zero.
#
# So a conservative objective helps exactly as much as the members disagree on the
# samples an optimizer would exploit. That is the question to ask of any ensemble before
# optimizing against it.
#
# ## 2. Where do the members disagree?
#
# The proxy's weakness in this world is praise (Tutorial 1): the hidden utility rewards the
# first two distinct praise words and punishes every one after them, but reviews with three
# or more are rare in the initial policy's samples. `studies.disagreement_rows` groups
# 2,048 pool samples by their number of praise words and compares the gold score, the
# members' mean score, and how much the members disagree (their standard deviation,
# averaged over the samples of a group). Every member is standardised on initial-policy
# samples, so all scores are in units of the initial policy's spread.

# %%
disagreement = studies.disagreement_rows([run])
print(report.disagreement_table(disagreement))

# %% [markdown]
# Read the last three columns together. Gold falls from two praise words on: gushing is
# worse than a plain review. The members' mean keeps *rising*: all of them learned "more
# praise is better" from the same comparisons. And their disagreement is *lowest* on the
# gushing reviews: over seeds 0–4 of the `tiny` preset, 0.09 on reviews with three or more
# praise words against 0.23 on reviews without praise (seed means, README, measured on
# 2026-12-06), lower at every one of the five seeds (the suite pins it). The members differ
# in their seed, not in their data, and the data say nothing about the tail; so they
# extrapolate the same way, confidently. This is Eisenstein et al.'s shared hack: no
# combination of the members can see a mistake that every member makes.
#
# It also predicts something worse than "no help" for UWO. The variance it subtracts is
# *smallest* on the gushing reviews, so at λ = 1 it charges the plain reviews more than the
# hack, and pushes best-of-n further into the tail than the plain mean.
#
# With label noise, the members disagree more everywhere (0.29 to 0.34 on average over seeds
# 0–4, on the draw of 2026-11-25, by an earlier release), the tail included: noisy labels
# make each member's fit noisier, and that disagreement is what UWO can use.
#
# ## 3. Best-of-n and PPO against each objective
#
# `studies.ensemble_rows` runs best-of-n against each member alone and against each
# objective, and PPO against member 0 alone and against each objective, at each noise
# level. "Gold lost" is the gold given back between the curve's peak and its end (n = N,
# or the last PPO step, smoothed over 3 steps): 0 means no overoptimization within the
# budget.

# %%
rows = studies.ensemble_rows([run])
print(report.ensembles_table(rows))
plots.plot_ensembles(seed_mean(rows, ENSEMBLE_CURVE), OUT / "07_ensembles.png")

# %% [markdown]
# On one seed, read this table as an anecdote. Over seeds 0–4 of the `tiny` preset (`minirmo
# ensembles --preset tiny --seeds 0 1 2 3 4`; the README's "Beyond the paper" section has
# the tables), no objective loses less gold than a member alone at every seed and noise
# level. On the draw of 2026-11-25, under best-of-n without noise, WCO did at 4 of 5 seeds
# (the fifth a seed where every member learned the hack and WCO lost more than they did) and
# UWO at λ = 1 never did (0 of 5), as section 2 predicted. On the draw of 2026-12-06, by a
# later release on another machine, WCO did at 3 of 5 and UWO at 4 of 5: the prediction held
# on one draw of five seeds and not on the next, so read it as a mechanism that can show,
# not a law. Under PPO without noise the conservative objectives do better at some seeds,
# not reliably (UWO at 3 of 5 on both draws). PPO wanders further from the initial policy
# than best-of-n, into places where the members do disagree.
#
# ## 4. What each objective picks
#
# The best-of-n winner of each objective for the first prompt, out of all N samples: its
# praise count and its gold score tell whether the ensemble saw through the hack.

# %%
world, pool = run.world, run.pool()  # pool: (prompts, N, seq_len)
first = pool[0]  # (N, seq_len): every sample for the first prompt
first_gold = run.gold().model.score(first)
scores = torch.stack([run.get(run.member_artefact(config.size, config.pairs, 0.0, k)).model
                      .score(first) for k in range(config.members)])  # (members, N)
for name, objective_scores in [("member 0", scores[0])] + [
        (o, combine(scores, o, config.uwo_lambda)) for o in OBJECTIVES]:
    best = int(objective_scores.argmax())
    words = world.tokenizer.decode(first[best])
    count = int(torch.isin(first[best, world.prompt_len:], world.praise_ids).sum())
    print(f"{name:>8}: gold {first_gold[best]:+.2f}, praise {count} | {words}")
print(f"figures in {OUT}/; ran in {time.time() - T0:.1f} s")

# %% [markdown]
# ## Exercises
#
# These build on the course's Tasks 2.2 (the unbiased best-of-n estimator) and 4.1 (the
# Bradley–Terry loss the members are trained with); `docs/teaching.md` lists every task.
#
# 1. **λ.** UWO's penalty is in units of the members' variance, which section 2 measured.
#    Rerun best-of-n for λ in 0.5, 2, 4, 8 (cheap: `combine` the cached member scores of the
#    pool and call `bon.bon_estimate`, as `runs.compute.ensemble_bon` does). Is there a λ
#    that stops the overoptimization at every seed? What does it cost at seeds where a single
#    member did not overoptimize?
# 2. **More diverse members.** Eisenstein et al. found members that differ in more than their
#    seed help more. Train each member on a different half of the comparisons
#    (`runs.compute.member` shows how: `reward.train_bradley_terry` on a fresh `RewardModel`,
#    given `comparisons.chosen[k::2]`, ...) and repeat section 2: does the
#    disagreement on gushing reviews grow?
# 3. **How much noise?** Add 0.1 and 0.4 to `label_noise`. Plot the gold lost by a single
#    member and by each objective against the noise level.
# 4. **A small KL penalty.** Coste et al. pair the conservative objectives with a small KL
#    penalty under PPO. Set `kl_coef=0.02` in the `EnsembleConfig` and compare the gold
#    lost by member 0 and by WCO.
