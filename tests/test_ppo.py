"""PPO from scratch: GAE, exact KL and reward on an enumerable problem, the KL penalty, bad input.

The enumerable problem: the real world with responses of at most 2 tokens and a tiny untrained
policy. There are 65 + 64·65 = 4,225 possible responses per prompt, so the policy's exact
distribution, its exact KL from the initial policy and its exact expected reward can be
computed by listing them all.
"""

import copy

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from minirmo.policy import PolicyConfig, build_policy, response_logprobs
from minirmo.ppo import PPOConfig, gae, train_ppo
from minirmo.world import World, WorldConfig


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Run this module single-threaded: these matrices are tiny, and on a shared CPU two
    spinning threads fighting another process for two cores are ~10-100x slower than one."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


TINY_PPO = dict(steps=8, batch_size=256, minibatch_size=64, epochs=4, lr=2e-3, sample_every=4)


# --- GAE ------------------------------------------------------------------------------------


def gae_loop(rewards, values, lengths, gamma, lam):
    """Advantages and returns row by row, token by token, in plain Python floats."""
    advantages, returns = [], []
    for r, v, n in zip(rewards.tolist(), values.tolist(), lengths, strict=True):
        adv = [0.0] * len(r)
        running = 0.0
        for t in reversed(range(n)):
            next_value = v[t + 1] if t + 1 < n else 0.0  # no bootstrap after the last token
            running = r[t] + gamma * next_value - v[t] + gamma * lam * running
            adv[t] = running
        advantages.append(adv)
        returns.append([a + v[t] if t < n else 0.0 for t, a in enumerate(adv)])
    return (torch.tensor(advantages, dtype=torch.float64),
            torch.tensor(returns, dtype=torch.float64))


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 6), st.integers(1, 8), st.floats(0, 1), st.floats(0, 1),
       st.integers(0, 2**31 - 1))
