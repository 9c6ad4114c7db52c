"""RLOO and GRPO from scratch: policy gradients against a reward model without a value network.

PPO (`minirmo.ppo`) learns a value network to tell a better-than-expected token from a worse
one. The two methods here get that baseline from the batch itself instead: they sample a
*group* of k responses to each prompt and compare each response with the others of its group.
Both share PPO's sampler, its sampled KL(π ‖ π_init) (the paper's x-axis), its reward-function
interface and its per-step records, so their curves can be drawn beside PPO's. A step samples
`batch_size` responses, as PPO's does: batch_size / group_size prompts, group_size each.

**RLOO** (REINFORCE leave-one-out; Kool et al. 2019, applied to RLHF by Ahmadian et al. 2024).
The reward of a whole response is its score R_i. Its baseline is the mean score of the *other*
k − 1 responses to the same prompt, which does not depend on response i, so the policy gradient
E[(R_i − b_i) ∇ log π(y_i)] stays unbiased while the baseline lowers its variance. The update
is REINFORCE on the sequence: the loss −mean_i A_i · log π(y_i), log π(y_i) summed over the
response's tokens, one pass over the batch (each response is used once, so the data are
on-policy up to the minibatch steps of that pass; there is no ratio to clip). An optional KL
penalty is subtracted from the score before the baseline, −β · (sampled k1 KL of the
response), as in PPO's per-token penalty summed over the response.

**GRPO** (group relative policy optimization; Shao et al. 2024, DeepSeekMath). The advantage of
response i is its score standardized within its group, (R_i − mean) / (std + ε), the same on
every token of the response. The update is PPO's: the clipped ratio ρ = π/π_old over several
epochs of minibatches, but with no value loss. *The KL choice.* DeepSeekMath puts the KL to
the reference in the loss, not in the reward: β times the k3 estimator
π_ref/π − log(π_ref/π) − 1 of each token, which is ≥ 0 and unbiased for KL(π ‖ π_ref) on π's
own samples. This module does the same: the advantages stay a function of the scores alone,
and the KL term's gradient pulls each token toward π_ref whatever its group scored (a penalty
in the reward would instead be standardized together with the scores). The loss is averaged
over all valid tokens of a minibatch, as `ppo.policy_loss` averages it, rather than over each
response first and then over responses as in DeepSeekMath's formula: that per-response mean
gives a short response's tokens more weight than a long one's (Liu et al. 2025, "Understanding
R1-Zero-Like Training: A Critical Perspective"). β = 0 by default, as for PPO here: the paper's
main runs have no KL penalty (DeepSeekMath used 0.04).

**What is measured** is what `ppo.train_ppo` measures, under the same keys: the sampled KL of
each step's rollout before its update (k1 and k3), proxy and gold, length, truncated share,
entropy, the KL coefficient; GRPO adds PPO's clip fraction and approximate KL of its updates.
"""

import copy
from dataclasses import dataclass

import torch
from torch import nn
from tqdm.auto import tqdm

from minirmo import kl, ppo
from minirmo.policy import check_positive, response_logprobs, response_mask, sample
from minirmo.world import World


@dataclass
class CriticFreeConfig:
    """What RLOO and GRPO share: the rollout, its groups, the optimizer and the records."""

    steps: int = 40  # rollout + update rounds
    batch_size: int = 256  # rollouts per step, as PPO's: batch_size / group_size prompts
    group_size: int = 4  # responses per prompt (k of RLOO, G of GRPO), at least 2
    minibatch_size: int = 64  # rollouts per gradient step (batch_size must be a multiple)
    lr: float = 1e-4  # Adam; PPO's default, not yet tuned for these methods
    max_grad_norm: float = 1.0  # clip the policy's gradient norm to this
    temperature: float = 1.0  # sampling *and* training log-probs use it: π is softmax(z/T)
    kl_coef: float = 0.0  # β of the KL term (see each method); the paper's main runs use none
    # Score of a response that never said <eos>: None leaves it to reward_fn (see PPOConfig).
    truncation_penalty: float | None = None
    sample_every: int = 10  # keep a few decoded samples every this many steps
    num_samples: int = 4  # how many decoded samples to keep

    def __post_init__(self):
        self.validate()

    def validate(self) -> None:
        """Raise ValueError naming the first field that is out of range."""
        check_positive(self, "steps", "batch_size", "group_size", "minibatch_size",
                       "sample_every", "lr", "max_grad_norm", "temperature")
        if self.group_size < 2:
            raise ValueError(f"group_size must be at least 2 (a response needs others to be "
                             f"compared with), got {self.group_size!r}")
        for name in ("group_size", "minibatch_size"):
            if self.batch_size % getattr(self, name):
                raise ValueError(f"batch_size ({self.batch_size}) must be divisible by "
                                 f"{name} ({getattr(self, name)})")
        if not self.kl_coef >= 0:
            raise ValueError(f"kl_coef must be >= 0, got {self.kl_coef!r}")
        if not isinstance(self.num_samples, int) or self.num_samples < 0:
            raise ValueError(f"num_samples must be a non-negative integer, got "
                             f"{self.num_samples!r}")


