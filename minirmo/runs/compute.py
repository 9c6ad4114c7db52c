"""What each artefact computes: one module-level function per node of the graph (`run.py`).

Every function takes its inputs (the values of other artefacts) and its settings (configs and
numbers) as named arguments, and, where it draws anything random, `generator`; the cache
(`cache.py`) calls it with exactly those and stores what it returns. This is where the training
loops are called:

    policy          sft                    the initial (SFT) policy on the teacher's corpus
    gold            train_gold             the gold RM, on utility-labelled broad pairs
    backbone        pretrain_backbone      a proxy's backbone, on the cheap verdict corpus
    proxy, member   train_bradley_terry    a proxy RM (an ensemble member: on noisy labels)
    pool_logp       response_logprobs      each pool sample's log-probability (initial policy)
    bon             bon_estimate           best-of-n proxy and gold scores at each n, and the
                    pool_bon_kl            exact best-of-n KL on the pool at each n, and
                    pool_beirami_kl        Beirami et al.'s estimate from those log-probabilities
    rl              train_ppo              PPO against one proxy or an ensemble's objective
                    train_rloo, train_grpo RLOO or GRPO against one proxy (critic_free.py)
    dpo             train_dpo              DPO or IPO, with no reward model

To debug one of them, run the command with ``--jobs 1``: everything is then computed in the
calling process, one artefact after the other, and a breakpoint here or in any training loop
fires.
"""

from typing import NamedTuple

import torch

from minirmo.bon import bon_estimate, pool_beirami_kl, pool_bon_kl
from minirmo.critic_free import GRPOConfig, RLOOConfig, train_grpo, train_rloo
from minirmo.dpo import DPOConfig, train_dpo
from minirmo.ensemble import OBJECTIVES, Ensemble, combine, flip_labels
from minirmo.policy import (
    PolicyConfig,
    SFTConfig,
    build_policy,
    response_logprobs,
    sample_pool,
    sft,
)
from minirmo.ppo import PPOConfig, train_ppo
from minirmo.reward import (
    BTConfig,
    GoldConfig,
    RewardModel,
    RMConfig,
    gold_comparisons,
    pair_loss_and_accuracy,
    train_bradley_terry,
    train_gold,
)
from minirmo.world import World


class TrainedRM(NamedTuple):
    """A reward model, frozen, and its training report (`reward.train_bradley_terry`)."""

    model: RewardModel
    report: dict


class Comparisons(NamedTuple):
    """Pairs of responses, each (pairs, seq_len): chosen[i] ≻ rejected[i]."""

    chosen: torch.Tensor
    rejected: torch.Tensor


# ---------------------------------------------------------------- the policy and the gold RM
def policy(world: World, config: PolicyConfig, sft_config: SFTConfig,
           generator: torch.Generator, progress: bool) -> dict:
    """The initial policy: a fresh GPT-2 of `config` fine-tuned on the teacher's corpus."""
    model = build_policy(world, config)
    sft(model, world, sft_config, generator, progress)
    return model.state_dict()


def load_policy(state: dict, world: World, config: PolicyConfig):
    model = build_policy(world, config)
    model.load_state_dict(state)
    return model.eval().requires_grad_(False)


def gold(policy, initial: torch.Tensor, world: World, config: GoldConfig,
         generator: torch.Generator, progress: bool) -> dict:
    """The gold RM (`reward.train_gold`), centred and scaled on the `initial` samples."""
    return _saved(*train_gold(world, policy, initial, config, generator, progress))


def gold_recentred(gold: TrainedRM, initial: torch.Tensor) -> dict:
    """The gold RM re-centred on another initial policy's samples; its scale (its units) kept
    (see `Run.with_policy`)."""
    gold.model.calibrate(initial)
    return _saved(*gold)


def gold_labelled(policy, gold: TrainedRM, world: World, count: int, noise: float,
                  generator: torch.Generator) -> tuple:
    """`count` pairs of initial-policy samples labelled by the gold RM (`gold_comparisons`)."""
    return gold_comparisons(policy, world, gold.model, count, noise, generator)


