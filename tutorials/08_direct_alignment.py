# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Tutorial 8: direct alignment, overoptimization without a reward model
#
# Everything so far had two stages: fit a proxy reward model to comparisons, then optimize
# the policy against it (best-of-n or PPO). The proxy is where Goodhart lives: it is wrong
# where its data were thin, and optimization finds those places. So what if there were no
# proxy?
#
# **Direct preference optimization** (DPO, Rafailov et al. 2023) trains the policy on the
# comparisons themselves. The trick: for "maximize r minus β·KL(π ‖ π_ref)" the best policy
# is known, π*(y) ∝ π_ref(y)·exp(r(y)/β). Turn it around and every policy π *defines* the
# reward it would be the answer for,
#
#     r_π(y) = β · log π(y)/π_ref(y)        (the implicit reward),
#
# and the Bradley–Terry loss that trains a reward model (Tutorial 11, section 1) becomes a
# loss on the policy: −log σ(β·(Δ_chosen − Δ_rejected)), with Δ = log π(y) − log π_ref(y). No
# reward model, no sampling during training, no PPO. IPO (Azar et al. 2023) swaps the
# logistic loss for a regression of the margin Δ_c − Δ_r onto 1/(2β).
#
# Rafailov et al. (NeurIPS 2024, "Scaling laws for reward model overoptimization in direct
# alignment algorithms") asked whether this escapes overoptimization. It does not:
#
# 1. gold against d = sqrt(KL) rises and then falls, following the RL form d(α − β log d)
#    better than a quadratic;
# 2. a smaller β (a weaker pull to the reference) spends more KL and overoptimizes more;
# 3. gold often peaks early, within the first epoch;
# 4. the implicit reward's accuracy on held-out preferences does not predict gold.
#
# The implicit reward *is* a reward model learned from finite data, and the policy
# optimizes it in the same gradient step. This tutorial checks the four claims in the toy.
#
# *As a notebook:* open `tutorials/08_direct_alignment.ipynb` (written by `minirmo handout`,
# or by `jupytext --to ipynb tutorials/08_direct_alignment.py`) in Jupyter, or upload it to
# Colab after `pip install -e .` of the project there. *Time on a laptop CPU (2 cores):*
# about 3.5 minutes from an empty folder on the `tiny` preset at one seed (measured for
# `minirmo dpo --preset tiny --seed 0`, the same work: six DPO/IPO runs of ~15 s, plus the
# policy, the gold RM, and the best-of-n and PPO runs drawn beside them), seconds once they
# are cached (after Tutorials 3–6 or `minirmo dpo` in the same run folder).

# %%
import math
import os
import time
from pathlib import Path

import numpy as np
import torch

from minirmo import analysis, plots
from minirmo.dpo import dpo_loss, ipo_loss
from minirmo.runs import studies
from minirmo.runs.presets import get_preset
from minirmo.runs.run import Run

FAST = os.environ.get("MINIRMO_FAST") == "1"  # the `test` preset: seconds with a warm cache
OUT = Path(os.environ.get("MINIRMO_OUT", "tutorial_out"))
OUT.mkdir(parents=True, exist_ok=True)
T0 = time.time()

# %% [markdown]
# ## 1. The loss in a few lines
#
# `minirmo/dpo.py` holds both losses. Each takes the log-ratios of the chosen and the
# rejected response of every pair and β. At the start the policy *is* the reference, every
# log-ratio is 0, and DPO's loss is ln 2: the implicit reward says 50/50 to every pair.

# %%
zeros = torch.zeros(4)
print(f"DPO at the reference: {dpo_loss(zeros, zeros, 0.1):.4f} (ln 2 = {math.log(2):.4f})")
for margin in (1.0, 5.0, 20.0, 100.0):
    chosen = torch.tensor([margin], requires_grad=True)
    loss = dpo_loss(chosen, torch.zeros(1), beta=0.01)
    loss.backward()
    print(f"beta 0.01, margin {margin:>5}: DPO loss {loss.item():.4f}, "
          f"d loss / d log-ratio(chosen) = {chosen.grad.item():+.5f}")
print(f"IPO at beta 0.01: its loss is 0 only at margin 1/(2 beta) = {1 / (2 * 0.01):g}: "
      f"{ipo_loss(torch.tensor([50.0]), torch.zeros(1), 0.01).item():.1f}")

