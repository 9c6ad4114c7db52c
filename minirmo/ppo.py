"""PPO from scratch: optimize the policy against a reward model, tracking KL from the start.

The paper's RL runs are PPO against a proxy RM with no KL penalty, watching how the proxy and
gold scores move as KL(π ‖ π_init) grows. This module is that loop, small enough to read top to
bottom (in the style of cleanrl's single-file ``ppo.py``).

**Language generation as an RL episode.** The prompt is the initial state. Each response token
is an action; the state is everything written so far. The episode ends at ``<eos>``, or after
``max_len`` tokens (a *truncated* response). The reward model scores the whole sequence once,
so the score is the reward of the *last* real token and every earlier token gets 0. With an
optional KL penalty, every token also gets −β·(log π − log π_init): summed over the response
this is −β times the sampled KL, the penalty of Ziegler et al. (2019).

**Why PPO.** A policy-gradient step pushes up log π of tokens with positive *advantage* (better
than expected) and down those with negative advantage. Re-using one batch of rollouts for
several epochs of minibatch steps is sample-efficient, but after the first step the data come
from an older policy. PPO corrects with the ratio ρ = π_new/π_old and *clips* it to
[1 − ε, 1 + ε]: once a token's ratio has left that range in the direction its advantage
favours, the token's gradient is zero. Clipping removes the incentive to move further, not the
movement itself: one minibatch step can still carry a ratio past the range (the clip fraction
counts such tokens; see `PPOConfig.lr`).

**Advantages: GAE.** A value network V predicts the return from each state. Generalized
advantage estimation (Schulman et al. 2016) mixes the one-step TD errors
δ_t = r_t + γ·V(s_{t+1}) − V(s_t) with weights (γλ)^k: A_t = Σ_k (γλ)^k δ_{t+k}. λ = 1 is the
plain Monte Carlo return minus V (unbiased, noisy); λ = 0 trusts V fully (biased, quiet). There
is no bootstrap after the final token: the episode really ends there, and a truncated response
is also final (the reward model has already scored it as unfinished).

**The value network** is separate: a copy of the initial policy's transformer with a fresh
scalar head (zero-initialised, so it starts by predicting 0, the calibrated mean reward). A
head on the policy's own trunk would be cheaper, but then the value loss would push on the
policy's features, and its scale would have to be balanced against the policy loss by hand. A
separate copy is the common choice in RLHF codebases (InstructGPT, TRL) and keeps the policy's
gradients those of the PPO objective alone. Each network's gradient is clipped on its own.

**What is measured.** Every step records the sampled KL(π ‖ π_init) (estimator k1, summed over
response tokens, averaged over the batch) of that step's rollout, i.e. *before* the step's
update: step 0 has KL ≈ 0. This is the paper's x-axis. It also records the proxy and gold
scores of the same rollout, the response length, the policy's entropy, the fraction of tokens
whose ratio was clipped, and the approximate KL between successive policies.
"""

import copy
from dataclasses import dataclass

import torch
from torch import nn
from tqdm.auto import tqdm

from minirmo.kl import ESTIMATORS, sampled_kl
from minirmo.policy import response_logprobs, response_mask, sample
from minirmo.world import World


