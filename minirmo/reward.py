"""Reward models: a GPT-2 backbone with a scalar head, Bradley–Terry training, gold and proxy.

A reward model (RM) reads a whole sequence ``prompt | response`` and returns one number, read
off the hidden state of the last real token (the response's ``<eos>``, or its last word when it
was cut off). It is trained on *comparisons*: pairs (chosen, rejected) of responses to the same
prompt. The Bradley–Terry model says P(chosen ≻ rejected) = σ(r(chosen) − r(rejected)), so the
loss is −log σ(r_c − r_r), and validation accuracy is how often r_c > r_r on held-out pairs.

The paper's two recipes, in this world:

* **gold** stands in for human labellers. It is the largest RM, trained on many pairs labelled
  by the hidden utility (`World.utility`), drawn from a *broad* distribution: policy samples at
  several temperatures plus perturbed samples (`World.perturb`) that reach the bad tails SFT
  rarely visits and, optionally (`GoldConfig.elite_fraction`), the best by the utility of a
  few dozen samples, which reach the good tail. After training it is frozen and treated as the
  truth.
* **proxy** RMs are what gets optimized. They come in many sizes and are trained on pairs of
  ordinary initial-policy samples labelled by the gold RM (hard labels: the higher gold score
  wins; optional label noise flips a fraction). They never see the tails. As in the paper,
  proxies of every size are trained on the same comparisons, and a smaller data set is the
  beginning of a larger one (`runs.Run.comparisons`).

After training every RM is recalibrated as in the paper: shifted so that the initial policy
scores 0 on average; the gold RM is also scaled to unit variance on initial-policy samples, so
gold scores read in standard deviations of the initial policy.
"""

from dataclasses import dataclass, field

import torch
import transformers  # lazy: GPT-2's code loads when a model is built (minirmo/policy.py)
from torch import nn
from tqdm.auto import tqdm

from minirmo.policy import GPT2Size, check_positive, gpt2_config, sample
from minirmo.world import World


@dataclass
class RMConfig(GPT2Size):
    """A reward model's size (2 layers, 32 wide by default)."""

    n_embd: int = 32


@dataclass
class BTConfig:
    """How to train an RM with the Bradley–Terry loss."""

    epochs: int = 2
    batch_size: int = 128
    lr: float = 3e-3
    val_fraction: float = 0.1

    def __post_init__(self):
        check_positive(self, "epochs", "batch_size", "lr", "val_fraction")
        if not self.val_fraction < 1:
            raise ValueError(f"val_fraction must be < 1, got {self.val_fraction!r}")