# %% [markdown]
# Read the gradient column. However large the margin already is, DPO still pushes the
# chosen log-ratio up: the loss approaches 0 but never says "enough". With a small β the
# loss only flattens once β·margin is several units, i.e. a log-ratio margin of hundreds of
# nats at β = 0.01. And since Adam rescales every gradient to a similar step size, a small
# gradient is no brake either. The only thing that holds the policy near the reference is
# that the data stop disagreeing with it. IPO at least names a target margin (1/(2β)) and
# pulls back past it, but at small β that target is far away too.
#
# ## 2. The run: DPO and IPO at several β, on the proxies' comparisons
#
# `run.dpo(loss, beta, pairs)` trains a copy of the initial (SFT) policy on the first
# `pairs` gold-labelled comparisons, exactly the data the proxy RMs learn from, and
# returns one record per checkpoint: the sampled KL(π ‖ π_init) and the mean gold score of
# fresh samples, and the implicit reward's accuracy on held-out comparisons.
# `studies.dpo_rows` does this for every loss and β of the preset (`dpo_losses`,
# `dpo_betas`), and `studies.dpo_frontier_rows` gives best-of-n and PPO against the
# largest proxy trained on the same comparisons, to draw them side by side.
# (`MINIRMO_PRESET`, `MINIRMO_RUN_DIR` and `MINIRMO_DEVICE` choose the preset, the folder and
# the device as in Tutorial 3: `cuda` on a GPU.)

# %%
PRESET = "test" if FAST else os.environ.get("MINIRMO_PRESET", "tiny")
RUN_DIR = Path(os.environ.get("MINIRMO_RUN_DIR", f"runs/{PRESET}"))
DEVICE = os.environ.get("MINIRMO_DEVICE", "cpu")  # "cuda" on a GPU
run = Run(get_preset(PRESET), RUN_DIR, DEVICE, progress=not FAST)
rows = studies.dpo_rows([run])
frontier = studies.dpo_frontier_rows([run])
curves = analysis.group(rows, "loss", "beta")
BETAS = run.preset.dpo_betas
print(f"{len(rows)} checkpoints: losses {run.preset.dpo_losses}, betas {BETAS}, on "
      f"{rows[0]['rm_data']:,} comparisons")
small = curves["dpo", BETAS[0]]
print(f"\nDPO at beta {BETAS[0]:g}:")
print(f"{'step':>5} {'epoch':>6} {'KL':>6} {'gold':>6} {'implicit acc':>12} {'train loss':>10}")
for r in small:
    print(f"{r['step']:>5} {r['epoch']:>6.2f} {r['kl']:>6.2f} {r['gold']:>+6.2f} "
          f"{r['implicit_acc']:>12.1%} {r['train_loss']:>10.4f}")

# %% [markdown]
# Follow the `gold` and `train loss` columns down. The training loss falls at every
# checkpoint, as it should. The gold score rises, peaks, and falls back: the policy keeps
# fitting the comparisons while getting worse by the measure the comparisons came from. That
# is overoptimization with no reward model in sight.
#
# ## 3. Gold against KL, beside best-of-n and PPO
#
# The figure draws every loss and β on the paper's axis, with the RL form fitted through
# each curve, and best-of-n (grey) and PPO (black, dotted) against the proxy trained on the
# same comparisons. The bottom row draws gold and the implicit accuracy against epochs.

# %%
fits = analysis.dpo_fit_rows(rows)
plots.plot_dpo(analysis.dpo_seed_mean(rows), fits, analysis.seed_mean(frontier),
               OUT / "08_direct_alignment.png")
print(f"{'loss':>4} {'beta':>5} {'most KL':>7} {'peak gold':>9} {'at epoch':>8} {'gold end':>8}"
      f" {'R2 RL form':>10} {'R2 quadratic':>12}")
for f in (f for f in fits if f["seed"] == run.seed):
    curve = curves[f["loss"], f["beta"]]
    top = analysis.peak(curve)
    print(f"{f['loss']:>4} {f['beta']:>5g} {max(r['kl'] for r in curve):>7.2f} "
          f"{top['gold']:>+9.2f} {top['epoch']:>8.2f} {curve[-1]['gold']:>+8.2f} "
          f"{f['r2']:>10.2f} {f['r2_quadratic']:>12.2f}")