def load_comparisons(stored: tuple) -> Comparisons:
    return Comparisons(*stored)


# ---------------------------------------------------------------- proxy reward models
def proxy(comparisons: Comparisons, initial: torch.Tensor, world: World, size: RMConfig,
          pairs: int, recipe: BTConfig, generator: torch.Generator, progress: bool,
          backbone: dict | None = None) -> dict:
    """A proxy RM of `size` fitted to the first `pairs` gold-labelled comparisons, then centred
    on the `initial` samples (every RM is, so that the initial policy scores 0). It starts
    from random weights, or from a `backbone` pretrained on the verdict corpus (pretrain.py)."""
    rm = RewardModel(world, size)
    if backbone is not None:
        rm.backbone.load_state_dict(backbone)
    report = train_bradley_terry(rm, comparisons.chosen[:pairs], comparisons.rejected[:pairs],
                                 recipe, generator, progress)
    rm.calibrate(initial)
    return _saved(rm, report)


def proxy_test(proxy: TrainedRM, test: Comparisons) -> dict:
    """The proxy's loss and accuracy on held-out comparisons (`pair_loss_and_accuracy`)."""
    return pair_loss_and_accuracy(proxy.model, test.chosen, test.rejected)


def label_draws(comparisons: Comparisons, generator: torch.Generator) -> torch.Tensor:
    """One uniform draw per comparison, (most,): noise level p flips the pairs whose draw is
    < p (`ensemble.flip_labels`), so every level flips a subset of a higher one's."""
    chosen = comparisons.chosen
    return torch.rand(len(chosen), generator=generator).to(chosen.device)


def member(comparisons: Comparisons, draws: torch.Tensor, initial: torch.Tensor, world: World,
           size: RMConfig, pairs: int, noise: float, recipe: BTConfig,
           generator: torch.Generator, progress: bool, backbone: dict | None = None) -> dict:
    """An ensemble member: a proxy on the first `pairs` comparisons with a fraction `noise` of
    their labels flipped, standardised (mean 0, std 1) on the `initial` samples so that
    members' scores can be combined; from random weights or a pretrained `backbone`."""
    chosen, rejected = flip_labels(comparisons.chosen[:pairs], comparisons.rejected[:pairs],
                                   draws[:pairs], noise)
    rm = RewardModel(world, size)
    if backbone is not None:
        rm.backbone.load_state_dict(backbone)
    report = train_bradley_terry(rm, chosen, rejected, recipe, generator, progress)
    rm.calibrate(initial, unit_variance=True)
    return _saved(rm, report)


def load_rm(saved: dict, world: World, config: RMConfig) -> TrainedRM:
    rm = RewardModel(world, config)
    rm.load_state_dict(saved["state"])
    return TrainedRM(rm.eval().requires_grad_(False), saved["report"])


# ---------------------------------------------------------------- optimizing against them
def pool(policy, world: World, per_prompt: int, generator: torch.Generator,
         progress: bool) -> torch.Tensor:
    """The best-of-n pool: `per_prompt` initial-policy samples per prompt, (prompts, N, seq)."""
    return sample_pool(policy, world, per_prompt, generator=generator, progress=progress)


def pool_gold(pool: torch.Tensor, gold: TrainedRM) -> torch.Tensor:
    """The gold RM's scores of the pool, (prompts, N): scored once for every proxy."""
    return gold.model.score(pool)


@torch.no_grad()
def pool_logp(pool: torch.Tensor, policy, world: World, batch_size: int = 4096) -> torch.Tensor:
    """Each pool sample's log-probability under the initial policy, (prompts, N) float64: the
    ε of Beirami et al.'s best-of-n KL estimate. One forward pass over the pool."""
    sequences = pool.flatten(0, 1)  # (prompts · N, seq_len)
    logp = torch.cat([response_logprobs(policy, sequences[start : start + batch_size],
                                        world.prompt_len).double().sum(1)
                      for start in range(0, len(sequences), batch_size)])
    return logp.view(pool.shape[:2])