class RewardModel(nn.Module):
    """GPT-2 backbone + linear head on the last real token; calibrated scores (batch,)."""

    def __init__(self, world: World, config: RMConfig):
        super().__init__()
        self.config = config
        self.pad_id = world.tokenizer.pad_id
        self.backbone = transformers.GPT2Model(gpt2_config(world, config))
        self.head = nn.Linear(config.n_embd, 1)
        # score = (raw - shift) * scale, set by `calibrate`
        self.register_buffer("shift", torch.zeros(()))
        self.register_buffer("scale", torch.ones(()))
        self.to(world.device)

    @property
    def n_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def raw(self, sequences: torch.Tensor) -> torch.Tensor:
        """Uncalibrated scores: sequences (batch, seq_len) -> (batch,)."""
        attention_mask = sequences != self.pad_id
        hidden = self.backbone(sequences, attention_mask=attention_mask).last_hidden_state
        last = attention_mask.sum(1) - 1  # (batch,) index of the last real token (right padding)
        return self.head(hidden[torch.arange(len(sequences)), last]).squeeze(-1)

    def forward(self, sequences: torch.Tensor) -> torch.Tensor:
        return (self.raw(sequences) - self.shift) * self.scale

    @torch.no_grad()
    def score(self, sequences: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
        """Calibrated scores of any number of sequences (..., seq_len) -> (...), in batches."""
        flat = sequences.reshape(-1, sequences.shape[-1])
        scores = torch.cat([self(flat[i : i + batch_size])
                            for i in range(0, len(flat), batch_size)])
        return scores.reshape(sequences.shape[:-1])

    @torch.no_grad()
    def calibrate(self, initial_samples: torch.Tensor, unit_variance: bool = False) -> None:
        """Shift so initial-policy samples score mean 0; with `unit_variance`, also scale them
        to std 1 (otherwise the scale is kept, so a frozen RM can be re-centred on another
        initial policy without changing its units)."""
        raw = torch.cat([self.raw(batch) for batch in initial_samples.split(512)])
        self.shift.copy_(raw.mean())
        if unit_variance:
            self.scale.copy_(1.0 / raw.std())


def bradley_terry_loss(chosen: torch.Tensor, rejected: torch.Tensor) -> torch.Tensor:
    """The Bradley–Terry loss −log σ(r_c − r_r), averaged over pairs.

    chosen, rejected: (pairs,) scores of the preferred and the other response of each pair
    returns:          a scalar tensor; ln 2 ≈ 0.693 when every margin is 0 (chance)
    Computed with logsigmoid, which stays finite for any margin (log(sigmoid(x)) underflows to
    −inf for x below about −100 in float32).
    """
    # BEGIN SOLUTION Task 4.1: the Bradley–Terry loss
    margin = chosen - rejected  # (pairs,)
    return -nn.functional.logsigmoid(margin).mean()
    # END SOLUTION


def train_bradley_terry(rm: RewardModel, chosen: torch.Tensor, rejected: torch.Tensor,
                        config: BTConfig | None = None, generator: torch.Generator | None = None,
                        progress: bool = False) -> dict:
    """Fit `rm` to comparisons chosen[i] ≻ rejected[i] (each (pairs, seq_len)).

    Holds out `val_fraction` of the pairs and returns a report with the final training loss and
    the validation loss and accuracy (ln 2 ≈ 0.693 and 50% are chance).
    """
    config = config or BTConfig()
    if chosen.shape != rejected.shape:
        raise ValueError(f"rejected: shape {tuple(rejected.shape)} != chosen {tuple(chosen.shape)}")
    order = torch.randperm(len(chosen), generator=generator).to(chosen.device)
    n_val = max(1, int(config.val_fraction * len(chosen)))
    val, train = order[:n_val], order[n_val:]
    batch_size = min(config.batch_size, len(train))
    steps = config.epochs * (len(train) // batch_size)
    optimizer = torch.optim.AdamW(rm.parameters(), lr=config.lr, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, config.lr, total_steps=steps)
    rm.train()
    bar = tqdm(total=steps, desc=f"RM {rm.n_params:,} params", disable=not progress, leave=False)
    for _ in range(config.epochs):
        shuffled = train[torch.randperm(len(train), generator=generator).to(train.device)]
        for start in range(0, len(shuffled) - batch_size + 1, batch_size):
            idx = shuffled[start : start + batch_size]
            scores = rm.raw(torch.cat([chosen[idx], rejected[idx]]))  # one pass: (2 * batch,)
            loss = bradley_terry_loss(scores[: len(idx)], scores[len(idx) :])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            if bar.update():  # True only when the bar redraws: read the loss only then
                bar.set_postfix(loss=f"{loss.item():.3f}")
    bar.close()
    rm.eval()
    held_out = pair_loss_and_accuracy(rm, chosen[val], rejected[val])
    return {"train_loss": loss.item(), "val_loss": held_out["loss"],
            "val_acc": held_out["accuracy"], "pairs": len(chosen)}


@torch.no_grad()
def pair_loss_and_accuracy(rm: RewardModel, chosen: torch.Tensor, rejected: torch.Tensor) -> dict:
    """How well `rm` ranks pairs it did not train on: the Bradley–Terry loss and the share of
    pairs it ranks as labelled. chosen, rejected: (pairs, seq_len)."""
    margin = rm.score(chosen) - rm.score(rejected)  # (pairs,)
    return {"loss": bradley_terry_loss(margin, torch.zeros_like(margin)).item(),
            "accuracy": (margin > 0).float().mean().item()}


def label_pairs(first: torch.Tensor, second: torch.Tensor, first_wins: torch.Tensor):
    """Arrange two batches of sequences into (chosen, rejected) by the boolean `first_wins`."""
    wins = first_wins[:, None]
    return torch.where(wins, first, second), torch.where(wins, second, first)


def sample_pairs(policy, world: World, pairs: int, temperatures=(1.0,),
                 generator: torch.Generator | None = None):
    """Two responses to the same prompt for `pairs` random prompts: two (pairs, seq_len).

    Rows are split evenly among `temperatures`; the second response of a pair is sampled at
    the next temperature in the list, so pairs also compare temperatures.
    """
    topic = world.sample_topics(pairs, generator)
    prompts = world.prompts[topic]
    chunks = torch.arange(pairs, device=world.device) * len(temperatures) // pairs
    sides = []
    for shift in (0, 1):
        side = torch.empty(pairs, world.prompt_len + world.max_len, dtype=torch.long,
                           device=world.device)
        for k, temperature in enumerate(temperatures):
            rows = chunks == (k - shift) % len(temperatures)
            side[rows] = sample(policy, prompts[rows], world.max_len, temperature, generator)[0]
        sides.append(side)
    return sides[0], sides[1]


def initial_samples(policy, world: World, generator: torch.Generator | None = None,
                    count: int = 4096) -> torch.Tensor:
    """`count` initial-policy samples (count, seq_len) to random prompts, for calibration."""
    prompts = world.prompts[world.sample_topics(count, generator)]
    return sample(policy, prompts, world.max_len, 1.0, generator)[0]


def utility_best(policy, world: World, prompts: torch.Tensor, k: int,
                 generator: torch.Generator | None = None, batch_size: int = 4096):
    """For each of `prompts` (rows, prompt_len): the best by the hidden utility of `k` fresh
    policy samples to it, what a labeller sees of a strong best-of-k. -> (rows, seq_len)."""
    best = [prompts.new_empty(0, world.prompt_len + world.max_len)]
    per_batch = max(1, batch_size // k)
    for start in range(0, len(prompts), per_batch):
        chunk = prompts[start:start + per_batch]  # (rows, prompt_len)
        candidates = sample(policy, chunk.repeat_interleave(k, 0), world.max_len, 1.0,
                            generator)[0]  # (rows · k, seq_len)
        pick = world.utility(candidates).reshape(len(chunk), k).argmax(1)  # (rows,)
        rows = torch.arange(len(chunk), device=pick.device)
        best.append(candidates.reshape(len(chunk), k, -1)[rows, pick])
    return torch.cat(best)


@dataclass
class GoldConfig:
    rm: RMConfig = field(default_factory=lambda: RMConfig(n_layer=2, n_embd=64))
    pairs: int = 20_000
    temperatures: tuple = (0.7, 1.0, 1.5)
    perturbed_fraction: float = 0.4
    train: BTConfig = field(default_factory=lambda: BTConfig(epochs=4))
    # the good tail: this share of the unperturbed responses is replaced by the utility-best of
    # `elite_k` fresh samples to its prompt (`utility_best`). Without it a gold RM ranks the top
    # of a large best-of-n pool no better than its middle, and every good proxy stops at that
    # ceiling (measured in the graded world before its taste: the paper gold's own best-of-n
    # gained 1.90 at n = 16,384; with 20% of best-of-32 responses, 2.53)
    elite_fraction: float = 0.0
    elite_k: int = 32
    # topic match: the first reply of this share of the pairs also appears beside itself under
    # another topic's prompt (`World.reprompt`), in an extra pair. Trained only on pairs to one
    # prompt, a gold RM never learns to check that a specific belongs to the prompt's topic: a
    # policy that strays off topic looks as good to it (docs/presets.md, "A gold that reads
    # the prompt")
    reprompt_fraction: float = 0.0

    def __post_init__(self):
        check_positive(self, "pairs", "elite_k")
        for name in ("elite_fraction", "reprompt_fraction"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)!r}")


def train_gold(world: World, policy, initial: torch.Tensor, config: GoldConfig | None = None,
               generator: torch.Generator | None = None, progress: bool = False):
    """The gold RM: trained on broad pairs labelled by the hidden utility, then centred and
    scaled on the `initial` policy samples (`initial_samples`). -> (rm, report)."""
    config = config or GoldConfig()
    first, second = sample_pairs(policy, world, config.pairs, config.temperatures, generator)
    for side in (first, second):  # push a fraction of each side into the tails
        rows = torch.rand(len(side), generator=generator).to(world.device)
        rows = rows < config.perturbed_fraction
        side[rows] = world.perturb(side[rows], generator)
        if config.elite_fraction:  # and a fraction of the rest into the good tail
            elite = torch.rand(len(side), generator=generator).to(world.device)
            elite = (elite < config.elite_fraction) & ~rows
            side[elite] = utility_best(policy, world, side[elite, :world.prompt_len],
                                       config.elite_k, generator)
    if config.reprompt_fraction:  # extra pairs: a reply beside itself under another prompt
        replies = first[:round(config.reprompt_fraction * len(first))]
        shift = torch.randint(1, len(world.prompts), (len(replies),), generator=generator)
        first = torch.cat([first, replies])
        second = torch.cat([second, world.reprompt(replies, shift.to(world.device))])
    u_first, u_second = world.utility(first), world.utility(second)
    keep = u_first != u_second  # an exact tie carries no preference: drop it
    chosen, rejected = label_pairs(first[keep], second[keep], (u_first > u_second)[keep])
    rm = RewardModel(world, config.rm)
    report = train_bradley_terry(rm, chosen, rejected, config.train, generator, progress)
    rm.calibrate(initial, unit_variance=True)
    rm.requires_grad_(False)
    return rm, report


def gold_comparisons(policy, world: World, gold: RewardModel, pairs: int,
                     label_noise: float = 0.0, generator: torch.Generator | None = None):
    """The proxies' data: `pairs` comparisons of two initial-policy samples to one prompt, with
    hard labels from the gold RM (the higher gold score wins) of which a fraction
    `label_noise` is flipped at random. -> (chosen, rejected), each (pairs, seq_len)."""
    first, second = sample_pairs(policy, world, pairs, (1.0,), generator)
    first_wins = gold.score(first) > gold.score(second)
    flip = torch.rand(pairs, generator=generator).to(world.device) < label_noise
    return label_pairs(first, second, first_wins ^ flip)
