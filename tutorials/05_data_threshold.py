# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Tutorial 5: the data threshold
#
# One of the paper's starkest findings is a threshold on the data axis (its Figure 6). With
# fewer than about **2,000 comparisons**, every RM size it tried stayed near chance: the
# validation loss sat at about ln 2 = 0.693, the loss of a model that says 50/50 to every
# pair, and optimizing against such an RM gained little gold score. Above the threshold
# every size improved with more data. (For scale: 0.686 at 2k against 0.655 at 8k. Human
# preferences are noisy, so even good RMs stay close to chance in loss.)
#
# Why would there be a threshold at all, rather than a smooth improvement? The paper does not
# settle it, and its reward models do not start from scratch: each is a pretrained language
# model with a new scalar head, so it already holds many features of a response and must
# learn from the comparisons *which* of them matter. One reading: with few comparisons, the
# handful of informative features are buried among thousands of others that fit the training
# pairs just as well, and the model memorizes instead of generalizing: training loss falls,
# validation loss stays at ln 2. Past some amount of data the informative features win, and
# only then does more data pay. minirmo's proxies, unlike the paper's, start from random
# weights in every shipped preset (a small transformer with no pretraining, unless a preset
# sets `pretrain`), so they must build their features from the comparisons too; keep that
# difference in mind when you compare the two thresholds.
#
# Here we measure the same curve for minirmo's proxies, and ask what the threshold looks
# like in a world that is much simpler, and much less noisy, than human preferences.
#
# *As a notebook:* open `tutorials/05_data_threshold.ipynb` (written by `minirmo handout`, or by
# `jupytext --to ipynb tutorials/05_data_threshold.py`) in Jupyter, or upload it to Colab after
# `pip install -e .` of the project there. *Time on a laptop CPU (2 cores):* 31 s after
# Tutorials 3 and 4 in the same run folder (measured 2026-11-25, before the `tiny` preset moved
# to 1,000/4,000 comparisons: six small proxies on 250 and 500 pairs); from an empty folder add
# theirs.

# %%
import math
import os
import time
from pathlib import Path

import matplotlib.pyplot as plt

from minirmo import plots
from minirmo.bon import bon_estimate
from minirmo.reward import RewardModel
from minirmo.runs import studies
from minirmo.runs.presets import get_preset
from minirmo.runs.run import Run

FAST = os.environ.get("MINIRMO_FAST") == "1"  # the `test` preset: seconds with a warm cache
OUT = Path(os.environ.get("MINIRMO_OUT", "tutorial_out"))
OUT.mkdir(parents=True, exist_ok=True)
T0 = time.time()
LN2 = math.log(2)

# %% [markdown]
# ## The run, and a few more small data sizes
#
# `studies.rm_rows([run])` lists the gold RM and every proxy of the preset's grid with two
# held-out measures. `val_loss` and `val_acc` are on the 10% of the proxy's own comparisons held
# out from its training: 25 pairs when it had 250, too few to tell 0.69 from 0.65. `test_loss`
# and `test_acc` are on the run's *test comparisons* (`run.test_comparisons()`): 2,000 more
# pairs drawn and labelled the same way, on which no proxy trained, the same for every proxy
# (`run.proxy_test(size, pairs)` gives one proxy's).
# We use those. The `paper` preset's grid already spans 250 to 32,000 comparisons. The `test`
# and `tiny` presets only have two data sizes (1,000 and 4,000), so we also train each proxy
# size on 250 and 500: `run.proxy(size, pairs)` takes any number of pairs, and caches the
# result like every other model. (`MINIRMO_PRESET`, `MINIRMO_RUN_DIR` and `MINIRMO_DEVICE`
# choose the preset, the folder and the device as in Tutorial 3: `cuda` on a GPU.)