for (method, params, _), curve in analysis.group(frontier, "method", "rm_params",
                                                 "rm_data").items():
    top = analysis.peak(curve)
    print(f"{method} against the {params:,}-param proxy: peak gold {top['gold']:+.2f} at KL "
          f"{top['kl']:.2f}")

# %% [markdown]
# Three things to read off the table:
#
# * **β sets the budget.** The KL spent falls with β for both losses. At the largest β the
#   policy hardly moves; at the smallest it travels about as far as best-of-n's whole pool.
# * **Where it overoptimizes.** At the smallest β, DPO's gold peaks within the first epoch
#   and gives back much of its gain in the second. IPO at the same β falls less: its target
#   margin is large but finite.
# * **Which form.** Compare the two R² columns. One caveat the toy shows: after its peak,
#   DPO's KL stops growing (it even shrinks a little) while gold keeps falling, so the curve
#   bends back on the d axis, and no form in d alone fits that hook well.
#
# Beside the frontier: on the `tiny` preset, over 5 seeds, DPO at β = 0.01 reached about
# the same peak gold as best-of-n against the proxy trained on the same comparisons, at a
# similar KL (6–7 nats), and PPO a little more, at more than twice the KL. Without a
# reward model, DPO spends KL like a strong optimizer, and overoptimizes like one.
#
# ## 4. Does the implicit reward's accuracy predict gold?
#
# A reward model is judged by its held-out accuracy. The implicit reward β·log(π/π_ref)
# can be judged the same way, on the 10% of comparisons DPO never trained on. If accuracy
# tracked quality, the most accurate run would be the best one.

# %%
for loss in run.preset.dpo_losses:
    for beta in BETAS:
        curve = curves[loss, beta]
        acc, gold = [r["implicit_acc"] for r in curve], [r["gold"] for r in curve]
        corr = np.corrcoef(acc[1:], gold[1:])[0, 1]  # step 0 is a tie by construction
        print(f"{loss} beta {beta:>5g}: final implicit accuracy {acc[-1]:.1%}, final gold "
              f"{gold[-1]:+.2f}, peak gold {max(gold):+.2f}; correlation of accuracy and gold "
              f"over checkpoints {corr:+.2f}")

# %% [markdown]
# The most accurate implicit reward mostly belongs to a larger β than the one whose gold peak
# is the highest, the smallest. On the `tiny` preset at seeds 0–4 (an AVX2 CPU, 2026-12-06):
# DPO's most accurate β was 1 at three seeds and 0.1 at two, never 0.01; IPO's was 0.1 at
# three and 0.01, its best, at two. Accuracy rewards getting the *sign* of each held-out pair
# right, which a policy can do while barely moving, and says nothing about where the
# policy's own samples went.
# Within one run at the smallest β, accuracy barely moves after the first checkpoints while
# gold rises and falls. This
# is the paper's fourth claim, and the reason direct alignment needs a held-out *gold*
# evaluation (or at least samples) rather than its own validation accuracy to decide when
# to stop.

# %%
print(f"figure in {OUT}/; ran in {time.time() - T0:.1f} s")

# %% [markdown]
# ## Exercises
#
# These build on the course's Task 4.1 (the Bradley–Terry loss, which DPO applies to the
# implicit reward), Task 1.4 (the sampled KL on the x axis) and Tasks 3.3–3.4 (R² and the
# least-squares fits of the forms); `docs/teaching.md` lists every task.
#
# 1. **SLiC.** Rafailov et al. (2024) also study SLiC, a hinge loss
#    max(0, 1 − β·(Δ_c − Δ_r)). Add it to `dpo.LOSSES` in three lines and rerun the sweep
#    (`dataclasses.replace(run.preset, dpo_losses=("dpo", "slic"))`). Does the hinge, which
#    stops pushing once a pair's margin passes 1/β, overoptimize less than DPO?
# 2. **Early stopping.** Using only what a practitioner sees (the held-out DPO loss
#    `val_loss`, the implicit accuracy, the KL), design a stopping rule for the smallest β and
#    compare the gold where it stops with the peak.
# 3. **More data, same β.** Train at β = 0.01 on 1,000 and on 4,000 comparisons
#    (`run.dpo("dpo", 0.01, 1000)`). The paper found more data helps explicit RMs resist
#    overoptimization (Tutorial 4); is it the same for the implicit one?
# 4. **Label noise.** Flip 25% of the labels (a preset with `label_noise=0.25`). Which
#    suffers more, DPO or a proxy RM with PPO on the same noisy data?