@dataclass
class RLOOConfig(CriticFreeConfig):
    """RLOO: one REINFORCE pass over each batch; kl_coef is a penalty on each response's score
    (β times its sampled k1 KL), subtracted before the leave-one-out baseline."""


@dataclass
class GRPOConfig(CriticFreeConfig):
    """GRPO: PPO's clipped ratio over `epochs` passes; kl_coef weighs a k3 term in the loss."""

    epochs: int = 4  # passes over each batch, as PPO's
    clip: float = 0.2  # ε of the clipped ratio
    eps: float = 1e-4  # ε added to the group's std (a group of equal scores gets advantage 0)

    def validate(self) -> None:
        """Raise ValueError naming the first field that is out of range."""
        super().validate()
        check_positive(self, "epochs", "clip", "eps")


# --- the pure pieces ----------------------------------------------------------------------------


def _check_groups(rewards: torch.Tensor) -> None:
    """Raise unless rewards is (groups, k) with k ≥ 2."""
    if rewards.ndim != 2 or rewards.shape[1] < 2:
        raise ValueError(f"rewards must have shape (groups, k) with k >= 2, "
                         f"got {tuple(rewards.shape)}")


def leave_one_out_advantages(rewards: torch.Tensor) -> torch.Tensor:
    """RLOO's advantages: each reward minus the mean of the other k − 1 rewards of its group.

    rewards: (groups, k) the score of each of k responses to each prompt, k ≥ 2
    returns: (groups, k) A_i = R_i − (Σ_{j≠i} R_j) / (k − 1). It sums to 0 over each group and
             equals k/(k − 1) · (R_i − the group's mean).
    """
    _check_groups(rewards)
    # BEGIN SOLUTION Task 6.1: the leave-one-out advantages of RLOO
    k = rewards.shape[1]
    others = (rewards.sum(1, keepdim=True) - rewards) / (k - 1)  # (groups, k) baseline of each
    return rewards - others
    # END SOLUTION


def group_normalized_advantages(rewards: torch.Tensor, eps: float = 1e-4) -> torch.Tensor:
    """GRPO's advantages: each reward standardized within its group, (R − mean) / (std + ε).

    rewards: (groups, G) the score of each of G responses to each prompt, G ≥ 2
    eps:     ε > 0, so that a group of equal scores (std 0) gets advantages 0
    returns: (groups, G). std is the group's sample standard deviation (with Bessel's
             correction, dividing by G − 1, as torch.std does by default).
    """
    _check_groups(rewards)
    if not eps > 0:
        raise ValueError(f"eps must be > 0, got {eps!r}")
    # BEGIN SOLUTION Task 6.2: the group-normalized advantages of GRPO
    mean = rewards.mean(1, keepdim=True)  # (groups, 1)
    std = rewards.std(1, keepdim=True)  # (groups, 1), correction 1
    return (rewards - mean) / (std + eps)
    # END SOLUTION


def grpo_loss(logp: torch.Tensor, logp_old: torch.Tensor, logp_ref: torch.Tensor,
              advantages: torch.Tensor, mask: torch.Tensor, clip: float,
              kl_coef: float) -> torch.Tensor:
    """GRPO's loss: PPO's clipped policy loss plus β times the mean k3 KL to the reference.

    logp:       (M, T) log π of the rollout's tokens (with gradient)
    logp_old:   (M, T) log π_old of the same tokens, from the rollout
    logp_ref:   (M, T) log π_ref of the same tokens (the frozen initial policy)
    advantages: (M,) one advantage per response, applied to every one of its tokens
    mask:       (M, T) float 0/1, 1 on the response's tokens
    clip:       ε of the clipped ratio (see `ppo.policy_loss`)
    kl_coef:    β ≥ 0, the weight of k3(log π_ref − log π) = π_ref/π − log(π_ref/π) − 1
    returns:    a scalar tensor; both terms are means over the valid tokens of the minibatch.
    """
    if advantages.shape != logp.shape[:1]:
        raise ValueError(f"advantages must have shape ({logp.shape[0]},), one per response, "
                         f"got {tuple(advantages.shape)}")
    # BEGIN SOLUTION Task 6.3: the loss of GRPO (clipped surrogate and k3 KL term)
    per_token = advantages[:, None].expand_as(logp)  # (M, T) the response's advantage
    surrogate = ppo.policy_loss(logp, logp_old, per_token, mask, clip)
    kl_term = ppo.masked_mean(kl.k3(logp_ref - logp), mask)  # ≥ 0, and 0 where π = π_ref
    return surrogate + kl_coef * kl_term
    # END SOLUTION


