"""PPO from scratch: GAE, exact KL and reward on an enumerable problem, the KL penalty, bad input.

The enumerable problem: the real world with responses of at most 2 tokens and a tiny untrained
policy. There are 65 + 64·65 = 4,225 possible responses per prompt, so the policy's exact
distribution, its exact KL from the initial policy and its exact expected reward can be
computed by listing them all.
"""

import copy
import math

import pytest
import torch
from closeness import check_close
from hypothesis import given, settings
from hypothesis import strategies as st

from minirmo.kl import sampled_kl
from minirmo.policy import PolicyConfig, build_policy, response_logprobs
from minirmo.ppo import (
    PPOConfig,
    gae,
    kl_penalty,
    policy_loss,
    train_ppo,
    update_diagnostics,
    update_kl_coef,
    value_loss,
)
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


# A plain loop over tokens computing GAE would be task 5.1's answer, so it lives in the hidden
# tests (tests_hidden/test_hidden_ppo.py). These check properties that pin GAE instead: the two
# ends of λ, linearity, and that nothing past a row's last token matters.


def _gae_inputs(batch, T, seed):
    """Random float64 (rewards, values) of shape (batch, T), a random prefix mask, the lengths."""
    g = torch.Generator().manual_seed(seed)
    rewards = torch.randn(batch, T, generator=g, dtype=torch.float64)
    values = torch.randn(batch, T, generator=g, dtype=torch.float64)
    lengths = torch.randint(0, T + 1, (batch,), generator=g)
    mask = torch.arange(T)[None, :] < lengths[:, None]  # a prefix of True per row
    return rewards, values, mask, lengths


