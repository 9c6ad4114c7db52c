"""The tiny policy: a GPT-2 built from a config, supervised fine-tuning, sampling, log-probs.

The policy plays the paper's SFT model. It is a `transformers` GPT-2 small enough to train on a
CPU in seconds (2 layers, 64 wide by default) and built from a config, so nothing is downloaded.

Sequences are laid out as ``prompt | response``: a prompt of ``world.prompt_len`` tokens
(``<bos> topic :``) then ``world.max_len`` response tokens. A response ends with ``<eos>``; the
positions after it hold ``<pad>``, a token distinct from ``<eos>`` that the model never has to
predict. A response that never says ``<eos>`` simply fills all ``max_len`` positions: it is
*truncated*, and later code can tell it apart because it contains no ``<eos>``.

Two functions are the contract PPO relies on:

* `sample` draws responses with the KV cache and returns the log-probability of every sampled
  token under the *same* temperature it sampled with;
* `response_logprobs` recomputes those log-probs for given responses in one forward pass.

With the same model and temperature the two agree to float precision (a test pins this).
"""

from dataclasses import dataclass

import torch
import torch.nn.functional as F
import transformers  # lazy: GPT-2's code loads on first use (seconds), not for `--help`
from tqdm.auto import tqdm

from minirmo.world import World


def check_positive(config, *names: str) -> None:
    """Raise a ValueError naming the first field of `names` that is not a positive number (a
    positive integer where the field's default is an integer)."""
    for name in names:
        value, default = getattr(config, name), getattr(type(config), name, 1.0)
        integer = isinstance(default, int)
        if isinstance(value, bool) or not isinstance(value, int if integer else int | float) \
                or not value > 0:
            raise ValueError(f"{name} must be a positive {'integer' if integer else 'number'}, "
                             f"got {value!r}")


@dataclass
class GPT2Size:
    """How big a tiny GPT-2 is: layers, width, attention heads (shared by policy and RMs)."""

    n_layer: int = 2
    n_embd: int = 64
    n_head: int = 4

    def __post_init__(self):
        check_positive(self, "n_layer", "n_embd", "n_head")
        if self.n_embd % self.n_head:
            raise ValueError(f"n_embd ({self.n_embd}) must be divisible by n_head "
                             f"({self.n_head})")


@dataclass
class PolicyConfig(GPT2Size):
    """The policy's size (2 layers, 64 wide by default)."""


@dataclass
class SFTConfig:
    corpus_size: int = 16_000
    epochs: int = 2
    batch_size: int = 128
    lr: float = 3e-3

    def __post_init__(self):
        check_positive(self, "corpus_size", "epochs", "batch_size", "lr")


def gpt2_config(world: World, size: GPT2Size) -> "transformers.GPT2Config":
    """A GPT-2 config of `size` for `world`'s vocabulary and sequences, with dropout off.

    Dropout is off everywhere: PPO's probability ratios and reward scores must be
    deterministic functions of the weights. Shared by the policy and the reward models.
    """
    tok = world.tokenizer
    return transformers.GPT2Config(
        vocab_size=len(tok), n_positions=world.prompt_len + world.max_len,
        n_embd=size.n_embd, n_layer=size.n_layer, n_head=size.n_head,
        resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
        bos_token_id=tok.bos_id, eos_token_id=tok.eos_id, pad_token_id=tok.pad_id,
    )


def build_policy(world: World,
                 config: PolicyConfig | None = None) -> "transformers.GPT2LMHeadModel":
    """A freshly initialised GPT-2 language model sized for `world`, dropout off."""
    config = config or PolicyConfig()
    model = transformers.GPT2LMHeadModel(gpt2_config(world, config))
    model = model.to(world.device)
    # a response may hold any word and <eos>, never <pad>, <bos>, ":" or a topic name. A
    # buffer (not saved) moves with the model: masking the logits copies nothing to a GPU.
    suppress = [i for i in range(world.first_word) if i != world.tokenizer.eos_id]
    model.register_buffer("suppress_tokens", torch.tensor(suppress, device=world.device),
                          persistent=False)
    return model


