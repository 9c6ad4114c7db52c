"""Direct alignment: DPO and IPO from scratch, optimizing preferences with no reward model.

PPO needs a reward model: fit r to comparisons, then push the policy up r. Rafailov et al.
(2023) noticed that the best policy for "maximize r, minus β times KL(π ‖ π_ref)" is known in
closed form, π*(y) ∝ π_ref(y) · exp(r(y)/β), and turned it around: any policy defines the
reward it would be optimal for,

    r_π(y) = β · log π(y)/π_ref(y)      (+ a constant per prompt, which cancels in a pair)

the **implicit reward**. Put r_π into the Bradley–Terry loss that trains a reward model
(reward.py) and the reward model disappears: the policy itself is fitted to the comparisons.
With Δ = log π(y) − log π_ref(y), the sequence log-ratio of a response,

    DPO:  −log σ(β · (Δ_chosen − Δ_rejected))                (Rafailov et al. 2023)
    IPO:  ((Δ_chosen − Δ_rejected) − 1/(2β))²                (Azar et al. 2023)

**What β does.** It is the strength of the pull to the reference. DPO's loss only sees
β·(Δ_c − Δ_r), so a small β needs a large log-ratio margin before a pair counts as learned:
the policy moves far from π_ref, spending KL. IPO regresses the margin to 1/(2β): small β,
large target. Neither loss ever sees a KL term directly: the KL is whatever the optimizer
spends fitting the pairs.

**Why it overoptimizes.** DPO's loss falls for as long as the margins on the training pairs
grow, and with hard labels (the gold RM always prefers the chosen side) it can fall forever:
nothing stops the policy from pushing Δ_c − Δ_r far past anything the comparisons justify,
onto responses no comparison ever showed. The implicit reward is a reward model learned from
finite data, and the policy optimizes it in the same breath: Goodhart without an explicit RM
(Rafailov et al. 2024, "Scaling laws for reward model overoptimization in direct alignment
algorithms").

**What is measured.** At each checkpoint (step 0, before any update, then every `eval_every`
optimizer steps and at the end) `train_dpo` samples a batch from the current policy and
records the sampled KL(π ‖ π_init) (estimator k1 summed over response tokens, as ppo.py) and
the mean gold score of the samples, the implicit reward's accuracy on held-out comparisons,
and the loss on held-out pairs and on as many training pairs.
"""

import copy
from dataclasses import dataclass

import torch
from tqdm.auto import tqdm

from minirmo.kl import sampled_kl
from minirmo.policy import check_positive, response_logprobs, response_mask, sample
from minirmo.reward import bradley_terry_loss
from minirmo.world import World


def dpo_loss(logratio_chosen: torch.Tensor, logratio_rejected: torch.Tensor,
             beta: float) -> torch.Tensor:
    """DPO: −log σ(β(Δ_c − Δ_r)), averaged over pairs; ln 2 when the policy is the reference.

    logratio_chosen, logratio_rejected: (pairs,) Δ = log π(y) − log π_ref(y) of each side
    It is the Bradley–Terry loss (`reward.bradley_terry_loss`) of the implicit reward margins
    β(Δ_c − Δ_r) against 0, and calls it: β(Δ_c − Δ_r) − 0 is exactly β(Δ_c − Δ_r), so the
    loss and its gradient are those of writing the logsigmoid out here, bit for bit.
    """
    margin = logratio_chosen - logratio_rejected  # (pairs,)
    return bradley_terry_loss(beta * margin, torch.zeros_like(margin))


def ipo_loss(logratio_chosen: torch.Tensor, logratio_rejected: torch.Tensor,
             beta: float) -> torch.Tensor:
    """IPO: ((Δ_c − Δ_r) − 1/(2β))², averaged over pairs; 0 when every margin is 1/(2β)."""
    margin = logratio_chosen - logratio_rejected  # (pairs,)
    return ((margin - 1 / (2 * beta)) ** 2).mean()


LOSSES = {"dpo": dpo_loss, "ipo": ipo_loss}


@dataclass
class DPOConfig:
    loss: str = "dpo"  # "dpo" or "ipo" (`LOSSES`)
    beta: float = 0.1  # the pull to the reference: smaller spends more KL
    epochs: int = 2  # passes over the training pairs
    batch_size: int = 64  # pairs per step
    # Adam, constant. 3e-4 on 3,600 pairs: at beta 0.01 the gold peaks within the first epoch
    # and falls through the second. At 1e-3 it is at its best by step 20 and then swings by
    # +-0.5 from one checkpoint to the next (seed 0 of the test preset).
    lr: float = 3e-4
    eval_every: int = 8  # optimizer steps between checkpoints (step 0 is one)
    eval_samples: int = 512  # policy samples per checkpoint, for KL and gold
    val_fraction: float = 0.1  # comparisons held out for the implicit reward's accuracy

    def __post_init__(self):
        if self.loss not in LOSSES:
            raise ValueError(f"loss: unknown loss {self.loss!r}; choose one of {sorted(LOSSES)}")
        if isinstance(self.beta, bool) or not isinstance(self.beta, int | float) \
                or not self.beta > 0:  # also rejects NaN
            raise ValueError(f"beta: must be > 0 (the pull to the reference), "
                             f"got {self.beta!r}")
        check_positive(self, "epochs", "batch_size", "lr", "eval_every", "eval_samples",
                       "val_fraction")
        if not self.val_fraction < 1:
            raise ValueError(f"val_fraction must be < 1, got {self.val_fraction!r}")


