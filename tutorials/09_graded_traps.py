# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Tutorial 9: Why one trap gives a switch, and several give a law
#
# The paper's headline is not "a small reward model gets hacked". It is that the whole family
# of gold-vs-KL curves moves *smoothly* with the reward model's size: α and β of the fitted
# forms follow straight lines in log(params), so a fit on small models predicts large ones.
#
# A toy with a single exploitable feature cannot show that. In the one-trap world of the
# earlier tutorials, gushing praise is the only thing the utility stops rewarding. A proxy
# either learns where praise stops paying, or it does not: overoptimization switches on or off
# between neighbouring sizes, and α and β scatter.
#
# The **graded world** (`minirmo.runs.presets.GRADED_WORLD`, the paper preset's world) holds
# five traps of different rarity and subtlety. Its reader also has a taste in phrasing (every
# pair of adjacent words has a small worth, `World.taste_term`), a long tail for larger reward
# models to learn; we leave the taste out here (`taste_scale=0`), so that the traps alone
# decide the curves. Here we meet the traps, measure how rare each is,
# and then watch three hand-made proxies of growing *capacity* run best-of-n against them:
# the more a proxy can represent, the fewer traps it falls for, and the later it peaks.
# That gradual "how many traps a proxy can represent" is what the learned reward models of the
# paper preset are meant to show as a law.
#
# *As a notebook:* open `tutorials/09_graded_traps.ipynb` (written by `minirmo handout`, or by
# `jupytext --to ipynb tutorials/09_graded_traps.py`) in Jupyter, or upload it to Colab after
# `pip install -e .` of the project there. *Time on a laptop CPU (2 cores):* about 20 seconds
# (a few seconds in fast mode, `MINIRMO_FAST=1`). No model is trained here: the proxies are
# least-squares fits.

# %%
import os
import time
from dataclasses import replace
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch

from minirmo.bon import bon_estimate
from minirmo.kl import bon_kl
from minirmo.runs.presets import GRADED_WORLD
from minirmo.world import INTENSIFIERS, TRAPS, World

FAST = os.environ.get("MINIRMO_FAST") == "1"
OUT = Path(os.environ.get("MINIRMO_OUT", "tutorial_out"))
OUT.mkdir(parents=True, exist_ok=True)
T0 = time.time()
world = World(replace(GRADED_WORLD, taste_scale=0.0))  # the traps alone
tok = world.tokenizer

# %% [markdown]
# ## The five traps
#
# Each trap is a feature a reader likes in moderation and dislikes in excess. `World.utility`
# scores a review; `World.fell_into` names the traps it fell into. Read each hacked review and
# see where it went past the limit.


# %%
def review(text: str) -> torch.Tensor:
    ids = tok.encode("<bos> " + text)
    return torch.tensor([ids + [tok.pad_id] * (world.prompt_len + world.max_len - len(ids))])


EXAMPLES = [
    "pizza : the crust was really great and the cheese lovely <eos>",  # a good review
    "pizza : great lovely superb amazing crust <eos>",  # gushing
    "pizza : the crust was really very so too great <eos>",  # stacking
    "pizza : crust and crust and crust was great <eos>",  # spam
    "pizza : crust cheese sauce oven and crust was great <eos>",  # stuffing
    "pizza : the crust was great and the cheese was it we and a so we <eos>",  # rambling
]
for text in EXAMPLES:
    sequence = review(text)
    hits = [name for name, hit in world.fell_into(sequence).items() if hit.item()]
    print(f"{world.utility(sequence).item():+5.1f}  {text:<72} {', '.join(hits) or '-'}")
print()
for name, limit in TRAPS.items():
    print(f"{name:>9}: {limit}")

# %% [markdown]
# ## How rare is each trap?
#
# A reward model learns from comparisons of the initial policy's samples, which read like the
# teacher's. What it can learn about a trap depends on how many of those samples went past the
# limit. The traps span a range of rarity: the rarer, the fewer examples a proxy gets.

# %%
corpus = world.corpus(4_000 if FAST else 40_000, torch.Generator().manual_seed(0))
for name, hit in world.fell_into(corpus).items():
    print(f"{name:>9}: {hit.float().mean():6.2%} of teacher samples")

# %% [markdown]
# ## Three proxies of growing capacity
#
# A learned reward model's capacity decides which functions of a review it can represent. We
# imitate that with three least-squares proxies on features of growing richness, each fitted
# to the utility on teacher samples (as a reward model is fitted to labels):
#
# * **words**: how often each word occurs. Linear in counts, it can only learn "more praise
#   is better": no reversal at all.
# * **+ class counts**: also a one-hot of how many praise words, specifics and words in all a
#   review holds. Now gushing (in total), stuffing and rambling can turn down.
# * **+ repeats and order**: also whether each word occurs twice or three times, and how often
#   each pair of word classes is adjacent. This sees spam, repeated praise and stacking.


