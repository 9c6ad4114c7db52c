"""Every computation runs on the device of its inputs: checked on "meta" tensors on any machine,
and on CUDA where a GPU is at hand.

A meta tensor has a shape and a dtype but no values, and an operation that mixes it with a CPU
tensor raises, as one that mixes a CUDA tensor with a CPU tensor does. So a function that runs
on meta inputs and returns meta outputs builds no tensor on the CPU to mix in (`bon_estimate`
once built its weight matrix there, and crashed on CUDA). A function that must read values (a
check that raises on bad input, an `.item()`) cannot run on meta; it is checked on CUDA only.

The tests marked `cuda` skip where CUDA is not available; `pytest -m cuda` runs them on a GPU
machine: the functions give on CUDA what they give on the CPU, every command runs a micro
preset on CUDA, sampling waits for no token, and an artefact trained on one device loads on
the other.

On a GPU, reading a tensor's value on the host waits for the GPU. Without one, the training
loops' reads are counted where they are made: with the progress bar off, training a reward
model, SFT and pretraining read as much in 3 epochs as in 1, nothing per step.
"""

import runpy
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from closeness import check_close
from torch import nn

import minirmo
from minirmo import bon
from minirmo.bon import bon_estimate
from minirmo.critic_free import group_normalized_advantages, grpo_loss, leave_one_out_advantages
from minirmo.dpo import dpo_loss, implicit_accuracy, ipo_loss
from minirmo.ensemble import OBJECTIVES, EnsembleConfig, combine, flip_labels
from minirmo.fit import fit_bon
from minirmo.kl import ESTIMATORS, bon_kl, sampled_kl
from minirmo.policy import PolicyConfig, SFTConfig, build_policy, sample, sft
from minirmo.ppo import gae, kl_penalty, policy_loss, update_diagnostics, value_loss
from minirmo.pretrain import PretrainConfig, pretrain_backbone, verdict_corpus
from minirmo.reward import BTConfig, RewardModel, RMConfig, train_bradley_terry
from minirmo.world import World

META = torch.device("meta")
CUDA_HERE = torch.cuda.is_available()


def on_cuda(test):
    """Mark `test` for `pytest -m cuda`, and skip it where CUDA is not available."""
    return pytest.mark.cuda(pytest.mark.skipif(not CUDA_HERE, reason="needs CUDA")(test))


def inputs(device) -> dict:
    """Fixed random inputs of every function below, built on the CPU and moved to `device`;
    "host_mask" stays a numpy array (a mask made on the host)."""
    g = torch.Generator().manual_seed(0)
    B, T, members, pairs = 4, 6, 3, 5
    mask = torch.arange(T)[None, :] < torch.tensor([6, 3, 1, 5])[:, None]  # (B, T) prefixes
    logp = -torch.rand(B, T, generator=g) - 0.1  # (B, T)
    values = torch.randn(B, T, generator=g)
    tensors = {
        "logp": logp, "logp_old": logp + 0.1 * torch.randn(B, T, generator=g),
        "logp_ref": logp + 0.3 * torch.randn(B, T, generator=g), "mask": mask,
        "rewards": torch.randn(B, T, generator=g), "values": values,
        "values_old": values + 0.3 * torch.randn(B, T, generator=g),
        "advantages": torch.randn(B, T, generator=g), "returns": torch.randn(B, T, generator=g),
        "member_scores": torch.randn(members, B, generator=g),  # (members, samples)
        "chosen": torch.randint(10, (pairs, 7), generator=g),  # (pairs, seq_len)
        "rejected": torch.randint(10, (pairs, 7), generator=g),
        "draws": torch.rand(pairs, generator=g),
        "logratio_chosen": torch.randn(pairs, generator=g),
        "logratio_rejected": torch.randn(pairs, generator=g),
        "ns": torch.tensor([1, 2, 16, 1000]),
        # best-of-n pools: (prompts, N) proxy and gold scores, continuous, so no ties
        "proxy": torch.randn(3, 64, generator=g, dtype=torch.float64),
        "gold": torch.randn(3, 64, generator=g, dtype=torch.float64),
        # critic-free groups: (prompts, group size) scores, and one advantage per response
        "group_scores": torch.randn(3, 4, generator=g),
        "response_advantages": torch.randn(B, generator=g),
    }
    return {name: t.to(device) for name, t in tensors.items()} | {"host_mask": mask.numpy()}