@pytest.mark.task_5_1
@settings(max_examples=50, deadline=None)
@given(st.integers(1, 6), st.integers(1, 8), st.floats(0, 1), st.integers(0, 2**31 - 1))
def test_gae_at_lambda_zero_is_the_one_step_td_error(batch, T, gamma, seed):
    """With λ = 0 each advantage is δ_t = r_t + γ·V(s_{t+1}) − V(s_t), where the value after a
    row's last token is 0 (no bootstrap), and everything past the row is 0."""
    rewards, values, mask, _ = _gae_inputs(batch, T, seed)
    advantages, returns = gae(rewards, values, mask, gamma, 0.0)
    following = torch.zeros_like(values)  # V(s_{t+1}) where token t+1 is in the row, else 0
    following[:, :-1] = values[:, 1:] * mask[:, 1:]
    td_error = (rewards + gamma * following - values) * mask
    torch.testing.assert_close(advantages, td_error, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(returns, (td_error + values) * mask, rtol=1e-12, atol=1e-12)


@pytest.mark.task_5_1
@settings(max_examples=50, deadline=None)
@given(st.integers(1, 6), st.integers(1, 8), st.integers(0, 2**31 - 1))
def test_gae_at_gamma_and_lambda_one_is_the_reward_to_go_minus_the_value(batch, T, seed):
    """With γ = λ = 1 the return at t is the sum of the row's rewards from t on (Monte Carlo),
    and the advantage is that minus V(s_t)."""
    rewards, values, mask, lengths = _gae_inputs(batch, T, seed)
    advantages, returns = gae(rewards, values, mask, 1.0, 1.0)
    to_go = torch.zeros_like(rewards)
    for row, n in enumerate(lengths.tolist()):
        for t in range(n):
            to_go[row, t] = rewards[row, t:n].sum()
    torch.testing.assert_close(returns, to_go, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(advantages, (to_go - values) * mask, rtol=1e-12, atol=1e-12)


@pytest.mark.task_5_1
@settings(max_examples=50, deadline=None)
@given(st.integers(1, 6), st.integers(1, 8), st.floats(0, 1), st.floats(0, 1),
       st.integers(0, 2**31 - 1))
def test_gae_is_linear_and_ignores_what_lies_past_each_row(batch, T, gamma, lam, seed):
    """gae(r1 + 2·r2, V1 + 2·V2) = gae(r1, V1) + 2·gae(r2, V2) for any γ, λ; rewards and
    values past a row's last token change nothing; returns − advantages = V on the row."""
    r1, v1, mask, _ = _gae_inputs(batch, T, seed)
    r2, v2, _, _ = _gae_inputs(batch, T, seed + 1)
    a1, ret1 = gae(r1, v1, mask, gamma, lam)
    a2, ret2 = gae(r2, v2, mask, gamma, lam)
    both, ret_both = gae(r1 + 2 * r2, v1 + 2 * v2, mask, gamma, lam)
    torch.testing.assert_close(both, a1 + 2 * a2, rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(ret_both, ret1 + 2 * ret2, rtol=1e-9, atol=1e-9)
    scrambled = gae(torch.where(mask, r1, 1e6), torch.where(mask, v1, -1e6), mask, gamma, lam)
    torch.testing.assert_close(scrambled[0], a1, rtol=1e-9, atol=1e-9)  # a leak would be ~1e6
    torch.testing.assert_close(scrambled[1], ret1, rtol=1e-9, atol=1e-9)
    torch.testing.assert_close((ret1 - a1) * mask, v1 * mask, rtol=1e-12, atol=1e-12)


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


# --- the loss terms, on inputs small enough to check by hand ----------------------------------

# float64 on a handful of terms: beyond ~1e-12 the code computes a different formula.
EXACT = 1e-12


def f64(*rows):
    """A float64 tensor of the given rows."""
    return torch.tensor(rows, dtype=torch.float64)


@pytest.mark.task_5_1
def test_gae_of_one_episode_is_hand_computable():
    """γ = 1, λ = ½, rewards (0, 0, 1), values (.5, .2, .1): A = (−.125, .35, .9).

    δ = (0 + .2 − .5, 0 + .1 − .2, 1 − .1) = (−.3, −.1, .9), and A_t = δ_t + γλ·A_{t+1}. The
    second row ends after its first token: no bootstrap, so A = r − V there and 0 after.
    """
    rewards, values = f64([0, 0, 1], [2, 7, 7]), f64([0.5, 0.2, 0.1], [0.5, 9, 9])
    mask = torch.tensor([[True, True, True], [True, False, False]])
    advantages, returns = gae(rewards, values, mask, gamma=1.0, lam=0.5)
    check_close("advantages", advantages, [[-0.125, 0.35, 0.9], [1.5, 0, 0]], EXACT,
                "three float64 steps")
    check_close("returns = A + V", returns, [[0.375, 0.55, 1.0], [2.0, 0, 0]], EXACT,
                "three float64 steps")


@pytest.mark.task_5_1
def test_gae_discounts_with_gamma_and_lambda_apart():
    """γ = .5, λ = 1: A_0 = r_0 + γr_1 − V_0; γ = .5, λ = 0: A_0 = r_0 + γV_1 − V_0."""
    rewards, values, mask = f64([1.0, 4.0]), f64([0.25, 3.0]), torch.ones(1, 2, dtype=torch.bool)
    check_close("A at λ = 1", gae(rewards, values, mask, 0.5, 1.0)[0], [[2.75, 1.0]], EXACT,
                "1 + .5·4 − .25 and 4 − 3")
    check_close("A at λ = 0", gae(rewards, values, mask, 0.5, 0.0)[0], [[2.25, 1.0]], EXACT,
                "1 + .5·3 − .25 and 4 − 3")


RATIOS = [1.5, 0.5, 1.1, 0.7, 10.0]  # the last token is masked out
ADVANTAGES = [1.0, 1.0, -1.0, -1.0, 5.0]
MASK = [1.0, 1.0, 1.0, 1.0, 0.0]


def _policy_inputs():
    """(logp with grad, logp_old, advantages, mask), each (1, 5), ρ = RATIOS."""
    logp_old = f64([-1.0, -2.0, -0.5, -1.5, -3.0])
    logp = (logp_old + torch.log(f64(RATIOS))).requires_grad_(True)
    return logp, logp_old, f64(ADVANTAGES), f64(MASK)


@pytest.mark.task_5_2
@pytest.mark.parametrize("clip, expected", [
    (0.2, (-1.2 - 0.5 + 1.1 + 0.8) / 4),  # ρ = 1.5 capped at 1.2; ρ = 0.7 floored at 0.8
    (0.45, (-1.45 - 0.5 + 1.1 + 0.7) / 4),  # ρ = 1.5 capped at 1.45; ρ = 0.7 inside
])
def test_policy_loss_is_hand_computable(clip, expected):
    """−min(ρA, clip(ρ, 1 ± ε)A), averaged over the 4 valid tokens, for two values of ε."""
    logp, logp_old, advantages, mask = _policy_inputs()
    check_close(f"policy_loss at clip {clip}", policy_loss(logp, logp_old, advantages, mask, clip),
                expected, EXACT, "four float64 terms")


@pytest.mark.task_5_2
def test_policy_loss_gradient_vanishes_where_the_ratio_is_clipped():
    """d loss/d log π is −Aρ/4 on tokens inside the clip range or on the pessimistic side,
    and 0 on clipped tokens (ρ = 1.5 with A > 0, ρ = 0.7 with A < 0) and masked ones."""
    logp, logp_old, advantages, mask = _policy_inputs()
    policy_loss(logp, logp_old, advantages, mask, 0.2).backward()
    check_close("gradient", logp.grad, [[0.0, -0.5 / 4, 1.1 / 4, 0.0, 0.0]], EXACT,
                "one float64 product per token")


@pytest.mark.task_5_2
def test_policy_loss_at_the_rollout_policy_is_minus_the_mean_advantage():
    """With π_new = π_old (ρ = 1) the loss is −mean(A) over valid tokens, whatever ε is."""
    logp = f64([-1.0, -2.0, -3.0])
    advantages, mask = f64([0.5, -2.0, 100.0]), f64([1.0, 1.0, 0.0])
    check_close("policy_loss at ρ = 1", policy_loss(logp, logp, advantages, mask, 0.3), 0.75,
                EXACT, "−(0.5 − 2)/2")


def _value_inputs():
    """(values with grad, values_old, returns, mask), each (1, 4); the last token is masked."""
    values = f64([1.0, 0.0, 1.0, 50.0]).requires_grad_(True)
    return values, f64([0.5, 0.5, 0.5, 0.0]), f64([2.0, 0.0, 0.0, -50.0]), f64([1, 1, 1, 0])


@pytest.mark.task_5_3
def test_value_loss_is_hand_computable():
    """½·mean of max((V − R)², (V_clip − R)²) over 3 tokens, value_clip .2: ½(1.69 + .09 + 1)/3.

    V_clip = V_old + clip(V − V_old, ±.2) = (.7, .3, .7); the squared errors are (1, 0, 1)
    plain and (1.69, .09, .49) clipped.
    """
    values, values_old, returns, mask = _value_inputs()
    check_close("value_loss", value_loss(values, values_old, returns, mask, 0.2),
                0.5 * (1.69 + 0.09 + 1.0) / 3, EXACT, "three float64 squares")


@pytest.mark.task_5_3
def test_value_loss_gradient_follows_the_worse_prediction():
    """The gradient is 0 where the clipped error is the larger (tokens 1, 2) and (V − R)/3 on
    token 3, where the plain error is larger; 0 on the masked token."""
    values, values_old, returns, mask = _value_inputs()
    value_loss(values, values_old, returns, mask, 0.2).backward()
    check_close("gradient", values.grad, [[0.0, 0.0, 1 / 3, 0.0]], EXACT, "one product each")


@pytest.mark.task_5_3
def test_value_loss_with_a_wide_clip_is_half_the_mean_squared_error():
    """With value_clip 10 nothing is clipped: ½·mean((V − R)²) over valid tokens."""
    values, values_old, returns, mask = _value_inputs()
    check_close("value_loss at clip 10", value_loss(values, values_old, returns, mask, 10.0),
                0.5 * (1.0 + 0.0 + 1.0) / 3, EXACT, "three float64 squares")


@pytest.mark.task_5_4
@pytest.mark.parametrize("estimator", ["k1", "k2", "k3"])
def test_kl_penalty_is_minus_beta_times_the_estimator_on_valid_tokens(estimator):
    """kl_penalty = −β·k(log π_ref − log π)·mask: log r = (−.5, 1), β = .5, second token masked."""
    logp, logp_ref = f64([-1.0, -2.0]), f64([-1.5, -1.0])
    mask = torch.tensor([[True, False]])
    k = {"k1": 0.5, "k2": 0.125, "k3": math.expm1(-0.5) + 0.5}[estimator]  # k at log r = −.5
    check_close(f"kl_penalty {estimator}", kl_penalty(logp, logp_ref, mask, 0.5, estimator),
                [[-0.5 * k, 0.0]], EXACT, "one float64 product")


@pytest.mark.task_5_4
def test_kl_penalty_summed_over_a_row_is_minus_beta_times_the_sampled_kl():
    """Σ_t kl_penalty(k1) = −β · sampled_kl(k1) per sequence (Ziegler et al.'s penalty)."""
    g = torch.Generator().manual_seed(0)
    logp, logp_ref = -torch.rand(3, 5, generator=g), -torch.rand(3, 5, generator=g)
    mask = torch.arange(5)[None, :] < torch.tensor([[5], [2], [0]])
    torch.testing.assert_close(kl_penalty(logp, logp_ref, mask, 0.3).sum(1),
                               -0.3 * sampled_kl(logp, logp_ref, mask))


@pytest.mark.task_5_5
@pytest.mark.parametrize("kl, factor", [
    (0.11, 1 + 0.1 * 256 / 1000),  # 10% above target: β grows by 1 + e·B/H
    (0.09, 1 - 0.1 * 256 / 1000),  # 10% below: β shrinks
    (5.0, 1 + 0.2 * 256 / 1000),  # far above: the error is capped at +0.2
    (0.0, 1 - 0.2 * 256 / 1000),  # far below: capped at −0.2
    (0.1, 1.0),  # on target: unchanged
])
def test_update_kl_coef_is_ziegler_s_proportional_controller(kl, factor):
    """β ← β·(1 + clip(KL/target − 1, ±0.2)·B/H), target 0.1, B = 256, H = 1000, β = 0.1."""
    check_close(f"update_kl_coef at KL {kl}", update_kl_coef(0.1, kl, 0.1, 256, 1000),
                0.1 * factor, 1e-15, "two float64 products (0.11/0.1 − 1 is off by 1e-16)")


@pytest.mark.task_5_6
def test_update_diagnostics_are_hand_computable():
    """Clip fraction 3/4 (ρ = 1.5, .5, .7 leave 1 ± .2; 1.1 does not) and approx KL =
    mean of (ρ − 1) − log ρ over the 4 valid tokens; the masked ρ = 10 counts for nothing."""
    logp, logp_old, _, mask = _policy_inputs()
    clip_frac, approx_kl = update_diagnostics(logp.detach(), logp_old, mask, 0.2)
    assert isinstance(clip_frac, float) and isinstance(approx_kl, float)
    check_close("clip fraction", clip_frac, 0.75, EXACT, "3 of 4")
    expected = sum(r - 1 - math.log(r) for r in RATIOS[:4]) / 4
    check_close("approx KL", approx_kl, expected, EXACT, "four float64 terms")
    clip_frac, _ = update_diagnostics(logp.detach(), logp_old, mask, 0.6)
    check_close("clip fraction at ε = .6", clip_frac, 0.0, EXACT, "none of |ρ − 1| ≤ .5 is > .6")


@pytest.mark.task_5_6
def test_update_diagnostics_at_the_rollout_policy_are_zero():
    """With π_new = π_old nothing is clipped and the approximate KL is exactly 0."""
    logp = f64([-1.0, -2.0, -3.0])
    assert update_diagnostics(logp, logp, f64([1.0, 1.0, 0.0]), 0.2) == (0.0, 0.0)


def test_rollout_and_reference_share_the_temperature(world):
    """At step 0 the policy is π_init, so at T = 0.5 and T = 2 the recorded KL is exactly 0 (the
    reference's log-probs are taken at the sampling temperature), and the hotter policy has the
    higher entropy per token."""
    entropy = {}
    for temperature in (0.5, 2.0):
        torch.manual_seed(0)
        policy = build_policy(world, PolicyConfig(n_layer=1, n_embd=16, n_head=2))
        config = PPOConfig(steps=1, batch_size=32, minibatch_size=32, epochs=1,
                           temperature=temperature)
        record = train_ppo(policy, praise_first(world), world, config,
                           generator=torch.Generator().manual_seed(0))[0]
        assert record["kl"] == 0.0 and record["kl_k3"] == 0.0, temperature
        entropy[temperature] = record["entropy"]
    assert entropy[0.5] < entropy[2.0], entropy


@pytest.mark.task_5_6
def test_update_diagnostics_count_only_ratios_strictly_outside_the_clip_range():
    """ρ = 1.5 and 0.5 sit exactly on the edges of 1 ± 0.5: not clipped (|ρ − 1| > ε is strict);
    with ε = 0.4 both are."""
    logp_old = f64([-1.0, -2.0])
    logp = logp_old + torch.log(f64([1.5, 0.5]))  # exp gives back exactly 1.5 and 0.5
    mask = f64([1.0, 1.0])
    assert update_diagnostics(logp, logp_old, mask, 0.5)[0] == 0.0
    assert update_diagnostics(logp, logp_old, mask, 0.4)[0] == 1.0