# %%
PRESET = "test" if FAST else os.environ.get("MINIRMO_PRESET", "tiny")  # "paper": 50 min (3 seeds)
RUN_DIR = Path(os.environ.get("MINIRMO_RUN_DIR", f"runs/{PRESET}"))
DEVICE = os.environ.get("MINIRMO_DEVICE", "cpu")  # "cuda" on a GPU
run = Run(get_preset(PRESET), RUN_DIR, DEVICE, progress=not FAST)
rows = [r for r in studies.rm_rows([run]) if r["rm"] == "proxy"]
EXTRA = [n for n in (250, 500) if n not in run.preset.proxy_data]
for size in run.preset.proxy_sizes:
    for pairs in EXTRA:
        test = run.proxy_test(size, pairs)  # trains the proxy if needed, then tests it
        rows.append({"rm": "proxy", "rm_params": run.proxy(size, pairs).model.n_params,
                     "rm_data": pairs, "test_loss": test["loss"], "test_acc": test["accuracy"]})
rows.sort(key=lambda r: (r["rm_params"], r["rm_data"]))
DATA = sorted({r["rm_data"] for r in rows})
SIZES = sorted({r["rm_params"] for r in rows})
print(f"preset {PRESET!r}: {len(SIZES)} proxy sizes x {len(DATA)} data sizes: "
      f"{', '.join(f'{n:,}' for n in DATA)} comparisons")

# %% [markdown]
# ## Test loss and accuracy against data
#
# A held-out set of k pairs measures accuracy with a standard error of about 0.5/sqrt(k)
# around chance. So "better than chance" needs a margin: we call a proxy *above chance*
# when its accuracy beats 50% by two standard errors, 0.5 + 1/sqrt(k). With the k = 2,000
# test pairs that bar is 52.2%; with a tenth of 250 pairs it would be 70%.

# %%
bar = 0.5 + 1 / math.sqrt(run.preset.test_pairs)
print(f"{'params':>9} {'pairs':>6} {'test loss':>9} {'- ln 2':>7} {'test acc':>8}  (chance+2se "
      f"{bar:.3f})")
for r in rows:
    r["above_chance"] = r["test_acc"] > bar
    print(f"{r['rm_params']:>9,} {r['rm_data']:>6,} {r['test_loss']:>9.3f} "
          f"{r['test_loss'] - LN2:>+7.3f} {r['test_acc']:>8.3f}"
          f"{'' if r['above_chance'] else '   <- not above chance'}")

# %% [markdown]
# Where is the threshold? For each size, the smallest data size from which on every proxy
# is above chance, and the test loss just below and at it.

# %%
for params in SIZES:
    curve = [r for r in rows if r["rm_params"] == params]
    ok = [r["above_chance"] for r in curve]
    first = next((i for i in range(len(curve)) if all(ok[i:])), None)
    if first is None:
        print(f"{params:>9,} params: never reliably above chance on this grid")
    elif first == 0:
        print(f"{params:>9,} params: above chance already at {curve[0]['rm_data']:,} "
              f"comparisons (test loss {curve[0]['test_loss']:.3f}); any threshold lies lower")
    else:
        below, at = curve[first - 1], curve[first]
        print(f"{params:>9,} params: threshold between {below['rm_data']:,} and "
              f"{at['rm_data']:,} comparisons (test loss {below['test_loss']:.3f} -> "
              f"{at['test_loss']:.3f})")

plots.plot_rm_loss_vs_data(rows, OUT / "05_fig6_rm_loss_vs_data.png")

# %% [markdown]
# ## Does it show up in the gold score?
#
# The paper saw the threshold again in the gold score after optimization (its Figure 21):
# a near-chance RM gives the optimizer nothing to climb. We score the best-of-n pool with
# every proxy, including the extra small-data ones, and read off the gold of best-of-n at
# a moderate n and at the gold peak. We call `bon_estimate` directly here (rather than
# `studies.bon_rows`, which writes the run's `bon.csv` for its own grid).

# %%
pool = run.pool()  # (prompts, N, seq_len) initial-policy samples
gold_scores = run.pool_gold()  # (prompts, N), scored once with the pool and cached
if FAST:  # a quarter of the pool: scoring it with every proxy is most of this cell's time
    pool, gold_scores = pool[:, :1024], gold_scores[:, :1024]