# The functions that run on meta tensors: name -> (inputs -> outputs). The marks are the
# course's task markers, so that a task's tests (`pytest -m task_5_1`, and the mutation run of
# benchmarks/mutation.py) include its device check.
RUNS_ON_META = {
    "k1, k2, k3": (lambda x: [k(x["logp_ref"] - x["logp"]) for k in ESTIMATORS.values()],
                   pytest.mark.task_1_3),
    # the mask is made on the host: sampled_kl moves it to the log-probs' device
    "sampled_kl": (lambda x: [sampled_kl(x["logp"], x["logp_ref"], mask, estimator)
                              for mask in (x["host_mask"], x["mask"], None)
                              for estimator in ESTIMATORS], pytest.mark.task_1_4),
    "gae": (lambda x: gae(x["rewards"], x["values"], x["mask"], 1.0, 0.95),
            pytest.mark.task_5_1),
    "policy_loss": (lambda x: policy_loss(x["logp"], x["logp_old"], x["advantages"],
                                          x["mask"].float(), 0.2), pytest.mark.task_5_2),
    "value_loss": (lambda x: value_loss(x["values"], x["values_old"], x["returns"],
                                        x["mask"].float(), 0.2), pytest.mark.task_5_3),
    "kl_penalty": (lambda x: [kl_penalty(x["logp"], x["logp_ref"], x["mask"], 0.1, estimator)
                              for estimator in ESTIMATORS], pytest.mark.task_5_4),
    "leave_one_out_advantages": (lambda x: leave_one_out_advantages(x["group_scores"]),
                                 pytest.mark.task_6_1),
    "group_normalized_advantages": (lambda x: group_normalized_advantages(x["group_scores"]),
                                    pytest.mark.task_6_2),
    "grpo_loss": (lambda x: grpo_loss(x["logp"], x["logp_old"], x["logp_ref"],
                                      x["response_advantages"], x["mask"].float(), 0.2, 0.1),
                  pytest.mark.task_6_3),
    "combine": (lambda x: [combine(x["member_scores"], objective, 1.0)
                           for objective in OBJECTIVES], ()),
    "flip_labels": (lambda x: flip_labels(x["chosen"], x["rejected"], x["draws"], 0.25), ()),
    "dpo_loss, ipo_loss": (lambda x: [loss(x["logratio_chosen"], x["logratio_rejected"], 0.1)
                                      for loss in (dpo_loss, ipo_loss)], ()),
}

# The functions that read values, so run on CUDA only: bon_kl checks its n on the host,
# update_diagnostics and implicit_accuracy return Python floats, bon_estimate checks that its
# scores are finite (its arithmetic is checked on meta below), and fit works in numpy: it is
# checked on a best-of-n curve computed on the device.
READS_VALUES = {
    "bon_kl": lambda x: bon_kl(x["ns"]),
    "update_diagnostics": lambda x: torch.tensor(update_diagnostics(
        x["logp"], x["logp_old"], x["mask"].float(), 0.2)),
    "implicit_accuracy": lambda x: torch.tensor(implicit_accuracy(
        x["logratio_chosen"] - x["logratio_rejected"])),
    "bon_estimate": lambda x: bon_estimate(x["proxy"], x["gold"], x["ns"][:3]),
    "fit_bon of a best-of-n curve": lambda x: torch.tensor(list(fit_bon(
        np.sqrt(bon_kl(np.arange(1, 65))),
        bon_estimate(x["proxy"], x["gold"], list(range(1, 65)))[1].cpu().numpy())),
        dtype=torch.float64),
}


def flat(outputs) -> list[torch.Tensor]:
    """A function's outputs (a tensor, or a list or tuple of them) as a list of tensors."""
    return list(outputs) if isinstance(outputs, list | tuple) else [outputs]