def sequence_logprobs(model, sequences: torch.Tensor, prompt_len: int,
                      batch_size: int | None = None) -> torch.Tensor:
    """log π(response | prompt) of whole sequences (pairs, seq_len) -> (pairs,): the sum of the
    response tokens' log-probs up to and including <eos>. With `batch_size`, in chunks (for
    the reference, without gradient)."""
    if batch_size is None:
        return response_logprobs(model, sequences, prompt_len).sum(1)
    return torch.cat([response_logprobs(model, chunk, prompt_len).sum(1)
                      for chunk in sequences.split(batch_size)])


def implicit_accuracy(margin: torch.Tensor) -> float:
    """How often the implicit reward prefers the chosen side, β(Δ_c − Δ_r) > 0 (β > 0, so the
    sign of the margin); a tie counts as half, so the reference itself scores 50%."""
    return ((margin > 0).float() + 0.5 * (margin == 0).float()).mean().item()


def train_dpo(policy, chosen: torch.Tensor, rejected: torch.Tensor, world: World,
              config: DPOConfig | None = None, gold_fn=None,
              generator: torch.Generator | None = None, progress: bool = False) -> list[dict]:
    """Train `policy` in place on comparisons chosen[i] ≻ rejected[i] (each (pairs, seq_len));
    the reference is a frozen copy of `policy` as given. Returns one record per checkpoint:

    step (optimizer steps so far), epoch (passes so far, fractional), kl (sampled
    KL(π ‖ π_init) of `eval_samples` fresh samples), gold (their mean gold_fn score, if given),
    implicit_acc (on the held-out pairs), val_loss and train_loss (the loss on the held-out
    pairs and on as many fixed training pairs).
    """
    config = config or DPOConfig()
    if chosen.shape != rejected.shape:
        raise ValueError(f"rejected: shape {tuple(rejected.shape)} != chosen {tuple(chosen.shape)}")
    loss_fn, beta = LOSSES[config.loss], config.beta
    P, T = world.prompt_len, world.max_len
    reference = copy.deepcopy(policy).requires_grad_(False).eval()
    policy.requires_grad_(True).eval()  # dropout is off; eval() keeps it so

    # the reference's log-probs never change: compute them once, (pairs,) each
    with torch.no_grad():
        ref_chosen = sequence_logprobs(reference, chosen, P, batch_size=1024)
        ref_rejected = sequence_logprobs(reference, rejected, P, batch_size=1024)
    order = torch.randperm(len(chosen), generator=generator).to(chosen.device)
    n_val = max(1, int(config.val_fraction * len(chosen)))
    val, train = order[:n_val], order[n_val:]
    train_probe = train[:n_val]  # fixed training pairs on which the loss is tracked
    batch_size = min(config.batch_size, len(train))
    steps_per_epoch = len(train) // batch_size
    total = config.epochs * steps_per_epoch

    def margins(idx):  # (len(idx),) Δ_c − Δ_r, and the loss on those pairs
        logratio_c = sequence_logprobs(policy, chosen[idx], P) - ref_chosen[idx]
        logratio_r = sequence_logprobs(policy, rejected[idx], P) - ref_rejected[idx]
        return logratio_c - logratio_r, loss_fn(logratio_c, logratio_r, beta)

    @torch.no_grad()
    def checkpoint(step: int) -> dict:
        prompts = world.prompts[world.sample_topics(config.eval_samples, generator)]
        sequences, logp = sample(policy, prompts, T, 1.0, generator)  # (S, P+T), (S, T)
        logp_ref = response_logprobs(reference, sequences, P)  # (S, T)
        mask = response_mask(sequences[:, P:], world.tokenizer.eos_id)  # (S, T)
        val_margin, val_loss = margins(val)
        record = {"step": step, "epoch": step / steps_per_epoch,
                  "kl": sampled_kl(logp, logp_ref, mask, "k1").mean().item()}
        if gold_fn is not None:
            record["gold"] = gold_fn(sequences).float().mean().item()
        return record | {"implicit_acc": implicit_accuracy(val_margin),
                         "val_loss": val_loss.item(), "train_loss": margins(train_probe)[1].item()}

    optimizer = torch.optim.Adam(policy.parameters(), lr=config.lr)
    records = [checkpoint(0)]
    bar = tqdm(total=total, desc=f"{config.loss.upper()} beta={beta:g}", disable=not progress)
    step = 0
    for _ in range(config.epochs):
        shuffled = train[torch.randperm(len(train), generator=generator).to(train.device)]
        for start in range(0, steps_per_epoch * batch_size, batch_size):
            _, loss = margins(shuffled[start : start + batch_size])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
            bar.update()
            if step % config.eval_every == 0 or step == total:
                records.append(checkpoint(step))
                bar.set_postfix(kl=f"{records[-1]['kl']:.2f}", loss=f"{loss.item():.3f}")
    bar.close()
    policy.requires_grad_(False)
    return records