def test_gae_equals_a_plain_loop(batch, T, gamma, lam, seed):
    """gae() matches a token-by-token loop for any rewards, values and prefix masks."""
    g = torch.Generator().manual_seed(seed)
    rewards = torch.randn(batch, T, generator=g, dtype=torch.float64)
    values = torch.randn(batch, T, generator=g, dtype=torch.float64)
    lengths = torch.randint(0, T + 1, (batch,), generator=g).tolist()
    mask = torch.arange(T)[None, :] < torch.tensor(lengths)[:, None]  # prefix of ones per row
    advantages, returns = gae(rewards, values, mask, gamma, lam)
    expected_adv, expected_ret = gae_loop(rewards, values, lengths, gamma, lam)
    torch.testing.assert_close(advantages, expected_adv, rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(returns, expected_ret, rtol=1e-9, atol=1e-9)


# --- the enumerable problem -----------------------------------------------------------------


@pytest.fixture(scope="module")
def world():
    return World(WorldConfig(max_len=2))


def praise_first(world):
    """Reward 1 if the response's first word is a praise word, else 0."""
    return lambda sequences: torch.isin(sequences[:, world.prompt_len], world.praise_ids).float()


def all_sequences(world):
    """Every possible sequence: (topics, R, prompt_len + 2), R = 65 + 64·65 responses each."""
    tok = world.tokenizer
    words = torch.arange(world.first_word, len(tok))
    allowed = torch.cat([words, torch.tensor([tok.eos_id])])
    first = torch.cat([torch.tensor([tok.eos_id]), words.repeat_interleave(len(allowed))])
    second = torch.cat([torch.tensor([tok.pad_id]), allowed.repeat(len(words))])
    responses = torch.stack([first, second], 1)  # (R, 2)
    prompts = world.prompts[:, None].expand(-1, len(responses), -1)
    return torch.cat([prompts, responses.expand(len(world.prompts), -1, -1)], 2)


@torch.no_grad()
def sequence_logprobs(model, world, sequences):
    """log π(y | prompt) of every sequence (topics, R) -> (topics, R)."""
    flat = sequences.reshape(-1, sequences.shape[-1])
    return response_logprobs(model, flat, world.prompt_len).sum(1).reshape(sequences.shape[:2])


def run_ppo(world, **overrides):
    """Train a fresh tiny policy; return (initial policy, records, policy after every step)."""
    torch.manual_seed(0)
    policy = build_policy(world, PolicyConfig(n_layer=1, n_embd=16, n_head=2))
    initial = copy.deepcopy(policy)
    snapshots = []
    records = train_ppo(policy, praise_first(world), world, PPOConfig(**{**TINY_PPO, **overrides}),
                        generator=torch.Generator().manual_seed(0),
                        callback=lambda record: snapshots.append(copy.deepcopy(policy)))
    return initial, records, snapshots


@pytest.fixture(scope="module")
def unpenalized(world):
    return run_ppo(world, kl_coef=0.0)


def test_ppo_raises_the_exact_expected_reward(world, unpenalized):
    """E_π[reward], summed over all responses, is higher after PPO than before."""
    initial, _, snapshots = unpenalized
    sequences = all_sequences(world)
    reward = praise_first(world)(sequences.reshape(-1, sequences.shape[-1])).reshape(
        sequences.shape[:2])
    logp0 = sequence_logprobs(initial, world, sequences)
    torch.testing.assert_close(logp0.exp().sum(1), torch.ones(len(world.prompts)))  # complete
    before = (logp0.exp() * reward).sum(1).mean().item()
    after = (sequence_logprobs(snapshots[-1], world, sequences).exp() * reward).sum(1).mean()
    assert after.item() > before + 0.2, (before, after.item())


def test_recorded_kl_matches_the_exact_kl_within_five_standard_errors(world, unpenalized):
    """Each step's sampled KL equals the enumerated KL(π‖π_init) of the policy that sampled it."""
    initial, records, snapshots = unpenalized
    sequences = all_sequences(world)
    logp0 = sequence_logprobs(initial, world, sequences)
    assert records[0]["kl"] == 0.0  # step 0 samples the initial policy itself
    for record, policy in zip(records[1:], snapshots[:-1], strict=True):
        logp = sequence_logprobs(policy, world, sequences)  # (topics, R)
        log_ratio = logp - logp0  # the k1 estimate of one sequence
        kl = (logp.exp() * log_ratio).sum(1).mean()  # topics are uniform
        second_moment = (logp.exp() * log_ratio**2).sum(1).mean()
        std_error = ((second_moment - kl**2) / TINY_PPO["batch_size"]).sqrt()
        assert abs(record["kl"] - kl.item()) < 5 * std_error.item() + 1e-4, (record["step"], kl)
    assert records[-1]["kl"] > 0.3  # the check above covered a real range of KL


def test_kl_grows_without_a_penalty_and_a_penalty_holds_it_lower(world, unpenalized):
    """With kl_coef 0 the KL to π_init grows; kl_coef 1 (same seed, same reward) keeps it lower."""
    _, free, _ = unpenalized
    _, penalized, _ = run_ppo(world, kl_coef=1.0)
    kl_free = [r["kl"] for r in free]
    kl_penalized = [r["kl"] for r in penalized]
    assert sum(kl_free[-3:]) > 5 * sum(kl_free[1:4]) > 0
    assert sum(kl_penalized[-3:]) < 0.5 * sum(kl_free[-3:])
    assert all(r["kl_coef"] == 1.0 for r in penalized)


def test_records_hold_every_metric_and_samples_every_sample_every_steps(unpenalized):
    """Each record has the documented keys; decoded samples appear at steps 0, 4, ..."""
    _, records, _ = unpenalized
    keys = {"step", "kl", "kl_k3", "proxy", "length", "entropy", "clip_frac", "approx_kl",
            "value_loss", "kl_coef"}
    for record in records:
        assert keys <= record.keys()
        assert ("samples" in record) == (record["step"] % TINY_PPO["sample_every"] == 0)
    assert all(s.startswith("<bos>") for s in records[0]["samples"])


def test_adaptive_controller_moves_kl_coef_toward_the_target(world):
    """Ziegler's controller raises β while KL is above the target and lowers it while below."""
    _, above, _ = run_ppo(world, steps=5, kl_coef=0.1, adaptive_kl_target=1e-3)
    _, below, _ = run_ppo(world, steps=5, kl_coef=0.1, adaptive_kl_target=100.0)
    beta_above = [r["kl_coef"] for r in above]
    beta_below = [r["kl_coef"] for r in below]
    assert beta_above[0] == beta_below[0] == 0.1
    assert all(b > a for a, b in zip(beta_above[1:], beta_above[2:], strict=False))
    assert all(b < a for a, b in zip(beta_below, beta_below[1:], strict=False))


def test_truncation_penalty_teaches_the_policy_to_finish(world):
    """Rewarding unfinished responses with −1 (0 otherwise) makes PPO emit <eos> more often."""
    torch.manual_seed(0)
    policy = build_policy(world, PolicyConfig(n_layer=1, n_embd=16, n_head=2))
    config = PPOConfig(**{**TINY_PPO, "steps": 6, "truncation_penalty": -1.0})
    records = train_ppo(policy, lambda s: torch.zeros(len(s)), world, config,
                        generator=torch.Generator().manual_seed(0))
    assert records[0]["truncated"] > 0.9  # an untrained policy rarely says <eos>
    assert records[-1]["truncated"] < records[0]["truncated"] - 0.2
    assert all(r["proxy"] == 0.0 for r in records)  # proxy is reward_fn's own score


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize("field, value", [
    ("minibatch_size", 100), ("kl_estimator", "k4"), ("kl_coef", -0.1), ("steps", 0),
    ("lr", 0.0), ("clip", -1.0), ("gamma", 1.5), ("lam", -0.1), ("temperature", 0.0),
    ("adaptive_kl_target", -1.0),
])
def test_bad_config_raises_value_error_naming_the_field(field, value):
    """An out-of-range PPOConfig field raises ValueError whose message names it."""
    with pytest.raises(ValueError, match=field):
        PPOConfig(**{field: value})


def test_adaptive_kl_needs_a_positive_starting_coefficient():
    """adaptive_kl_target with kl_coef 0 is refused: a multiplicative controller stays at 0."""
    with pytest.raises(ValueError, match="kl_coef"):
        PPOConfig(adaptive_kl_target=1.0, kl_coef=0.0)


def test_reward_fn_of_the_wrong_shape_raises_value_error(world):
    """A reward_fn that does not return one score per rollout raises ValueError naming it."""
    policy = build_policy(world, PolicyConfig(n_layer=1, n_embd=16, n_head=2))
    with pytest.raises(ValueError, match="reward_fn"):
        train_ppo(policy, lambda s: torch.zeros(len(s), 1), world,
                  PPOConfig(steps=1, batch_size=8, minibatch_size=8))