# --- on meta tensors: no function builds a CPU tensor and mixes it in -----------------------


@pytest.mark.parametrize("name", [pytest.param(name, marks=marks)
                                  for name, (_, marks) in RUNS_ON_META.items()])
def test_function_computes_on_the_device_of_its_inputs(name):
    """The function runs on meta inputs (mixing in a CPU tensor would raise) and returns
    tensors on the meta device."""
    function, _ = RUNS_ON_META[name]
    for output in flat(function(inputs(META))):
        assert output.device == META, name


@pytest.mark.task_2_1
@pytest.mark.task_2_2
def test_bon_estimate_computes_on_the_device_of_its_scores(monkeypatch):
    """bon_estimate weighs meta scores with a weight matrix of its own on the meta device (on
    the CPU it crashed on CUDA scores: issue 24)."""
    # The finiteness check reads the scores' values, which a meta tensor does not have: here
    # the scores are only converted, as the check does, and the rest runs as it is.
    monkeypatch.setattr(bon, "_as_scores", lambda x, name: torch.as_tensor(x, dtype=torch.float64))
    x = inputs(META)
    proxy_bon, gold_bon = bon_estimate(x["proxy"], x["gold"], [1, 2, 16])
    assert proxy_bon.device == gold_bon.device == META
    assert proxy_bon.shape == gold_bon.shape == (3,)


# --- sampling on the policy's device ----------------------------------------------------------


class BigramPolicy(nn.Module):
    """A stand-in for the GPT-2 policy, called as `sample` calls it: model(ids, cache,
    use_cache=True) -> (logits (batch, len, vocab), cache). Its logits depend on the last token
    only, so it keeps no cache. It runs no transformers code, whose own input checks read
    values on the host (a meta tensor has none)."""

    def __init__(self, world: World):
        super().__init__()
        tok = world.tokenizer
        self.config = SimpleNamespace(pad_token_id=tok.pad_id, eos_token_id=tok.eos_id)
        self.next_token = nn.Embedding(len(tok), len(tok))  # token -> logits of the next
        self.register_buffer("suppress_tokens", torch.tensor([tok.pad_id, tok.bos_id]))

    def forward(self, ids, cache=None, use_cache=True):
        return self.next_token(ids), cache


def test_sampling_draws_on_the_device_of_the_policy():
    """sample() on a meta policy returns meta tensors: it copies no probabilities to the host
    to draw from them (a meta tensor cannot be copied)."""
    world = World()
    model = BigramPolicy(world).to(META)
    # no generator: a meta device has none of its own (a CUDA one is seeded by `generator`)
    sequences, logp = sample(model, world.prompts.repeat(4, 1).to(META), world.max_len)
    assert sequences.device == logp.device == META
    assert sequences.shape == (4 * len(world.prompts), world.prompt_len + world.max_len)


def sample_before_issue_24(model, prompts, max_len, temperature, generator):
    """`policy.sample` as it was before issue 24 (at cf98080): every token's probabilities are
    drawn from on the CPU, with a list index for the suppressed tokens."""
    cfg = model.config
    suppress = model.suppress_tokens.tolist()
    logits, cache = model(prompts, use_cache=True)[:2]
    tokens, logps = [], []
    done = torch.zeros(prompts.shape[0], dtype=torch.bool, device=prompts.device)
    for _ in range(max_len):
        scaled = logits[:, -1].float() / temperature
        scaled[..., suppress] = -1e9
        logp_all = F.log_softmax(scaled, dim=-1)
        token = torch.multinomial(logp_all.exp().cpu(), 1, generator=generator).to(prompts.device)
        token = token.squeeze(1)
        logp = logp_all.gather(1, token[:, None]).squeeze(1)
        tokens.append(torch.where(done, cfg.pad_token_id, token))
        logps.append(torch.where(done, 0.0, logp))
        done = done | (token == cfg.eos_token_id)
        if done.all():
            break
        logits, cache = model(torch.where(done, cfg.eos_token_id, token)[:, None], cache,
                              use_cache=True)[:2]
    responses = torch.stack(tokens, dim=1)
    logp = torch.stack(logps, dim=1)
    pad = max_len - responses.shape[1]
    responses = F.pad(responses, (0, pad), value=cfg.pad_token_id)
    logp = F.pad(logp, (0, pad), value=0.0)
    return torch.cat([prompts, responses], dim=1), logp