@dataclass
class PPOConfig:
    steps: int = 40  # rollout + update rounds
    batch_size: int = 256  # rollouts per step
    epochs: int = 4  # passes over each batch
    minibatch_size: int = 64  # rollouts per gradient step (batch_size must be a multiple)
    # 1e-4 (Adam) for the 2-layer, 64-wide SFT policy: clip_frac ~0.03-0.13 and approx_kl
    # ~2e-3-9e-3 per step (the usual healthy PPO range), and a small proxy is maxed out in
    # ~15-20 steps. 3e-4 clips 15-25% of tokens; 3e-5 hardly ever clips and is ~3x slower.
    lr: float = 1e-4
    clip: float = 0.2  # ε of the clipped policy objective
    value_clip: float = 0.2  # how far a value prediction may move from the rollout's
    vf_coef: float = 0.5  # weight of the value loss (the networks are separate: see above)
    gamma: float = 1.0  # no discounting: the reward comes once, at the end
    lam: float = 0.95  # GAE λ
    max_grad_norm: float = 1.0  # clip each network's gradient norm to this
    temperature: float = 1.0  # sampling *and* training log-probs use it: π is softmax(z/T)
    kl_coef: float = 0.0  # β of the per-token KL penalty; the paper's main runs use none
    kl_estimator: str = "k1"  # per-token estimator in the penalty: "k1", "k2" or "k3"
    adaptive_kl_target: float | None = None  # if set, β is steered toward this KL (Ziegler)
    adaptive_kl_horizon: int = 1000  # rollouts over which the controller closes the gap
    whiten_advantages: bool = True  # normalize advantages over the batch's valid tokens
    # Reward of a response that never said <eos>. None (default) leaves it to reward_fn: the
    # reward model reads the whole sequence and sees that it is unfinished (the gold RM was
    # trained on such tails), so a fixed override would hide what the proxy itself believes.
    # A number replaces reward_fn's score for truncated responses (e.g. -2.0 as a hard floor).
    truncation_penalty: float | None = None
    sample_every: int = 10  # keep a few decoded samples every this many steps
    num_samples: int = 4  # how many decoded samples to keep

    def __post_init__(self):
        self.validate()

    def validate(self) -> None:
        """Raise ValueError naming the first field that is out of range."""
        for name in ("steps", "batch_size", "epochs", "minibatch_size", "sample_every",
                     "adaptive_kl_horizon"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.batch_size % self.minibatch_size:
            raise ValueError(f"batch_size ({self.batch_size}) must be divisible by "
                             f"minibatch_size ({self.minibatch_size})")
        for name in ("lr", "clip", "value_clip", "max_grad_norm", "temperature"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)!r}")
        for name in ("vf_coef", "kl_coef"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)!r}")
        for name in ("gamma", "lam"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)!r}")
        if self.kl_estimator not in ESTIMATORS:
            raise ValueError(f"kl_estimator must be one of {sorted(ESTIMATORS)}, "
                             f"got {self.kl_estimator!r}")
        if self.adaptive_kl_target is not None:
            if not self.adaptive_kl_target > 0:
                raise ValueError(f"adaptive_kl_target must be > 0 or None, "
                                 f"got {self.adaptive_kl_target!r}")
            if not self.kl_coef > 0:  # the controller is multiplicative: 0 would stay 0
                raise ValueError("kl_coef must be > 0 (the starting value) when "
                                 "adaptive_kl_target is set")
        if not isinstance(self.num_samples, int) or self.num_samples < 0:
            raise ValueError(f"num_samples must be a non-negative integer, got "
                             f"{self.num_samples!r}")


class ValueNetwork(nn.Module):
    """V(state) for every response position: a copy of the policy's trunk + a scalar head."""

    def __init__(self, policy):
        super().__init__()
        self.pad_id = policy.config.pad_token_id
        self.backbone = copy.deepcopy(policy.transformer)  # GPT2Model, initialised from SFT
        self.head = nn.Linear(policy.config.n_embd, 1)
        nn.init.zeros_(self.head.weight)  # start at V = 0: calibrated rewards have mean 0
        nn.init.zeros_(self.head.bias)

    def forward(self, sequences: torch.Tensor, prompt_len: int) -> torch.Tensor:
        """sequences (B, prompt_len + T) -> values (B, T).

        Value t is read at the position that *predicts* response token t (as the policy's
        logits are), i.e. the state before the token is written.
        """
        attention_mask = sequences != self.pad_id
        hidden = self.backbone(sequences, attention_mask=attention_mask).last_hidden_state
        return self.head(hidden[:, prompt_len - 1 : -1]).squeeze(-1)  # (B, T)