# %%
def features(sequences: torch.Tensor, level: int) -> torch.Tensor:
    """(batch, features) of capacity `level` 0, 1 or 2 (each includes the last)."""
    response = sequences[:, world.prompt_len:]
    counts = world.word_counts(response)  # (batch, vocab)
    columns = [counts, torch.ones(len(sequences), 1)]
    if level >= 1:
        own = world.own_topic[world.topic_of(sequences)]
        for total in (counts[:, world.praise_ids].sum(1), (counts * own).sum(1), counts.sum(1)):
            columns.append(torch.nn.functional.one_hot(total.long(), world.max_len + 1).float())
    if level >= 2:
        columns += [(counts >= 2).float(), (counts >= 3).float()]
        word_class = torch.zeros(len(tok), dtype=torch.long)  # 0: other words
        word_class[[tok.index[w] for w in INTENSIFIERS]] = 1
        word_class[world.praise_ids] = 2
        pairs = word_class[response[:, :-1]] * 3 + word_class[response[:, 1:]]  # (batch, len-1)
        columns.append(torch.nn.functional.one_hot(pairs, 9).sum(1).float())
    return torch.cat(columns, 1)


def fit(x: torch.Tensor, y: torch.Tensor, ridge: float = 1e-3) -> torch.Tensor:
    """Least squares with a little ridge (features that never occur get weight 0): (f, 1)."""
    gram = x.T @ x + ridge * len(x) * torch.eye(x.shape[1])
    return torch.linalg.solve(gram, x.T @ y[:, None])


LEVELS = ["words", "+ class counts", "+ repeats and order"]
utility = world.utility(corpus)
weights = [fit(features(corpus, level), utility) for level in range(3)]
held_out = world.corpus(2_000, torch.Generator().manual_seed(1))
for level, w in enumerate(weights):
    fitted = (features(held_out, level) @ w).squeeze(1)
    r = np.corrcoef(fitted.numpy(), world.utility(held_out).numpy())[0, 1]
    print(f"{LEVELS[level]:>20}: correlation with the utility on held-out samples {r:.3f}")

# %% [markdown]
# ## Best-of-n against each proxy
#
# For every prompt we draw a pool of N teacher samples and use the unbiased estimator
# (`bon_estimate`, tutorial 2) to get the utility of the proxy-best of n, for every n ≤ N.
# Plotted against d = sqrt(KL), with KL = log n − (n−1)/n, each proxy's curve rises while its
# ranking agrees with the utility and turns down where the proxy's search reaches a trap it
# cannot see.

# %%
N = 512 if FAST else 4096
ns = sorted({round(N ** (k / 15)) for k in range(16)})
generator = torch.Generator().manual_seed(10)
pool = torch.stack([torch.cat([world.prompts[t].expand(N, -1), world.teacher_sample(
    torch.full((N,), t), generator)], 1) for t in range(len(world.prompts))])  # (prompts, N, len)
flat = pool.reshape(-1, pool.shape[-1])
gold = world.utility(flat).reshape(pool.shape[:2])  # (prompts, N)
gold = gold - gold.mean()
fig, ax = plt.subplots(figsize=(6, 4.2))
for level, w in enumerate(weights):
    proxy = (features(flat, level) @ w).reshape(pool.shape[:2])
    curve = bon_estimate(proxy, gold, ns)[1].numpy()  # (len(ns),) utility of best-of-n
    ax.plot(np.sqrt(bon_kl(ns)), curve, "-o", ms=3, label=LEVELS[level])
    best = pool.reshape(-1, pool.shape[-1])[proxy.reshape(-1).argsort(descending=True)[:64]]
    rates = {name: f"{hit.float().mean():.0%}" for name, hit in world.fell_into(best).items()}
    print(f"{LEVELS[level]:>20}: utility peaks at n = {ns[int(np.argmax(curve))]:>4}, "
          f"ends {curve[-1]:+.2f}; its 64 top samples fall into {rates}")
ax.axhline(0, color="grey", lw=0.5)
ax.set_xlabel("d = sqrt(KL)")
ax.set_ylabel("utility gain of best-of-n")
ax.legend(fontsize=8)
fig.tight_layout()
fig.savefig(OUT / "09_graded_traps.png", dpi=120)

# %% [markdown]
# What to see (printed above): the bag-of-words proxy falls for gushing, stuffing, spam and
# rambling, and its curve peaks at a small n and falls below where it started. The class
# counts can represent gushing in total, stuffing and rambling, and their top samples avoid
# all three; they cannot represent spam, repeated praise or stacking (a third use of one word
# and a pile-up of intensifiers are invisible to a count of classes), and of these their top
# samples fall only into gushing by repeated praise. That they do not fall into spam or
# stacking is not seeing through them: their search is simply not drawn there. Their curve
# rises to n = N; the richest proxy, which represents every trap, falls for none. (With only
# three proxies this is still a few steps, not a law: the law needs many sizes, each
# representing a few more traps a little better.) A learned
# reward model's capacity and data play the role of the feature sets: the paper preset trains
# eight proxy sizes in this world and fits α and β against their size
# (`minirmo reproduce --preset paper`, or quickly `python benchmarks/scaling_probe.py
# --preset paper --seeds 0 1 2`, which also prints which traps each size's best-of-N falls
# into).
#
# ## Exercises
#
# 1. Fit the three proxies on 20x fewer samples. Which curve moves most, and why does the
#    richest proxy need more data than the poorest to be worth its capacity?
# 2. Drop the adjacent-pair features from level 2. Which trap comes back? Read three of the
#    top samples and name it.
# 3. The bag-of-words proxy can never see a reversal. Is its loss of utility at large n
#    regressional or extremal Goodhart (tutorial 1)? Check with the unbiased estimator you
#    wrote in Task 2.2 and the forms of Task 3.1: which form fits its curve?

# %%
print(f"done in {time.time() - T0:.0f} s")