def next_token_logprobs(model, logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """Log-probs over the vocabulary (..., vocab) from raw logits, as sampling uses them.

    Tokens a response may not contain get probability 0 (a large negative logit rather than
    -inf, so that 0 · log 0 stays 0 in the entropy).
    """
    logits = (logits.float() / temperature).index_fill_(-1, model.suppress_tokens, -1e9)
    return F.log_softmax(logits, dim=-1)


def response_mask(responses: torch.Tensor, eos_id: int) -> torch.Tensor:
    """True for the response tokens that count: everything up to and including the first <eos>.

    responses (batch, max_len) -> bool mask (batch, max_len). A truncated response (no <eos>)
    counts in full.
    """
    is_eos = (responses == eos_id).int()
    eos_before = torch.cumsum(is_eos, dim=1) - is_eos  # (batch, max_len): <eos> strictly earlier
    return eos_before == 0


def response_logprobs(model, sequences: torch.Tensor, prompt_len: int, temperature: float = 1.0,
                      return_entropy: bool = False):
    """Log-probs (batch, max_len) of each response token of `sequences` (batch, prompt+max_len).

    Token t of the response is predicted from the logits at position prompt_len + t − 1. The
    logits are divided by `temperature` before the softmax, as in `sample`. Positions after
    <eos> get log-prob 0 (they are padding; mask them with `response_mask`). With
    `return_entropy`, also returns the per-position entropy (batch, max_len) of the policy.
    """
    attention_mask = sequences != model.config.pad_token_id
    logits = model(sequences, attention_mask=attention_mask).logits[:, prompt_len - 1 : -1]
    logp_all = next_token_logprobs(model, logits, temperature)  # (batch, L, vocab)
    responses = sequences[:, prompt_len:]
    logp = logp_all.gather(-1, responses.unsqueeze(-1)).squeeze(-1)  # (batch, L)
    mask = response_mask(responses, model.config.eos_token_id)
    logp = logp * mask
    if not return_entropy:
        return logp
    entropy = -(logp_all.exp() * logp_all).sum(-1) * mask
    return logp, entropy


def device_generator(generator: torch.Generator | None,
                     device: torch.device) -> torch.Generator | None:
    """A generator on `device`, seeded by one draw from the CPU `generator`, so that tokens are
    drawn where the probabilities are, with no copy to the host. None (the device's default
    generator) when `generator` is None."""
    if generator is None:
        return None
    seed = int(torch.randint(2**62, (), generator=generator))
    return torch.Generator(device).manual_seed(seed)


@torch.no_grad()
def sample(model, prompts: torch.Tensor, max_len: int, temperature: float = 1.0,
           generator: torch.Generator | None = None):
    """Sample one response per prompt with the KV cache.

    prompts (batch, prompt_len) -> (sequences (batch, prompt_len + max_len), logp (batch, max_len))
    where logp is the log-probability of each sampled token at `temperature` (0 after <eos>).
    Once a row has said <eos>, the rest of it is <pad>. On the CPU the tokens are drawn from
    `generator` itself; on another device from a generator of that device that `generator`
    seeds once per call (`device_generator`).
    """
    cfg = model.config
    batch, on_cpu = prompts.shape[0], prompts.device.type == "cpu"
    draw_generator = generator if on_cpu else device_generator(generator, prompts.device)
    # The KV cache is passed and read by position: transformers 5 renamed `past_key_values`
    # to `cache`, and (logits, cache) are the first two outputs under either name.
    logits, cache = model(prompts, use_cache=True)[:2]
    tokens, logps = [], []
    done = torch.zeros(batch, dtype=torch.bool, device=prompts.device)
    for _ in range(max_len):
        logp_all = next_token_logprobs(model, logits[:, -1], temperature)  # (batch, vocab)
        # (batch, 1) drawn on the policy's device; since torch 2.5 multinomial checks its input
        # on the GPU without waiting for it
        token = torch.multinomial(logp_all.exp(), 1, generator=draw_generator)
        token = token.squeeze(1)  # (batch,)
        logp = logp_all.gather(1, token[:, None]).squeeze(1)
        tokens.append(torch.where(done, cfg.pad_token_id, token))
        logps.append(torch.where(done, 0.0, logp))
        done = done | (token == cfg.eos_token_id)
        # Stopping early makes the host read `done`: cheap on the CPU, where it saves the steps
        # left, but on a GPU a wait for every token. There the loop runs all max_len steps
        # (finished rows only add <pad>).
        if on_cpu and done.all():
            break
        # finished rows feed <eos> again: their outputs are discarded, and no <pad> enters
        logits, cache = model(torch.where(done, cfg.eos_token_id, token)[:, None], cache,
                              use_cache=True)[:2]
    responses = torch.stack(tokens, dim=1)  # (batch, steps)
    logp = torch.stack(logps, dim=1)
    pad = max_len - responses.shape[1]  # every row ended early: pad to the full width
    responses = F.pad(responses, (0, pad), value=cfg.pad_token_id)
    logp = F.pad(logp, (0, pad), value=0.0)
    return torch.cat([prompts, responses], dim=1), logp


def sample_pool(model, world: World, per_prompt: int, temperature: float = 1.0,
                batch_size: int = 4096, generator: torch.Generator | None = None,
                progress: bool = False) -> torch.Tensor:
    """`per_prompt` samples for every prompt of the world: (prompts, per_prompt, seq_len)."""
    pool = []
    for prompt in tqdm(world.prompts, desc="sampling pool", disable=not progress):
        rows = []
        for start in range(0, per_prompt, batch_size):
            size = min(batch_size, per_prompt - start)
            rows.append(sample(model, prompt.expand(size, -1), world.max_len, temperature,
                               generator)[0])
        pool.append(torch.cat(rows))
    return torch.stack(pool)


def sft(model, world: World, config: SFTConfig | None = None,
        generator: torch.Generator | None = None, progress: bool = False) -> list[float]:
    """Supervised fine-tuning on the teacher's corpus; returns the loss of every step.

    The loss is next-token cross-entropy on response tokens only (the prompt is given), up to
    and including <eos>; padding is ignored.
    """
    config = config or SFTConfig()
    corpus = world.corpus(config.corpus_size, generator)  # (size, prompt_len + max_len)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=0.0)
    steps = config.epochs * (len(corpus) // config.batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, config.lr, total_steps=steps)
    model.train()
    losses = []
    bar = tqdm(total=steps, desc="SFT", disable=not progress)
    for _ in range(config.epochs):
        order = torch.randperm(len(corpus), generator=generator).to(corpus.device)
        for start in range(0, len(order) - config.batch_size + 1, config.batch_size):
            batch = corpus[order[start : start + config.batch_size]]
            logp = response_logprobs(model, batch, world.prompt_len)
            mask = response_mask(batch[:, world.prompt_len:], world.tokenizer.eos_id)
            loss = -(logp.sum() / mask.sum())
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            losses.append(loss.detach())
            if bar.update():  # True only when the bar redraws: read the loss only then
                bar.set_postfix(loss=f"{loss.item():.3f}")
    losses = torch.stack(losses).tolist()  # read from the device once, not once a step
    bar.set_postfix(loss=f"{losses[-1]:.3f}")  # the bar's last line shows the last loss
    bar.close()
    model.eval()
    return losses