def policies_to_sample(world: World) -> dict:
    """The tiny GPT-2 policy, untrained (responses of every length, through its KV cache), and
    a stand-in that says <eos> about half the time (every row ends early: sampling stops)."""
    torch.manual_seed(0)
    gpt2 = build_policy(world, PolicyConfig(1, 16, 2)).eval()
    short = BigramPolicy(world)
    with torch.no_grad():
        short.next_token.weight.zero_()
        short.next_token.weight[:, world.tokenizer.eos_id] = np.log(len(world.tokenizer))
    return {"gpt2": gpt2, "short responses": short}


@torch.no_grad()
@pytest.mark.parametrize("temperature", [0.7, 1.0])
def test_cpu_samples_are_bit_identical_to_those_before_issue_24(temperature):
    """On the CPU, sample() draws the same tokens and log-probs as before issue 24, and leaves
    the generator in the same state (so every later draw of a run is unchanged too)."""
    world = World()
    prompts = world.prompts.repeat(8, 1)
    for name, model in policies_to_sample(world).items():
        now, before = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
        sequences, logp = sample(model, prompts, world.max_len, temperature, now)
        expected = sample_before_issue_24(model, prompts, world.max_len, temperature, before)
        assert torch.equal(sequences, expected[0]), name
        assert torch.equal(logp, expected[1]), name
        assert torch.equal(now.get_state(), before.get_state()), name
        if name == "short responses":  # every row ended before the last token
            assert (sequences[:, -1] == world.tokenizer.pad_id).all()


# --- training loops read nothing back from the device per step -------------------------------

# The ways Python code reads a tensor's values. On a GPU each waits until the GPU has run every
# kernel queued before it, so a read per step keeps the host from queueing the next step's work.
TENSOR_READS = ("item", "tolist", "numpy", "cpu", "__float__", "__int__", "__index__",
                "__bool__", "__format__", "__contains__")


@pytest.fixture
def reads_by_minirmo(monkeypatch):
    """A Counter of the tensor reads made by minirmo's own code (not torch's, transformers' or
    the test's), by kind, while the test runs."""
    package = str(Path(minirmo.__file__).parent)
    counts = Counter()

    def counted(name: str):
        read = getattr(torch.Tensor, name)

        def counting(self, *args, **kwargs):
            if sys._getframe(1).f_code.co_filename.startswith(package):
                counts[name] += 1
            return read(self, *args, **kwargs)
        return counting

    for name in TENSOR_READS:
        monkeypatch.setattr(torch.Tensor, name, counted(name))
    return counts


def reads_at_two_lengths(counts: Counter, train) -> tuple[Counter, Counter]:
    """The reads of `train(epochs)` at 1 and at 3 epochs."""
    found = []
    for epochs in (1, 3):
        counts.clear()
        train(epochs)
        found.append(Counter(counts))
    return found[0], found[1]


@pytest.fixture(scope="module")
def world():
    return World()


def test_the_read_counter_counts_the_reads_of_minirmo_s_code(reads_by_minirmo):
    """The counter has teeth: update_diagnostics, which returns two Python floats, counts as
    two reads."""
    logp = torch.tensor([-1.0, -2.0])
    update_diagnostics(logp, logp - 0.1, torch.ones(2), 0.2)
    assert reads_by_minirmo == Counter(item=2)


def test_training_a_reward_model_reads_nothing_per_step(world, reads_by_minirmo):
    """With its progress bar off, train_bradley_terry reads as many tensors in 3 epochs as in
    1: it reads its losses once, at the end, not once a step."""
    g = torch.Generator().manual_seed(0)
    chosen, rejected = world.corpus(640, g).split(320)  # (320, seq_len) each

    def train(epochs):
        rm = RewardModel(world, RMConfig(1, 16, 2))
        train_bradley_terry(rm, chosen, rejected, BTConfig(epochs=epochs, batch_size=32), g)

    once, thrice = reads_at_two_lengths(reads_by_minirmo, train)
    assert once == thrice and sum(once.values()) > 0, (once, thrice)


