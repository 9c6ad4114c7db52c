"""Pretraining a reward model on cheap, noisy verdicts: what a size knows before comparisons.

In the paper every proxy RM starts from a pretrained language model, so what an RM of a given
size knows before its first comparison comes from pretraining on text that is cheap, plentiful
and full of people's judgments (reviews with their stars, replies that agree or object). The
comparisons labelled for it are the dear part. A proxy trained from random weights has only the
dear part, and once comparisons are plentiful every size learns the same thing from them.

This module gives the toy the cheap part. A *verdict corpus* is many reviews from a broad
distribution (the teacher's reviews, and a share pushed into the tails by `World.perturb`),
each followed by the star rating a reader left: the hidden utility plus noise, cut into
`ratings` equally common grades. No gold RM and no comparison is spent on it. A reward model's
backbone is pretrained on it as a language model of the reviews that also predicts the
rating at the review's last token, the very position the RM's head reads. (The rating is a
token that follows the review; it is predicted by a head of its own rather than added to the
vocabulary, so that the world's vocabulary, and every model already trained in it, stays as
it is.)

A larger backbone fits more of the corpus: the rare phrases of the reader's taste, the subtler
traps. So after pretraining, size decides what a proxy knows, as in the paper.
"""

from dataclasses import dataclass

import torch
from torch import nn
from tqdm.auto import tqdm

from minirmo.policy import check_positive, response_mask
from minirmo.reward import RewardModel, RMConfig
from minirmo.world import World


@dataclass
class PretrainConfig:
    texts: int = 200_000  # reviews in the verdict corpus (the proxies' most comparisons: 32,000)
    perturbed_fraction: float = 0.3  # share pushed into a tail (`World.perturb`)
    verdict_noise: float = 1.0  # std of the noise on the utility, in units of its std
    ratings: int = 5  # grades of the verdict, equally common over the corpus
    epochs: int = 1
    batch_size: int = 256
    lr: float = 3e-3  # peak of a one-cycle schedule, Adam
    lm_weight: float = 1.0  # weight of the language-model loss beside the rating's

    def __post_init__(self):
        check_positive(self, "texts", "ratings", "epochs", "batch_size", "lr")
        if not 0 <= self.perturbed_fraction <= 1:
            raise ValueError(f"perturbed_fraction must be in [0, 1], got "
                             f"{self.perturbed_fraction!r}")
        if not self.verdict_noise >= 0 or not self.lm_weight >= 0:
            raise ValueError("verdict_noise and lm_weight must be >= 0")


def verdict_corpus(world: World, config: PretrainConfig,
                   generator: torch.Generator | None = None) -> dict:
    """The cheap corpus: {"texts": (texts, seq_len) reviews, "ratings": (texts,) grades in
    0..ratings-1}. A grade is the review's utility plus Gaussian noise of `verdict_noise`
    utility standard deviations, cut at the corpus's quantiles (so the grades are equally
    common, unless the noise is 0 and the utility's ties fall on a cut)."""
    texts = world.corpus(config.texts, generator)  # (texts, prompt_len + max_len)
    tails = torch.rand(len(texts), generator=generator).to(world.device) < config.perturbed_fraction
    texts[tails] = world.perturb(texts[tails], generator)
    utility = world.utility(texts)  # (texts,)
    noise = torch.randn(len(texts), generator=generator).to(world.device)
    verdict = utility + config.verdict_noise * utility.std() * noise
    cuts = torch.quantile(verdict, torch.arange(1, config.ratings, device=world.device)
                          / config.ratings)  # (ratings - 1,)
    return {"texts": texts, "ratings": torch.bucketize(verdict, cuts)}


def pretrain_backbone(world: World, size: RMConfig, corpus: dict, config: PretrainConfig,
                      generator: torch.Generator | None = None, progress: bool = False) -> dict:
    """A reward model's GPT-2 backbone of `size` pretrained on the verdict corpus: next-token
    loss on each review (the output embedding tied to the input's) plus the rating's loss at
    its last real token. Returns the backbone's state dict (`RewardModel.backbone`)."""
    rm = RewardModel(world, size)  # its backbone is what we keep; its head is not trained here
    rating_head = nn.Linear(size.n_embd, config.ratings).to(world.device)
    backbone, texts, ratings = rm.backbone, corpus["texts"], corpus["ratings"]
    parameters = [*backbone.parameters(), *rating_head.parameters()]
    optimizer = torch.optim.AdamW(parameters, lr=config.lr, weight_decay=0.01)
    steps = config.epochs * (len(texts) // config.batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, config.lr, total_steps=steps)
    P, pad, eos = world.prompt_len, world.tokenizer.pad_id, world.tokenizer.eos_id
    bar = tqdm(total=steps, desc=f"pretrain {rm.n_params:,} params", disable=not progress,
               leave=False)
    backbone.train()
    for _ in range(config.epochs):
        order = torch.randperm(len(texts), generator=generator).to(texts.device)
        for start in range(0, len(order) - config.batch_size + 1, config.batch_size):
            rows = order[start:start + config.batch_size]  # (B,)
            batch = texts[rows]  # (B, seq_len)
            attention = batch != pad
            hidden = backbone(batch, attention_mask=attention).last_hidden_state  # (B, T, D)
            logits = hidden[:, P - 1:-1] @ backbone.wte.weight.T  # (B, max_len, vocab)
            responses = batch[:, P:]
            token_loss = nn.functional.cross_entropy(logits.transpose(1, 2), responses,
                                                     reduction="none")  # (B, max_len)
            mask = response_mask(responses, eos)
            lm_loss = (token_loss * mask).sum() / mask.sum()
            last = attention.sum(1) - 1  # (B,) the review's last real token
            at_last = hidden[torch.arange(len(batch), device=batch.device), last]  # (B, D)
            rating_logits = rating_head(at_last)  # (B, ratings)
            rating_loss = nn.functional.cross_entropy(rating_logits, ratings[rows])
            loss = config.lm_weight * lm_loss + rating_loss
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            if bar.update():  # True only when the bar redraws: read the losses only then
                bar.set_postfix(lm=f"{lm_loss.item():.3f}", rating=f"{rating_loss.item():.3f}")
    bar.close()
    return backbone.eval().state_dict()