# --- the loop: rollout in groups, score, measure, update ---------------------------------------


@torch.no_grad()
def _rollout(policy, reference, reward_fn, gold_fn, world: World, config: CriticFreeConfig,
             generator: torch.Generator | None) -> dict:
    """Sample batch_size responses, group_size to a prompt, and score and measure them.

    Returns tensors: sequences (B, P+T), mask (B, T) bool, logp_old and logp_ref (B, T),
    entropy (B, T), score (B,) (reward_fn's, after any truncation_penalty), truncated (B,)
    bool; and the record's numbers: kl, kl_k3, proxy, gold (None without gold_fn). Rows
    g·k ... g·k + k − 1 answer the same prompt.
    """
    P, T, eos = world.prompt_len, world.max_len, world.tokenizer.eos_id
    B, k = config.batch_size, config.group_size
    prompts = world.prompts[world.sample_topics(B // k, generator)]  # (B/k, P)
    sequences, _ = sample(policy, prompts.repeat_interleave(k, 0), T, config.temperature,
                          generator)  # (B, P+T)
    responses = sequences[:, P:]  # (B, T)
    mask = response_mask(responses, eos)  # (B, T) bool, up to and including <eos>
    logp_old, entropy = response_logprobs(policy, sequences, P, config.temperature,
                                          return_entropy=True)  # (B, T) each
    logp_ref = response_logprobs(reference, sequences, P, config.temperature)  # (B, T)

    score = reward_fn(sequences)  # (B,)
    if score.shape != (B,) or not torch.isfinite(score).all():
        raise ValueError(f"reward_fn must return {B} finite scores, got shape "
                         f"{tuple(score.shape)}")
    proxy = score.float().mean().item()
    gold = gold_fn(sequences).float().mean().item() if gold_fn is not None else None
    truncated = ~(responses == eos).any(1)  # (B,) never said <eos>
    score = score.float()
    if config.truncation_penalty is not None:
        score = torch.where(truncated, config.truncation_penalty, score)
    return dict(sequences=sequences, mask=mask, logp_old=logp_old, logp_ref=logp_ref,
                entropy=entropy, score=score, truncated=truncated, proxy=proxy, gold=gold,
                kl=kl.sampled_kl(logp_old, logp_ref, mask, "k1").mean().item(),
                kl_k3=kl.sampled_kl(logp_old, logp_ref, mask, "k3").mean().item())


def _record(step: int, rollout: dict, world: World, config: CriticFreeConfig,
            **diagnostics) -> dict:
    """The step's record, with ppo.train_ppo's keys where they mean the same thing."""
    mask = rollout["mask"]
    record = {"step": step, "kl": rollout["kl"], "kl_k3": rollout["kl_k3"],
              "proxy": rollout["proxy"]}
    if rollout["gold"] is not None:
        record["gold"] = rollout["gold"]
    record.update(length=mask.sum(1).float().mean().item(),
                  entropy=ppo.masked_mean(rollout["entropy"], mask).item(),
                  truncated=rollout["truncated"].float().mean().item(),
                  **diagnostics, kl_coef=config.kl_coef)
    if step % config.sample_every == 0 and config.num_samples:
        record["samples"] = [world.tokenizer.decode(s)
                             for s in rollout["sequences"][: config.num_samples]]
    return record


def train_rloo(policy, reward_fn, world: World, config: RLOOConfig | None = None, gold_fn=None,
               generator: torch.Generator | None = None, progress: bool = False,
               callback=None) -> list[dict]:
    """Train `policy` in place with RLOO against `reward_fn`; return one record per step.

    The arguments and the records are those of `ppo.train_ppo` (reward_fn, gold_fn: sequences
    -> scores (B,); callback(record) after each update), with these diagnostics: kl_coef, and
    `loss`, the mean REINFORCE loss of the step's minibatches.
    """
    config = config or RLOOConfig()
    config.validate()
    P, B, M, k = world.prompt_len, config.batch_size, config.minibatch_size, config.group_size
    reference = copy.deepcopy(policy).requires_grad_(False).eval()
    policy.eval()  # dropout is off anyway; eval() keeps it so
    optimizer = torch.optim.Adam(policy.parameters(), lr=config.lr, eps=1e-5)
    records = []
    bar = tqdm(range(config.steps), desc="RLOO", disable=not progress)
    for step in bar:
        # --- 1. rollout in groups of k, scores, and the KL of this rollout (before the update)
        rollout = _rollout(policy, reference, reward_fn, gold_fn, world, config, generator)
        mask = rollout["mask"]
        # --- 2. the score, less β times the response's sampled KL, against its leave-one-out
        penalty = kl.sampled_kl(rollout["logp_old"], rollout["logp_ref"], mask, "k1")  # (B,)
        reward = rollout["score"] - config.kl_coef * penalty  # (B,)
        advantages = leave_one_out_advantages(reward.view(B // k, k)).reshape(B)  # (B,)

        # --- 3. one REINFORCE pass: push up log π(y) of responses better than their group's
        losses = []
        order = torch.randperm(B, generator=generator).to(world.device)
        for start in range(0, B, M):
            idx = order[start : start + M]  # (M,)
            logp = response_logprobs(policy, rollout["sequences"][idx], P, config.temperature)
            logp_seq = (logp * mask[idx]).sum(1)  # (M,) log π(y) of each whole response
            loss = -(advantages[idx] * logp_seq).mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(policy.parameters(), config.max_grad_norm)
            optimizer.step()
            losses.append(loss.item())

        # --- 4. record the step
        record = _record(step, rollout, world, config, loss=sum(losses) / len(losses))
        records.append(record)
        bar.set_postfix(kl=f"{record['kl']:.2f}", proxy=f"{record['proxy']:.2f}")
        if callback is not None:
            callback(record)
    bar.close()
    return records


def train_grpo(policy, reward_fn, world: World, config: GRPOConfig | None = None, gold_fn=None,
               generator: torch.Generator | None = None, progress: bool = False,
               callback=None) -> list[dict]:
    """Train `policy` in place with GRPO against `reward_fn`; return one record per step.

    The arguments and the records are those of `ppo.train_ppo` (reward_fn, gold_fn: sequences
    -> scores (B,); callback(record) after each update), with PPO's diagnostics clip_frac and
    approx_kl averaged over the update, kl_coef, and `kl_loss`, the mean k3 term of the loss.
    """
    config = config or GRPOConfig()
    config.validate()
    P, B, M, G = world.prompt_len, config.batch_size, config.minibatch_size, config.group_size
    reference = copy.deepcopy(policy).requires_grad_(False).eval()
    policy.eval()
    optimizer = torch.optim.Adam(policy.parameters(), lr=config.lr, eps=1e-5)
    records = []
    bar = tqdm(range(config.steps), desc="GRPO", disable=not progress)
    for step in bar:
        # --- 1. rollout in groups of G, scores, and the KL of this rollout (before the update)
        rollout = _rollout(policy, reference, reward_fn, gold_fn, world, config, generator)
        mask = rollout["mask"]
        # --- 2. each score standardized within its group: the advantage of all its tokens
        advantages = group_normalized_advantages(rollout["score"].view(B // G, G),
                                                 config.eps).reshape(B)  # (B,)

        # --- 3. PPO's clipped update over several epochs, the k3 KL to π_ref in the loss
        stats = {"clip_frac": [], "approx_kl": [], "kl_loss": []}
        for _ in range(config.epochs):
            order = torch.randperm(B, generator=generator).to(world.device)
            for start in range(0, B, M):
                idx = order[start : start + M]  # (M,)
                mb_mask = mask[idx].float()  # (M, T)
                logp = response_logprobs(policy, rollout["sequences"][idx], P,
                                         config.temperature)  # (M, T)
                loss = grpo_loss(logp, rollout["logp_old"][idx], rollout["logp_ref"][idx],
                                 advantages[idx], mb_mask, config.clip, config.kl_coef)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                nn.utils.clip_grad_norm_(policy.parameters(), config.max_grad_norm)
                optimizer.step()

                with torch.no_grad():
                    logp_old, logp_ref = rollout["logp_old"][idx], rollout["logp_ref"][idx]
                    clip_frac, approx_kl = ppo.update_diagnostics(logp, logp_old, mb_mask,
                                                                  config.clip)
                    stats["clip_frac"].append(clip_frac)
                    stats["approx_kl"].append(approx_kl)
                    # the k3 term as the loss saw it (before this minibatch's step)
                    k3_sums = kl.sampled_kl(logp, logp_ref, mb_mask, "k3")  # (M,)
                    stats["kl_loss"].append((k3_sums.sum() / mb_mask.sum()).item())

        # --- 4. record the step
        record = _record(step, rollout, world, config,
                         **{name: sum(v) / len(v) for name, v in stats.items()})
        records.append(record)
        bar.set_postfix(kl=f"{record['kl']:.2f}", proxy=f"{record['proxy']:.2f}")
        if callback is not None:
            callback(record)
    bar.close()
    return records