def gae(rewards: torch.Tensor, values: torch.Tensor, mask: torch.Tensor, gamma: float,
        lam: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Generalized advantage estimates and returns, both (B, T), 0 where mask is False.

    rewards, values: (B, T) per response token; mask: (B, T) bool, a prefix of True per row
    (the response up to and including its last token). After a row's last valid token there
    is no bootstrap: the next value counts as 0.
    """
    # BEGIN SOLUTION Task 5.1: generalized advantage estimation (GAE) and returns
    mask = mask.to(values.dtype)
    B, T = rewards.shape
    advantages = torch.zeros_like(values)
    next_advantage = torch.zeros(B, dtype=values.dtype, device=values.device)  # A_{t+1}
    next_value = torch.zeros(B, dtype=values.dtype, device=values.device)  # V(s_{t+1})
    for t in reversed(range(T)):
        # does token t+1 exist? (0 at the end of the row or the end of the tensor)
        cont = mask[:, t + 1] if t + 1 < T else torch.zeros_like(next_value)
        delta = rewards[:, t] + gamma * cont * next_value - values[:, t]  # TD error δ_t
        next_advantage = (delta + gamma * lam * cont * next_advantage) * mask[:, t]
        advantages[:, t] = next_advantage
        next_value = values[:, t]
    returns = (advantages + values) * mask  # targets for the value network
    return advantages, returns
    # END SOLUTION


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of x over the positions where mask is True."""
    return (x * mask).sum() / mask.sum().clamp(min=1)


def kl_penalty(logp: torch.Tensor, logp_ref: torch.Tensor, mask: torch.Tensor, kl_coef: float,
               estimator: str = "k1") -> torch.Tensor:
    """Per-token rewards of the KL penalty, −β · k(log π_ref − log π), 0 where mask is False.

    logp, logp_ref: (B, T) log π and log π_init of the sampled response tokens
    mask:           (B, T) bool, True on the response's tokens
    kl_coef:        β ≥ 0; estimator: "k1", "k2" or "k3" (`minirmo.kl.ESTIMATORS`)
    returns:        (B, T). Summed over a row with k1, this is −β times the sampled KL.
    """
    # BEGIN SOLUTION Task 5.4: the per-token KL penalty
    kl_per_token = ESTIMATORS[estimator](logp_ref - logp)  # (B, T)
    return -kl_coef * kl_per_token * mask  # (B, T)
    # END SOLUTION


def policy_loss(logp: torch.Tensor, logp_old: torch.Tensor, advantages: torch.Tensor,
                mask: torch.Tensor, clip: float) -> torch.Tensor:
    """PPO's clipped policy loss: mean over valid tokens of −min(ρA, clip(ρ, 1 ± ε)·A).

    logp:       (M, T) log π_new of the rollout's tokens (with gradient)
    logp_old:   (M, T) log π_old of the same tokens, from the rollout
    advantages: (M, T) advantage A of each token
    mask:       (M, T) float 0/1, 1 on the response's tokens
    clip:       ε > 0; the ratio ρ = π_new/π_old = exp(logp − logp_old) is clipped to
                [1 − ε, 1 + ε]
    returns:    a scalar tensor. The max of the two negated terms is the min of the objectives:
                the pessimistic bound, so a token gains nothing by moving ρ out of the range.
    """
    # BEGIN SOLUTION Task 5.2: the clipped policy loss
    log_ratio = (logp - logp_old) * mask  # (M, T)
    ratio = log_ratio.exp()
    return masked_mean(torch.max(
        -advantages * ratio, -advantages * ratio.clamp(1 - clip, 1 + clip)), mask)
    # END SOLUTION


def value_loss(values: torch.Tensor, values_old: torch.Tensor, returns: torch.Tensor,
               mask: torch.Tensor, value_clip: float) -> torch.Tensor:
    """PPO2's clipped value loss: ½ · mean over valid tokens of max((V − R)², (V_clip − R)²).

    values:     (M, T) the value network's predictions now (with gradient)
    values_old: (M, T) its predictions at rollout time
    returns:    (M, T) the value targets R (from `gae`)
    mask:       (M, T) float 0/1, 1 on the response's tokens
    value_clip: how far V may move from values_old: V_clip = values_old + clip(V − values_old,
                −value_clip, value_clip)
    returns:    a scalar tensor
    """
    # BEGIN SOLUTION Task 5.3: the clipped value loss
    v_clipped = values_old + (values - values_old).clamp(-value_clip, value_clip)
    return 0.5 * masked_mean(torch.max((values - returns) ** 2, (v_clipped - returns) ** 2),
                             mask)
    # END SOLUTION


def update_diagnostics(logp: torch.Tensor, logp_old: torch.Tensor, mask: torch.Tensor,
                       clip: float) -> tuple[float, float]:
    """(clip fraction, approximate KL) of one PPO minibatch step, as Python floats.

    logp, logp_old: (M, T) log π_new and log π_old of the rollout's tokens
    mask:           (M, T) float 0/1, 1 on the response's tokens
    clip:           ε of the clipped objective
    The clip fraction is the share of valid tokens with |ρ − 1| > ε. The approximate KL is the
    k3 estimate of KL(π_old ‖ π_new) on π_old's samples, mean over valid tokens of
    (ρ − 1) − log ρ.
    """
    # BEGIN SOLUTION Task 5.6: the update diagnostics (clip fraction, approximate KL)
    log_ratio = (logp - logp_old) * mask  # (M, T)
    ratio = log_ratio.exp()
    clip_frac = masked_mean(((ratio - 1).abs() > clip).float(), mask).item()
    approx_kl = masked_mean((ratio - 1) - log_ratio, mask).item()
    return clip_frac, approx_kl
    # END SOLUTION


def update_kl_coef(kl_coef: float, kl: float, target: float, batch_size: int,
                   horizon: int) -> float:
    """The adaptive KL controller of Ziegler et al. (2019): the next step's β.

    The error e = clip(KL / target − 1, −0.2, 0.2) moves β by the factor 1 + e · B / horizon:
    up while the KL is above the target, down while below, at most 20% of B/horizon a step.
    kl: this step's sampled KL; batch_size: B, rollouts per step; horizon: rollouts over which
    the controller closes the gap.
    """
    # BEGIN SOLUTION Task 5.5: the adaptive KL controller
    error = max(-0.2, min(0.2, kl / target - 1))
    return kl_coef * (1 + error * batch_size / horizon)
    # END SOLUTION


def minibatch_step(policy, value_net, optimizer, rollout: dict, idx: torch.Tensor,
                   prompt_len: int, config: PPOConfig) -> tuple[float, float, float]:
    """One gradient step of PPO's update on the rollout's rows `idx` (M,).

    rollout: "sequences" (B, prompt_len + T); "mask" (B, T) bool; "logp_old", "advantages",
             "values_old", "returns" (B, T), all from the rollout (see `train_ppo`)
    returns: (clip fraction, approximate KL, value loss) of the step, as Python floats
    """
    mb_mask = rollout["mask"][idx].float()  # (M, T)
    sequences, logp_old = rollout["sequences"][idx], rollout["logp_old"][idx]
    # policy loss: −min(ρA, clip(ρ)A) per token, mean over valid tokens
    logp = response_logprobs(policy, sequences, prompt_len, config.temperature)  # (M, T)
    pg_loss = policy_loss(logp, logp_old, rollout["advantages"][idx], mb_mask, config.clip)
    # value loss: the worse of the plain and the clipped prediction (as in PPO2)
    v = value_net(sequences, prompt_len)  # (M, T)
    v_loss = value_loss(v, rollout["values_old"][idx], rollout["returns"][idx], mb_mask,
                        config.value_clip)

    optimizer.zero_grad(set_to_none=True)
    (pg_loss + config.vf_coef * v_loss).backward()
    # clip each network on its own: the value gradient never rescales the policy's
    nn.utils.clip_grad_norm_(policy.parameters(), config.max_grad_norm)
    nn.utils.clip_grad_norm_(value_net.parameters(), config.max_grad_norm)
    optimizer.step()

    with torch.no_grad():
        clip_frac, approx_kl = update_diagnostics(logp, logp_old, mb_mask, config.clip)
    return clip_frac, approx_kl, v_loss.item()


def train_ppo(policy, reward_fn, world: World, config: PPOConfig | None = None, gold_fn=None,
              generator: torch.Generator | None = None, progress: bool = False,
              callback=None) -> list[dict]:
    """Train `policy` in place with PPO against `reward_fn`; return one record per step.

    reward_fn, gold_fn: sequences (B, prompt_len + max_len) -> scores (B,), e.g. `rm.score`.
    callback(record) is called after each step's update, when `policy` holds the new weights:
    use it to save checkpoints or stream results (rollout of step k+1 uses those weights).
    A record holds plain numbers: step; kl and kl_k3 (KL(π‖π_init) of the step's rollout, so
    measured *before* the step's update, estimators k1 and k3); proxy and gold (mean reward_fn
    and gold_fn scores of the rollout, gold only if gold_fn is given; proxy is reward_fn's own
    score, before any truncation_penalty); length (response tokens, <eos> included); truncated
    (fraction without <eos>); entropy (per token); clip_frac, approx_kl (the k3 estimate of
    KL(π_old‖π) over the update's minibatches) and value_loss, averaged over the update;
    kl_coef (the β used this step); and, every `sample_every` steps, "samples" (strings).
    """
    config = config or PPOConfig()
    config.validate()
    device = world.device
    P, T, eos = world.prompt_len, world.max_len, world.tokenizer.eos_id
    B, M = config.batch_size, config.minibatch_size

    # --- the frozen reference (π_init) and the value network, both copies of the start
    reference = copy.deepcopy(policy).requires_grad_(False).eval()
    value_net = ValueNetwork(policy).to(device)
    policy.eval()  # dropout is off anyway; eval() keeps it so
    optimizer = torch.optim.Adam([*policy.parameters(), *value_net.parameters()], lr=config.lr,
                                 eps=1e-5)
    kl_coef = config.kl_coef
    records = []
    bar = tqdm(range(config.steps), desc="PPO", disable=not progress)
    for step in bar:
        # --- 1. rollout: sample B responses to random prompts
        with torch.no_grad():
            prompts = world.prompts[world.sample_topics(B, generator)]  # (B, P)
            sequences, _ = sample(policy, prompts, T, config.temperature, generator)  # (B, P+T)
            responses = sequences[:, P:]  # (B, T)
            mask = response_mask(responses, eos)  # (B, T) bool, up to and including <eos>
            # log-probs recomputed in one forward pass, exactly as the update will compute them
            logp_old, entropy = response_logprobs(policy, sequences, P, config.temperature,
                                                  return_entropy=True)  # (B, T) each
            logp_ref = response_logprobs(reference, sequences, P, config.temperature)  # (B, T)
            values_old = value_net(sequences, P) * mask  # (B, T)

            # --- 2. scores of the whole sequences
            score = reward_fn(sequences)  # (B,)
            if score.shape != (B,) or not torch.isfinite(score).all():
                raise ValueError(f"reward_fn must return {B} finite scores, got shape "
                                 f"{tuple(score.shape)}")
            proxy = score.float().mean().item()
            gold = gold_fn(sequences).float().mean().item() if gold_fn is not None else None
            reward_seq = score.float()
            truncated = ~(responses == eos).any(1)  # (B,) never said <eos>
            if config.truncation_penalty is not None:
                reward_seq = torch.where(truncated, config.truncation_penalty, reward_seq)

            # --- 3. per-token rewards: KL penalty on every token, the score on the last one
            rewards = kl_penalty(logp_old, logp_ref, mask, kl_coef, config.kl_estimator)
            last = mask.sum(1) - 1  # (B,) index of <eos>, or of the last token if truncated
            rewards[torch.arange(B, device=device), last] += reward_seq

            # --- 4. the paper's x-axis: KL(π ‖ π_init) of this rollout, before the update
            kl = sampled_kl(logp_old, logp_ref, mask, "k1").mean().item()
            kl_k3 = sampled_kl(logp_old, logp_ref, mask, "k3").mean().item()

            # --- 5. advantages (GAE) and value targets, whitened over the valid tokens
            advantages, returns = gae(rewards, values_old, mask, config.gamma, config.lam)
            if config.whiten_advantages:
                valid = advantages[mask]
                advantages = (advantages - valid.mean()) / (valid.std(correction=0) + 1e-8) * mask

        # --- 6. update: several epochs of minibatch steps on the clipped objectives
        rollout = dict(sequences=sequences, mask=mask, logp_old=logp_old, advantages=advantages,
                       values_old=values_old, returns=returns)
        stats = {"clip_frac": [], "approx_kl": [], "value_loss": []}
        for _ in range(config.epochs):
            order = torch.randperm(B, generator=generator).to(device)
            for start in range(0, B, M):
                step_stats = minibatch_step(policy, value_net, optimizer, rollout,
                                            order[start : start + M], P, config)
                for history, value in zip(stats.values(), step_stats, strict=True):
                    history.append(value)

        # --- 7. record the step (and adapt β toward the target KL, Ziegler et al. 2019)
        record = {"step": step, "kl": kl, "kl_k3": kl_k3, "proxy": proxy}
        if gold is not None:
            record["gold"] = gold
        record.update(
            length=mask.sum(1).float().mean().item(),
            entropy=masked_mean(entropy, mask).item(),
            truncated=truncated.float().mean().item(),
            **{k: sum(v) / len(v) for k, v in stats.items()},
            kl_coef=kl_coef,
        )
        if step % config.sample_every == 0 and config.num_samples:
            record["samples"] = [world.tokenizer.decode(s)
                                 for s in sequences[: config.num_samples]]
        if config.adaptive_kl_target is not None:
            kl_coef = update_kl_coef(kl_coef, kl, config.adaptive_kl_target, B,
                                     config.adaptive_kl_horizon)
        records.append(record)
        bar.set_postfix(kl=f"{kl:.2f}", proxy=f"{proxy:.2f}")
        if callback is not None:
            callback(record)
    bar.close()
    return records
