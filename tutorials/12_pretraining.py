# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Tutorial 12: Why pretraining changes the size law
#
# The paper's reward models are pretrained language models with a new scalar head. Before a
# proxy sees its first comparison, its size has already decided how much it knows: a larger
# model read the same internet and kept more of it, including the rarer things people say
# about what they like. Comparisons are the dear part of a reward model's data; pretraining
# text is cheap, plentiful, and full of people's judgments (reviews with their stars, replies
# that agree or object).
#
# minirmo's proxies in the `test` and `tiny` presets start from random weights. All they know
# comes from the comparisons, so once they have enough parameters to fit those, a larger one
# only has more room: in the `paper` preset's world on 8,000 comparisons, every proxy from
# about 1,000 parameters up stopped at the same test accuracy (0.84, seeds 0–2; the README's
# probe), and the size law went flat. `minirmo/pretrain.py` gives the toy the cheap part:
#
# * **the verdict corpus**: many more reviews than comparisons, each followed by a *verdict* its
#   reader left, a star rating from 1 to 5 drawn from the hidden utility plus noise. No gold
#   RM and no comparison is spent on it: it is what readers wrote, not what a labeller chose;
# * **pretraining**: each proxy size's backbone learns, on that corpus, to predict every next
#   word of a review (a language model) and the rating at its end. Then it is trained on the
#   gold-labelled comparisons as before.
#
# Here we take the smallest and the largest proxy size of a preset, each with and without
# pretraining, and compare what they know (test accuracy) and how best-of-n overoptimizes them.
#
# *As a notebook:* open `tutorials/12_pretraining.ipynb` (written by `minirmo handout`, or by
# `jupytext --to ipynb tutorials/12_pretraining.py`) in Jupyter, or upload it to Colab after
# `pip install -e .` of the project there. *Time on a laptop CPU:* the `tiny` preset's models
# from an empty run folder take minutes (Tutorial 3's, plus two pretrained backbones and four
# proxies); in the folder where Tutorial 3 ran, about a minute.

# %%
import os
import time
from dataclasses import replace
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch

from minirmo import fit
from minirmo.bon import bon_estimate
from minirmo.kl import bon_kl
from minirmo.pretrain import PretrainConfig, verdict_corpus
from minirmo.runs import studies
from minirmo.runs.presets import get_preset
from minirmo.runs.run import Run

FAST = os.environ.get("MINIRMO_FAST") == "1"  # the `test` preset: seconds with a warm cache
OUT = Path(os.environ.get("MINIRMO_OUT", "tutorial_out"))
OUT.mkdir(parents=True, exist_ok=True)
T0 = time.time()

# %% [markdown]
# ## Two runs that share everything but the proxies
#
# A `Run` caches every model under its folder by a key of everything that model depends on.
# The pretrained run is the same preset with `pretrain` set; the policy, the gold RM, the
# comparisons and the best-of-n pool do not depend on it, so both runs load the same ones,
# and only the proxies differ. (`MINIRMO_PRESET`, `MINIRMO_RUN_DIR` and `MINIRMO_DEVICE` work as
# in Tutorial 3.) The corpus is 100,000 reviews here (10,000 in fast mode), against the
# preset's 4,000 comparisons at most; none is pushed into a tail (`docs/presets.md` says why).

# %%
PRESET = "test" if FAST else os.environ.get("MINIRMO_PRESET", "tiny")
RUN_DIR = Path(os.environ.get("MINIRMO_RUN_DIR", f"runs/{PRESET}"))
DEVICE = os.environ.get("MINIRMO_DEVICE", "cpu")  # "cuda" on a GPU
preset = get_preset(PRESET)
PRETRAIN = preset.pretrain or PretrainConfig(texts=10_000 if FAST else 100_000,
                                             perturbed_fraction=0.0)
scratch = Run(replace(preset, pretrain=None), RUN_DIR, DEVICE, progress=not FAST)
pretrained = Run(replace(preset, pretrain=PRETRAIN), RUN_DIR, DEVICE, progress=not FAST)
SIZES = [preset.proxy_sizes[0], preset.proxy_sizes[-1]]
PAIRS = preset.proxy_data[-1:] if FAST else preset.proxy_data  # fast: the most only
print(f"preset {PRESET!r}: proxy sizes {[s.n_embd for s in SIZES]} wide, comparisons {PAIRS}, "
      f"verdict corpus {PRETRAIN.texts:,} reviews")

# %% [markdown]
# ## The readers' verdicts
#
# A verdict is the review's utility plus Gaussian noise of one utility standard deviation, cut
# into five equally common grades. How much does one verdict say about the utility? Less than
# a gold label says about a pair: the correlation of grade and utility is well below 1. What
# the corpus has is *volume*.

# %%
corpus = verdict_corpus(scratch.world, PRETRAIN, torch.Generator().manual_seed(0))
utility = scratch.world.utility(corpus["texts"])  # (texts,)
ratings = corpus["ratings"].float()  # (texts,) grades 0..4
correlation = torch.corrcoef(torch.stack([ratings, utility]))[0, 1]
print(f"correlation of rating and utility: {correlation:.2f}")
for row in range(4):
    text = scratch.world.tokenizer.decode(corpus["texts"][row].tolist())
    print(f"{int(ratings[row]) + 1} stars (utility {utility[row]:+.1f}): {text}")

# %% [markdown]
# ## What each proxy knows
#
# Test accuracy on the run's 2,000 held-out comparisons (the same pairs for every proxy). The
# first call to `pretrained.proxy(...)` pretrains that size's backbone on the verdict corpus
# (one per size, shared by all its numbers of comparisons), then trains it on the comparisons.