def bon(pool: torch.Tensor, proxy: TrainedRM, pool_gold: torch.Tensor,
        pool_logp: torch.Tensor, ns: tuple) -> dict:
    """Best-of-n against one proxy, the pool scored once by the proxy: the unbiased estimator
    at each n of `ns` -> {"proxy": (len(ns),), "gold": (len(ns),)}, and the best-of-n KL with
    each prompt's pool as the reference distribution: "kl_exact" (len(ns),) exact
    (`bon.pool_bon_kl`), "kl_beirami" (len(ns),) Beirami et al.'s estimate
    (`bon.pool_beirami_kl`) and "distinct", the share of distinct responses in the pools."""
    scores = proxy.model.score(pool)  # (prompts, N)
    proxy_scores, gold_scores = bon_estimate(scores, pool_gold, ns)
    kl_exact, distinct = pool_bon_kl(pool, scores, ns)
    return {"proxy": proxy_scores, "gold": gold_scores, "kl_exact": torch.from_numpy(kl_exact),
            "distinct": distinct,
            "kl_beirami": torch.from_numpy(pool_beirami_kl(scores, pool_logp, ns))}


def ensemble_bon(pool: torch.Tensor, pool_gold: torch.Tensor, members: tuple,
                 uwo_lambda: float, ns: tuple) -> dict:
    """Best-of-n against each member alone and against each objective of all members:
    {"members": [{"proxy", "gold"}, ...], objective: {"proxy", "gold"}, ...}, each (len(ns),)."""
    scores = torch.stack([trained.model.score(pool) for trained in members])  # (k, prompts, N)
    curves = {"members": []}
    for member_scores in scores:
        proxy_scores, gold_scores = bon_estimate(member_scores, pool_gold, ns)
        curves["members"].append({"proxy": proxy_scores, "gold": gold_scores})
    for objective in OBJECTIVES:
        proxy_scores, gold_scores = bon_estimate(combine(scores, objective, uwo_lambda),
                                                 pool_gold, ns)
        curves[objective] = {"proxy": proxy_scores, "gold": gold_scores}
    return curves


def rl(policy, proxies: tuple, gold: TrainedRM, world: World,
       config: PPOConfig | RLOOConfig | GRPOConfig, generator: torch.Generator, progress: bool,
       objective: str = "single", uwo_lambda: float = 1.0) -> list[dict]:
    """RL from the initial policy against one proxy (`objective` "single": the first of
    `proxies`) or against an objective of several (`ensemble.Ensemble`), by the algorithm
    whose config is `config` (PPO, RLOO or GRPO); the per-step records of its training loop
    (`ppo.train_ppo`), gold measured on the same samples."""
    models = [trained.model for trained in proxies]
    reward = models[0].score if objective == "single" else Ensemble(
        models, objective, uwo_lambda).score
    train = {PPOConfig: train_ppo, RLOOConfig: train_rloo, GRPOConfig: train_grpo}[type(config)]
    return train(policy.requires_grad_(True), reward, world, config, gold.model.score, generator,
                 progress)


def dpo(policy, comparisons: Comparisons, gold: TrainedRM, world: World, config: DPOConfig,
        pairs: int, generator: torch.Generator, progress: bool) -> list[dict]:
    """DPO or IPO (`config.loss`) from the initial policy on the first `pairs` comparisons,
    judged by the gold RM at each checkpoint (`dpo.train_dpo`)."""
    return train_dpo(policy, comparisons.chosen[:pairs], comparisons.rejected[:pairs], world,
                     config, gold.model.score, generator, progress)


def _saved(rm: RewardModel, report: dict) -> dict:
    return {"state": rm.requires_grad_(False).state_dict(), "report": report}