def test_sft_reads_its_losses_once(world, reads_by_minirmo):
    """With its progress bar off, sft reads as many tensors in 3 epochs as in 1: the loss of
    every step comes back from the device in one read at the end."""

    def train(epochs):
        model = build_policy(world, PolicyConfig(1, 16, 2))
        losses = sft(model, world, SFTConfig(corpus_size=256, epochs=epochs, batch_size=32),
                     torch.Generator().manual_seed(0))
        assert len(losses) == epochs * 256 // 32 and all(type(x) is float for x in losses)

    once, thrice = reads_at_two_lengths(reads_by_minirmo, train)
    assert once == thrice and once["tolist"] == 1, (once, thrice)


def test_pretraining_a_backbone_reads_nothing_per_step(world, reads_by_minirmo):
    """With its progress bar off, pretrain_backbone reads as many tensors in 3 epochs as in
    1."""
    corpus = verdict_corpus(world, PretrainConfig(texts=256), torch.Generator().manual_seed(0))

    def train(epochs):
        pretrain_backbone(world, RMConfig(1, 16, 2), corpus,
                          PretrainConfig(texts=256, epochs=epochs, batch_size=32),
                          torch.Generator().manual_seed(1))

    once, thrice = reads_at_two_lengths(reads_by_minirmo, train)
    assert once == thrice, (once, thrice)


# --- on CUDA (skipped where it is not available) ----------------------------------------------


@on_cuda
@pytest.mark.parametrize("name", [*RUNS_ON_META, *READS_VALUES])
def test_function_gives_on_cuda_what_it_gives_on_the_cpu(name):
    """The function gives on CUDA inputs what it gives on CPU inputs, to float rounding, and
    its tensors on CUDA."""
    function = RUNS_ON_META[name][0] if name in RUNS_ON_META else READS_VALUES[name]
    on_gpu, on_cpu = flat(function(inputs("cuda"))), flat(function(inputs("cpu")))
    for got, expected in zip(on_gpu, on_cpu, strict=True):
        if name in RUNS_ON_META:  # (the others may return Python numbers)
            assert got.device.type == "cuda", name
        tol = 1e-10 if expected.dtype == torch.float64 else 1e-5
        check_close(name, got.cpu(), expected, tol, "a GPU may sum in another order")


@on_cuda
def test_sampling_on_cuda_waits_for_no_token():
    """sample() on CUDA draws every token on the GPU: its own loop makes no host sync (torch's
    sync debug mode raises on one; the stand-in policy runs no transformers code, whose GPT-2
    reads token ids on the host at each call)."""
    world = World(None, "cuda")
    model = BigramPolicy(world).cuda()
    generator = torch.Generator().manual_seed(0)
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        sample(model, world.prompts.repeat(64, 1), world.max_len, 1.0, generator)
    finally:
        torch.cuda.set_sync_debug_mode("default")


@on_cuda
def test_same_seed_gives_the_same_bits_on_one_gpu():
    """On one GPU, the same seed gives the same samples, and the same SFT policy, run after
    run."""
    world = World(None, "cuda")
    policies, samples = [], []
    for _ in range(2):
        torch.manual_seed(0)
        model = build_policy(world, PolicyConfig(1, 16, 2))
        generator = torch.Generator().manual_seed(1)
        sft(model, world, SFTConfig(corpus_size=256, epochs=1, batch_size=64), generator)
        policies.append(model.state_dict())
        samples.append(sample(model, world.prompts.repeat(16, 1), world.max_len, 1.0,
                              generator)[0])
    assert all(torch.equal(policies[0][k], policies[1][k]) for k in policies[0])
    assert torch.equal(samples[0], samples[1])