N_MID = 16  # a moderate amount of optimization: KL = log 16 - 15/16 = 1.8 nats
ns = sorted(set(studies.log_spaced_ns(pool.shape[1])) | {N_MID})
size_of = {RewardModel(run.world, s).n_params: s for s in run.preset.proxy_sizes}
for r in rows:
    proxy_scores = run.proxy(size_of[r["rm_params"]], r["rm_data"]).model.score(pool)
    _, gold = bon_estimate(proxy_scores, gold_scores, ns)
    r["gold_mid"] = float(gold[ns.index(N_MID)])
    r["gold_peak"] = float(gold.max())
print(f"{'params':>9} {'pairs':>6} {'test acc':>8} {f'gold n={N_MID}':>10} {'gold peak':>9}")
for r in rows:
    print(f"{r['rm_params']:>9,} {r['rm_data']:>6,} {r['test_acc']:>8.3f} {r['gold_mid']:>+10.2f} "
          f"{r['gold_peak']:>+9.2f}")

colours = plots.size_colours(SIZES)
fig, ax = plt.subplots(figsize=(5.5, 4))
for params in SIZES:
    curve = [r for r in rows if r["rm_params"] == params]
    ax.plot([r["rm_data"] for r in curve], [r["gold_peak"] for r in curve], "-o",
            color=colours[params], label=f"{params:,} params")
ax.axhline(0, color="grey", lw=0.5)
ax.set_xscale("log")
ax.set_xlabel("comparisons the proxy was trained on")
ax.set_ylabel("best-of-n gold score at its peak")
ax.legend(fontsize=8)
fig.tight_layout()
fig.savefig(OUT / "05_gold_peak_vs_data.png", dpi=120)
plt.close(fig)
print(f"figures in {OUT}/; ran in {time.time() - T0:.1f} s")

# %% [markdown]
# ## Why the threshold is lower here
#
# Compare your table with the paper's 0.686 → 0.655. minirmo's proxies learn from far fewer
# comparisons, and reach far lower losses, for three reasons worth naming:
#
# * **The labels are clean.** The gold RM labels every pair deterministically (the higher
#   gold score wins). Human labellers disagree with each other on a large share of pairs,
#   which keeps even a perfect RM's loss close to ln 2 and makes the signal much harder to
#   find in a small sample.
# * **The world is small.** Responses are 16 tokens from a vocabulary of 76 tokens (mostly
#   words), and most of the gold score is explained by a few countable features (praise,
#   complaints, topic words, finishing with `<eos>`). A tiny transformer finds them quickly.
# * **The models are small.** Fewer parameters means fewer spurious ways to fit a handful of
#   pairs.
#
# The *shape* is what transfers: a region where more data buys almost nothing, then a
# region where it pays. If the smallest data size here is already above chance, the
# threshold of this world lies below it, and Exercise 1 finds it.

# %% [markdown]
# ## Exercises
#
# These build on the course's Task 4.1 (the Bradley–Terry loss: validation loss ln 2 is
# chance) and 2.2 (best-of-n); `docs/teaching.md` lists every task.
#
# 1. **Find the threshold (Task 4.1).** Train the smallest proxy on 50, 100, 150 and 200
#    comparisons (`run.proxy(size, pairs)`) and locate the data size where test accuracy
#    leaves chance. Then compare each proxy's `val_acc` (a tenth of its own pairs) with its
#    `test_acc`: how far apart are they at 100 pairs, and what standard error explains it?
# 2. **Noisier labels, higher threshold? (Task 4.1)** Human labels are noisy. Make a preset with
#    `dataclasses.replace(get_preset("test"), label_noise=0.25)` and repeat the table. Does the
#    threshold move up, and does the test loss at the most data move toward ln 2?
# 3. **Epochs are not data (Task 4.1).** With `proxy_train=BTConfig(epochs=8)`, does a proxy on
#    500 comparisons catch up with the default one on 2,000? Compare training loss
#    (`run.proxy(...)[1]["train_loss"]`) with test loss: what is the gap telling you?