# %%
rows = []
for size in SIZES:
    for pairs in PAIRS:
        for name, run in (("scratch", scratch), ("pretrained", pretrained)):
            rows.append({"size": size, "params": run.proxy(size, pairs).model.n_params,
                         "pairs": pairs, "start": name,
                         "test_acc": run.proxy_test(size, pairs)["accuracy"]})
print(f"{'params':>9} {'pairs':>6} {'from scratch':>12} {'pretrained':>10}")
for size in SIZES:
    for pairs in PAIRS:
        acc = {r["start"]: r["test_acc"] for r in rows if r["size"] == size and r["pairs"] == pairs}
        params = next(r["params"] for r in rows if r["size"] == size)
        print(f"{params:>9,} {pairs:>6,} {acc['scratch']:>12.3f} {acc['pretrained']:>10.3f}")

# %% [markdown]
# ## How each is overoptimized
#
# Best-of-n on the shared pool (one per prompt, N samples of the initial policy), scored by
# each proxy on the preset's most comparisons and by the gold RM, against d = sqrt(KL) with the
# analytic best-of-n KL. We fit the paper's form gold(d) = d(α − βd) to each curve: α is how
# fast gold rises at first, β how hard it turns down, d* = α/2β where it peaks.

# %%
pool = scratch.pool()  # (prompts, N, seq_len)
gold_scores = scratch.pool_gold()  # (prompts, N), scored once with the pool and cached
if FAST:  # a quarter of the pool: scoring it with four proxies is most of this cell's time
    pool, gold_scores = pool[:, :1024], gold_scores[:, :1024]
ns = studies.log_spaced_ns(pool.shape[1])
d = np.sqrt(bon_kl(np.array(ns)))
curves, params = {}, {}
print(f"{'params':>9} {'start':>10} {'alpha':>6} {'beta':>6} {'d*':>5} {'gold peak':>9} "
      f"{'gold at N':>9}")
for k, size in enumerate(SIZES):
    for name, run in (("scratch", scratch), ("pretrained", pretrained)):
        rm = run.proxy(size, PAIRS[-1]).model
        _, gold = bon_estimate(rm.score(pool), gold_scores, ns)  # (len(ns),)
        curves[k, name], params[k] = gold.numpy(), rm.n_params
        alpha, beta = fit.fit_bon(d, curves[k, name])
        d_peak, _ = fit.bon_peak(alpha, beta)
        print(f"{rm.n_params:>9,} {name:>10} {alpha:6.3f} {beta:6.3f} {d_peak:5.2f} "
              f"{gold.max():>+9.2f} {gold[-1]:>+9.2f}")

fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
for k, ax in enumerate(axes):
    for name, style in (("scratch", "--"), ("pretrained", "-")):
        ax.plot(d, curves[k, name], style, marker="o", ms=3, label=name)
    ax.axhline(0, color="grey", lw=0.5)
    ax.set_title(f"proxy of {params[k]:,} params, {PAIRS[-1]:,} comparisons")
    ax.set_xlabel("d = sqrt(KL), best-of-n")
    ax.legend()
axes[0].set_ylabel("gold score")
fig.tight_layout()
fig.savefig(OUT / "12_pretraining_bon.png", dpi=120)
plt.close(fig)
print(f"figure in {OUT}/; ran in {time.time() - T0:.1f} s")

# %% [markdown]
# ## Reading the two tables
#
# Pretraining changes *where a proxy's knowledge comes from*. From scratch, every feature a
# proxy uses must be found in its comparisons, and a comparison is one bit about two reviews:
# once a proxy is large enough to fit those bits, more parameters only add room. Pretrained,
# the backbone first reads tens of times more reviews, each with a (noisy) verdict, and keeps
# as much of that as its size allows: the common signals (praise pays, complaints cost) fit in
# any size, the rarer ones (a phrase the reader likes, the limit past which praise turns
# suspicious) only in a larger one. The comparisons then mostly have to say *which* of the
# features it already holds the gold RM rewards. So a larger pretrained proxy knows more, the
# way a larger language model knows more rare facts, and it is harder to overoptimize: a
# smaller β, a later peak.
#
# Three cautions when you read your numbers. The verdicts are about the *utility*, which the
# gold RM only approximates, so a pretrained proxy also learns some things the gold does not
# reward. A small backbone pays for its language model with capacity the rating needed, so
# pretraining can cost the smallest size a little. And on the `test` and `tiny` presets (one
# trap, no taste in phrasing, at most 4,000 comparisons) the gap between the sizes is smaller
# than in the `paper` preset's graded world, whose reader has a long tail of tastes for a
# larger model to learn. `docs/presets.md` gives that world's probes and a full run with
# pretrained proxies over three seeds: test accuracy then rose with size across all eight
# sizes, but α and β did not follow a law by that alone.

# %% [markdown]
# ## Exercises
#
# 1. **Noisier readers (Task 4.1).** Pretrain with `verdict_noise=3.0` instead of 1.0
#    (`replace(PRETRAIN, verdict_noise=3.0)`) and rebuild the table of test accuracies. Which
#    size loses more of what pretraining gave it, and why would a noisier corpus need more
#    texts to say the same?
# 2. **A corpus with tails (Task 2.2).** Pretrain with `perturbed_fraction=0.3`: three reviews
#    in ten are pushed into a tail (`World.perturb`: gushing, spam, truncation) before their
#    readers rate them. How do the largest proxy's test accuracy and its best-of-n curve move?
#    Read the best-of-N samples with `World.fell_into` (only the traps this world's utility
#    holds count: `("gushing", *world.config.extra_traps)`). Why should a corpus that shows its
#    readers the tails make every size harder to overoptimize, and what would that do to the
#    differences *between* sizes that a size law needs?