def micro_preset():
    """The micro preset of tests/test_runs.py with every optional study (as its prepared_micro
    fixture): each model trains in seconds. (Imported here: the mutation benchmark copies this
    file without test_runs.py and runs no CUDA test.)"""
    from test_runs import MICRO

    return replace(MICRO, second_policy=PolicyConfig(1, 32, 2),
                   ensembles=EnsembleConfig(members=2, label_noise=(0.0,)))


@on_cuda
def test_every_command_runs_a_micro_preset_on_cuda(tmp_path, monkeypatch):
    """`minirmo bon`, `rl`, `dpo`, `ensembles` and `reproduce` with `--device cuda` finish on
    a micro preset and write their CSVs."""
    from minirmo.cli import main
    from minirmo.runs.presets import PRESETS

    monkeypatch.setitem(PRESETS, "micro", micro_preset())
    for command in ("bon", "rl", "dpo", "ensembles", "reproduce"):
        main([command, "--preset", "micro", "--seed", "0", "--device", "cuda", "--jobs", "1",
              "--out", str(tmp_path)])
    written = {p.name for p in tmp_path.glob("*.csv")}
    assert {"rm.csv", "bon.csv", "rl.csv", "dpo.csv", "ensembles.csv", "fits.csv"} <= written


@on_cuda
@pytest.mark.parametrize("trained_on, loaded_on", [("cuda", "cpu"), ("cpu", "cuda")])
def test_an_artefact_trained_on_one_device_loads_on_the_other(tmp_path, trained_on, loaded_on):
    """A policy trained and cached on one device loads from the same folder on the other, on
    that device, bit for bit, with nothing retrained."""
    from minirmo.runs.run import Run

    trained = Run(micro_preset(), tmp_path, trained_on, progress=False).policy()
    run = Run(micro_preset(), tmp_path, loaded_on, progress=False)
    loaded = run.policy()
    assert run.cache.computed == []
    for (name, got), expected in zip(loaded.state_dict().items(),
                                     trained.state_dict().values(), strict=True):
        assert got.device.type == loaded_on, name
        assert torch.equal(got.cpu(), expected.cpu()), name


TUTORIALS = sorted((Path(__file__).resolve().parent.parent / "tutorials").glob("*.py"))
MODEL_TUTORIALS = [path for path in TUTORIALS if "Run(" in path.read_text(encoding="utf-8")]


@pytest.mark.skipif(CUDA_HERE, reason="needs a machine without CUDA")
@pytest.mark.parametrize("path", MODEL_TUTORIALS, ids=lambda p: p.name)
def test_a_tutorial_puts_its_models_on_the_device_minirmo_device_names(path, tmp_path,
                                                                       monkeypatch):
    """A tutorial that trains models builds them on `MINIRMO_DEVICE`: asked for CUDA where
    there is none, it stops at its first run with the error naming the device, before it
    trains or loads anything (so on a GPU it trains there)."""
    from minirmo.runs.cache import Cache

    def no_artefact(*args, **kwargs):
        raise AssertionError(f"{path.name} reached an artefact without checking the device")

    monkeypatch.setattr(Cache, "get", no_artefact)
    for name, value in (("MINIRMO_DEVICE", "cuda"), ("MINIRMO_FAST", "1"),
                        ("MINIRMO_OUT", str(tmp_path / "out")),
                        ("MINIRMO_RUN_DIR", str(tmp_path / "run")), ("MPLBACKEND", "Agg")):
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="device: 'cuda' requested but CUDA is not available"):
        runpy.run_path(str(path), run_name="__main__")
    assert not (tmp_path / "run").exists()


def test_the_tutorials_without_a_run_are_those_that_train_no_model():
    """Only the tutorials that train no model build no `Run` (a new tutorial that trains one
    must build it on `MINIRMO_DEVICE`, which the test above checks)."""
    without = {path.name for path in TUTORIALS} - {path.name for path in MODEL_TUTORIALS}
    assert without == {"01_goodhart.py", "02_setup_and_bon_kl.py", "09_graded_traps.py",
                       "11_ppo_pieces.py"}
