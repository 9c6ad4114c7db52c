"""RLOO and GRPO from scratch: the advantages and the loss by their properties and by hand, one
short run of each on the enumerable problem of tests/test_ppo.py, and bad input."""

import csv
import math

import pytest
import torch
from closeness import check_close
from hypothesis import given, settings
from hypothesis import strategies as st

from minirmo.critic_free import (
    GRPOConfig,
    RLOOConfig,
    group_normalized_advantages,
    grpo_loss,
    leave_one_out_advantages,
    train_grpo,
    train_rloo,
)
from minirmo.policy import PolicyConfig, build_policy
from minirmo.ppo import policy_loss
from minirmo.world import World, WorldConfig


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Run this module single-threaded, as tests/test_ppo.py does (tiny matrices, shared CPU)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# float64 on a handful of terms: beyond ~1e-12 the code computes a different formula.
EXACT = 1e-12


def f64(*rows):
    """A float64 tensor of the given rows."""
    return torch.tensor(rows, dtype=torch.float64)


def _scores(groups, k, seed):
    """Random float64 scores (groups, k), spread about 1 within each group."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(groups, k, generator=g, dtype=torch.float64)


# --- Task 6.1: the leave-one-out advantages -----------------------------------------------------


@pytest.mark.task_6_1
@settings(max_examples=50, deadline=None)
@given(st.integers(1, 5), st.integers(2, 9), st.integers(0, 2**31 - 1))
def test_leave_one_out_advantages_sum_to_zero_and_are_the_centred_scores_scaled(groups, k, seed):
    """Per group, Σ_i A_i = 0 and A_i = k/(k − 1)·(R_i − mean R): the baseline of response i
    is (k·mean − R_i)/(k − 1)."""
    scores = _scores(groups, k, seed)
    advantages = leave_one_out_advantages(scores)
    torch.testing.assert_close(advantages.sum(1), torch.zeros(groups, dtype=torch.float64),
                               rtol=0, atol=1e-12)
    centred = scores - scores.mean(1, keepdim=True)
    torch.testing.assert_close(advantages, centred * (k / (k - 1)), rtol=1e-12, atol=1e-12)


@pytest.mark.task_6_1
@settings(max_examples=50, deadline=None)
@given(st.integers(2, 9), st.integers(0, 8), st.floats(-3, 3), st.integers(0, 2**31 - 1))
def test_leave_one_out_baseline_of_a_response_ignores_its_own_score(k, which, delta, seed):
    """Raising R_i by δ raises A_i by exactly δ (its baseline does not see R_i) and lowers
    each other A_j of its group by δ/(k − 1); other groups are untouched."""
    which = which % k
    scores = _scores(2, k, seed)
    moved = scores.clone()
    moved[0, which] += delta
    change = leave_one_out_advantages(moved) - leave_one_out_advantages(scores)
    expected = torch.full((2, k), -delta / (k - 1), dtype=torch.float64)
    expected[0, which] = delta
    expected[1] = 0.0
    torch.testing.assert_close(change, expected, rtol=0, atol=1e-12)


@pytest.mark.task_6_1
def test_leave_one_out_advantages_are_hand_computable():
    """Scores (1, 2, 6): baselines (4, 3.5, 1.5), so A = (−3, −1.5, 4.5); a pair (5, 2) gives
    (3, −3)."""
    check_close("A of (1, 2, 6)", leave_one_out_advantages(f64([1.0, 2.0, 6.0])),
                [[-3.0, -1.5, 4.5]], EXACT, "three float64 means")
    check_close("A of (5, 2)", leave_one_out_advantages(f64([5.0, 2.0])), [[3.0, -3.0]], EXACT,
                "one float64 difference")


@pytest.mark.parametrize("shape", [(4,), (3, 1), (2, 3, 4)])
def test_advantages_of_groups_that_are_not_groups_raise_value_error_naming_rewards(shape):
    """Both advantages need rewards of shape (groups, k) with k ≥ 2."""
    for advantages in (leave_one_out_advantages, group_normalized_advantages):
        with pytest.raises(ValueError, match="rewards"):
            advantages(torch.zeros(shape))


# --- Task 6.2: the group-normalized advantages --------------------------------------------------


@pytest.mark.task_6_2
@settings(max_examples=50, deadline=None)
@given(st.integers(1, 5), st.integers(2, 9), st.integers(0, 2**31 - 1))
def test_group_normalized_advantages_have_mean_zero_and_sample_std_one(groups, k, seed):
    """With ε negligible, each group's advantages average 0 and their sample std is 1."""
    scores = _scores(groups, k, seed)
    scores[:, 0] = scores.max(1).values + 1.0  # every group spread by at least 1
    advantages = group_normalized_advantages(scores, eps=1e-12)
    torch.testing.assert_close(advantages.mean(1), torch.zeros(groups, dtype=torch.float64),
                               rtol=0, atol=1e-9)
    torch.testing.assert_close(advantages.std(1), torch.ones(groups, dtype=torch.float64),
                               rtol=1e-9, atol=1e-9)


@pytest.mark.task_6_2
@settings(max_examples=50, deadline=None)
@given(st.integers(2, 9), st.floats(-100, 100), st.floats(0.01, 100), st.integers(0, 2**31 - 1))
def test_group_normalized_advantages_ignore_a_shift_and_a_positive_scale(k, shift, scale, seed):
    """Standardizing removes the group's location and scale: R·c + s (c > 0, s any, per group)
    gives the advantages of R."""
    scores = _scores(3, k, seed)
    scores[:, 0] = scores.max(1).values + 1.0  # each group spread by ≥ 1: ε is negligible
    transformed = scores * scale + shift
    torch.testing.assert_close(group_normalized_advantages(transformed, eps=1e-12),
                               group_normalized_advantages(scores, eps=1e-12),
                               rtol=1e-7, atol=1e-7)


@pytest.mark.task_6_2
def test_group_normalized_advantages_are_hand_computable():
    """Scores (1, 2, 3, 6): mean 3, sample std √(14/3), so A = (−2, −1, 0, 3)/(√(14/3) + ε);
    a pair (a, b) with a > b gives ±1/√2 (sample std |a − b|/√2), whatever a and b are."""
    check_close("A of (1, 2, 3, 6)", group_normalized_advantages(f64([1.0, 2.0, 3.0, 6.0])),
                [[v / (math.sqrt(14 / 3) + 1e-4) for v in (-2.0, -1.0, 0.0, 3.0)]], EXACT,
                "four float64 terms")
    check_close("A of (7, 4)", group_normalized_advantages(f64([7.0, 4.0]), eps=1e-14),
                [[math.sqrt(0.5), -math.sqrt(0.5)]], 1e-12, "ε = 1e-14 against a std of 2.1")


@pytest.mark.task_6_2
def test_group_of_equal_scores_gets_advantages_zero():
    """A group whose responses all score the same carries no signal: every advantage is 0
    (ε keeps 0/0 away), while the other group is still standardized."""
    advantages = group_normalized_advantages(f64([2.5, 2.5, 2.5], [0.0, 1.0, 2.0]))
    assert advantages[0].tolist() == [0.0, 0.0, 0.0]
    assert advantages[1, 2] > 0.99


@pytest.mark.task_6_2
def test_group_normalized_advantages_take_any_positive_eps_and_refuse_zero_naming_it():
    """ε = 1e-300 still computes (a pair gives ±1/√2); ε = 0 raises ValueError naming eps, or
    a group of equal scores would divide 0 by 0."""
    check_close("A of (7, 4) at ε = 1e-300",
                group_normalized_advantages(f64([7.0, 4.0]), eps=1e-300),
                [[math.sqrt(0.5), -math.sqrt(0.5)]], 1e-12, "ε far below a std of 2.1")
    with pytest.raises(ValueError, match="eps must be > 0"):
        group_normalized_advantages(torch.zeros(2, 3), eps=0.0)


# --- Task 6.3: GRPO's loss ----------------------------------------------------------------------


def _loss_inputs(seed, M=4, T=5):
    """(logp, logp_old, logp_ref, advantages, mask): random float64 (M, T) log-probs, one
    advantage per row, a mask of random row lengths 1..T."""
    g = torch.Generator().manual_seed(seed)
    logp = -torch.rand(M, T, generator=g, dtype=torch.float64) * 3
    logp_old = logp + 0.3 * torch.randn(M, T, generator=g, dtype=torch.float64)
    logp_ref = logp + 0.5 * torch.randn(M, T, generator=g, dtype=torch.float64)
    advantages = torch.randn(M, generator=g, dtype=torch.float64)
    lengths = torch.randint(1, T + 1, (M,), generator=g)
    mask = (torch.arange(T)[None, :] < lengths[:, None]).double()
    return logp, logp_old, logp_ref, advantages, mask


@pytest.mark.task_6_3
@settings(max_examples=50, deadline=None)
@given(st.integers(0, 2**31 - 1), st.floats(0.05, 0.5))
def test_grpo_loss_without_kl_is_ppo_s_clipped_loss_with_the_advantage_on_every_token(seed,
                                                                                       clip):
    """At β = 0 the loss is `ppo.policy_loss` with each row's advantage on all its tokens."""
    logp, logp_old, logp_ref, advantages, mask = _loss_inputs(seed)
    every_token = advantages[:, None] * torch.ones_like(mask)  # (M, T)
    torch.testing.assert_close(grpo_loss(logp, logp_old, logp_ref, advantages, mask, clip, 0.0),
                               policy_loss(logp, logp_old, every_token, mask, clip),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.task_6_3
@settings(max_examples=50, deadline=None)
@given(st.integers(0, 2**31 - 1), st.floats(0.01, 2.0))
def test_grpo_kl_term_is_non_negative_linear_in_beta_and_zero_where_the_policies_agree(seed,
                                                                                       beta):
    """loss(β) − loss(0) is β times a term ≥ 0 (k3), and exactly 0 when log π_ref = log π."""
    logp, logp_old, logp_ref, advantages, mask = _loss_inputs(seed)

    def extra(reference, coef):
        return (grpo_loss(logp, logp_old, reference, advantages, mask, 0.2, coef)
                - grpo_loss(logp, logp_old, reference, advantages, mask, 0.2, 0.0)).item()

    assert extra(logp_ref, beta) >= 0
    assert extra(logp_ref, 2 * beta) == pytest.approx(2 * extra(logp_ref, beta), rel=1e-9)
    assert extra(logp.clone(), beta) == 0.0


@pytest.mark.task_6_3
def test_grpo_loss_at_the_rollout_policy_is_minus_the_token_mean_advantage():
    """ρ = 1 and β = 0: −(3·2 + 1·(−1))/4 = −1.25 over the 4 valid tokens (rows of 3 and 1
    tokens, advantages 2 and −1): a longer response's advantage counts once per token."""
    logp = f64([-1.0, -2.0, -0.5], [-0.3, -9.0, -9.0])
    mask = f64([1.0, 1.0, 1.0], [1.0, 0.0, 0.0])
    loss = grpo_loss(logp, logp, logp - 1.0, f64(2.0, -1.0), mask, 0.2, 0.0)
    check_close("grpo_loss at ρ = 1, β = 0", loss, -1.25, EXACT, "four float64 terms")


@pytest.mark.task_6_3
def test_grpo_kl_term_and_its_gradient_are_hand_computable():
    """At ρ = 1, A = 0 and β = .5, with log π_ref − log π = (−.5, 1) on two valid tokens: the
    loss is .5·mean(e^x − 1 − x) and its gradient in log π is .5·(1 − e^x)/2 per token."""
    logp = f64([-1.0, -2.0, -3.0]).requires_grad_(True)
    reference = f64([-1.5, -1.0, 0.0])
    mask = f64([1.0, 1.0, 0.0])
    loss = grpo_loss(logp, logp.detach(), reference, f64(0.0), mask, 0.2, 0.5)
    k3_values = [math.expm1(x) - x for x in (-0.5, 1.0)]
    check_close("β · mean k3", loss, 0.5 * sum(k3_values) / 2, EXACT, "two float64 terms")
    loss.backward()
    check_close("gradient", logp.grad, [[0.25 * -math.expm1(-0.5), 0.25 * -math.expm1(1.0), 0.0]],
                EXACT, "one float64 term per token")


@pytest.mark.task_6_3
def test_grpo_loss_takes_one_advantage_per_response_and_refuses_one_per_token():
    """advantages of shape (M,) give a finite loss; (M, T) raise ValueError naming
    advantages and the shape expected, (M,) = (4,) for M = 4 rows of T = 5 tokens."""
    logp, logp_old, logp_ref, advantages, mask = _loss_inputs(0)
    assert torch.isfinite(grpo_loss(logp, logp_old, logp_ref, advantages, mask, 0.2, 0.1))
    with pytest.raises(ValueError, match=r"advantages must have shape \(4,\)"):
        grpo_loss(logp, logp_old, logp_ref, torch.zeros_like(logp), mask, 0.2, 0.0)


# --- one short run of each, on the enumerable problem of tests/test_ppo.py ----------------------


@pytest.fixture(scope="module")
def world():
    return World(WorldConfig(max_len=2))


def praise_first(world):
    """Reward 1 if the response's first word is a praise word, else 0."""
    return lambda sequences: torch.isin(sequences[:, world.prompt_len], world.praise_ids).float()


TINY = dict(steps=8, batch_size=256, group_size=4, minibatch_size=64, sample_every=4)
RUNS = {"rloo": (train_rloo, RLOOConfig, dict(lr=5e-3)),
        "grpo": (train_grpo, GRPOConfig, dict(lr=2e-3, epochs=2))}


def run(world, algorithm, seen=None, **more):
    """Train a fresh tiny policy with `algorithm` (config fields `more`); return its records.
    `seen` collects the batches reward_fn is called with."""
    train, config_class, overrides = RUNS[algorithm]
    overrides = {**overrides, **more}
    torch.manual_seed(0)
    policy = build_policy(world, PolicyConfig(n_layer=1, n_embd=16, n_head=2))
    reward = praise_first(world)

    def reward_fn(sequences):
        if seen is not None:
            seen.append(sequences)
        return reward(sequences)

    return train(policy, reward_fn, world, config_class(**TINY, **overrides),
                 generator=torch.Generator().manual_seed(0))


@pytest.fixture(scope="module", params=sorted(RUNS))
def trained(request, world):
    seen = []
    return request.param, run(world, request.param, seen), seen


def test_proxy_rises_from_a_kl_of_zero(trained):
    """Step 0 samples π_init itself (KL exactly 0); the praise reward rises by > 0.2 over 8
    steps while the KL to π_init grows."""
    algorithm, records, _ = trained
    assert records[0]["kl"] == 0.0 and records[0]["kl_k3"] == 0.0, algorithm
    first, last = records[0]["proxy"], sum(r["proxy"] for r in records[-2:]) / 2
    assert last > first + 0.2, (algorithm, first, last)
    assert records[-1]["kl"] > 0.1, algorithm


def test_each_step_scores_batch_size_responses_in_groups_of_one_prompt(trained, world):
    """reward_fn sees batch_size sequences a step, as PPO's; each group_size rows share a
    prompt (the groups the baselines compare within)."""
    _, records, seen = trained
    assert len(seen) == len(records) == TINY["steps"]
    for sequences in seen:
        assert sequences.shape[0] == TINY["batch_size"]
        prompts = sequences[:, : world.prompt_len].view(-1, TINY["group_size"], world.prompt_len)
        assert (prompts == prompts[:, :1]).all()


def test_records_hold_ppo_s_keys_and_samples_every_sample_every_steps(trained):
    """Each record has the keys ppo.train_ppo records under the same names; GRPO adds PPO's
    clip fraction and approximate KL; decoded samples appear at steps 0, 4, ..."""
    algorithm, records, _ = trained
    keys = {"step", "kl", "kl_k3", "proxy", "length", "entropy", "truncated", "kl_coef"}
    keys |= {"clip_frac", "approx_kl", "kl_loss"} if algorithm == "grpo" else {"loss"}
    for record in records:
        assert keys <= record.keys(), (algorithm, keys - record.keys())
        assert ("samples" in record) == (record["step"] % TINY["sample_every"] == 0)
    assert [r["step"] for r in records] == list(range(TINY["steps"]))


def test_a_kl_coefficient_holds_the_kl_lower(trained, world):
    """kl_coef 1 (RLOO: a penalty on the score; GRPO: the k3 term of the loss), same seed and
    reward, keeps the KL of the last 3 steps below 60% of the unpenalized run's."""
    algorithm, free, _ = trained
    penalized = run(world, algorithm, kl_coef=1.0)
    kl_free = sum(r["kl"] for r in free[-3:])
    kl_penalized = sum(r["kl"] for r in penalized[-3:])
    assert kl_penalized < 0.6 * kl_free, (algorithm, kl_penalized, kl_free)
    assert all(r["kl_coef"] == 1.0 for r in penalized)


# --- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize("config_class", [RLOOConfig, GRPOConfig])
@pytest.mark.parametrize("field, value", [
    ("steps", 0), ("batch_size", 0), ("group_size", 1), ("group_size", 3),
    ("minibatch_size", 100), ("lr", 0.0), ("max_grad_norm", -1.0), ("temperature", 0.0),
    ("kl_coef", -0.1), ("num_samples", -1),
])
def test_bad_config_raises_value_error_naming_the_field(config_class, field, value):
    """An out-of-range field raises ValueError whose message names it (group_size 3 does not
    divide batch_size 256)."""
    with pytest.raises(ValueError, match=field):
        config_class(**{field: value})


@pytest.mark.parametrize("field, value", [("epochs", 0), ("clip", 0.0), ("eps", -1e-4)])
def test_bad_grpo_config_raises_value_error_naming_the_field(field, value):
    """GRPO's own fields are checked too."""
    with pytest.raises(ValueError, match=field):
        GRPOConfig(**{field: value})


@pytest.mark.parametrize("train", [train_rloo, train_grpo])
def test_reward_fn_of_the_wrong_shape_raises_value_error(world, train):
    """A reward_fn that does not return one score per rollout raises ValueError naming it."""
    policy = build_policy(world, PolicyConfig(n_layer=1, n_embd=16, n_head=2))
    config = (RLOOConfig if train is train_rloo else GRPOConfig)(steps=1, batch_size=8,
                                                                  minibatch_size=8)
    with pytest.raises(ValueError, match="reward_fn"):
        train(policy, lambda s: torch.zeros(len(s), 1), world, config)


# --- beside PPO in `minirmo rl --algorithm` -----------------------------------------------------


def test_rloo_and_grpo_draw_as_many_samples_as_ppo():
    """A preset's RLOO and GRPO take PPO's steps, batch and minibatch sizes, also after
    `--set ppo.steps=...`; setting theirs directly is refused with a pointer to ppo's."""
    from minirmo.runs import overrides
    from minirmo.runs.presets import get_preset

    for preset in (get_preset("tiny"), overrides.apply(get_preset("tiny"), ["ppo.steps=7"])):
        for algorithm in ("rloo", "grpo"):
            config = preset.rl_config(algorithm)
            assert (config.steps, config.batch_size, config.minibatch_size) == (
                preset.ppo.steps, preset.ppo.batch_size, preset.ppo.minibatch_size)
    with pytest.raises(ValueError, match="ppo.steps"):
        overrides.apply(get_preset("tiny"), ["grpo.steps=7"])
    with pytest.raises(ValueError, match="algorithm"):
        get_preset("tiny").rl_config("sarsa")


@pytest.mark.parametrize("algorithms", [(), ("rloo",), ("ppo", "ppo"), ("ppo", "sarsa")])
def test_a_preset_s_rl_algorithms_start_with_ppo_and_name_each_once(algorithms):
    """`rl_algorithms` must start with PPO (every other study's RL) and name each known
    algorithm at most once; otherwise a ValueError names the field."""
    from dataclasses import replace

    from minirmo.runs.presets import get_preset

    with pytest.raises(ValueError, match="rl_algorithms"):
        replace(get_preset("test"), rl_algorithms=algorithms)


def test_reproduce_needs_the_critic_free_runs_against_the_smallest_and_largest_proxy():
    """`reproduce` trains RLOO and GRPO against the smallest and the largest size on the most
    comparisons where the preset names them (tiny does), never the sizes between, and no
    critic-free run where the preset does not name them (test, paper)."""
    from dataclasses import replace

    from test_runs import MICRO

    from minirmo.reproduce import needs
    from minirmo.reward import RMConfig
    from minirmo.runs.presets import ALGORITHMS, get_preset
    from minirmo.runs.run import Run

    def critic_free(preset):
        run = Run(preset, "unused", progress=False)
        return {a.name for a in needs(run, "reproduce") if a.name.startswith(("rloo", "grpo"))}

    three = replace(MICRO, proxy_sizes=[RMConfig(1, 8, 2), RMConfig(1, 12, 2), RMConfig(1, 16, 2)])
    run = Run(three, "unused", progress=False)
    assert critic_free(replace(three, rl_algorithms=ALGORITHMS)) == {
        run.rl_artefact(size, three.proxy_data[-1], algorithm=a).name
        for a in ("rloo", "grpo") for size in (three.proxy_sizes[0], three.proxy_sizes[-1])}
    assert critic_free(three) == set()
    assert get_preset("tiny").rl_algorithms == ALGORITHMS
    assert get_preset("test").rl_algorithms == get_preset("paper").rl_algorithms == ("ppo",)


def test_each_algorithm_has_its_own_artefact_and_ppo_keeps_its_name():
    """PPO's artefact is named rl_... as before and is the default; RLOO's and GRPO's are named
    after them, with keys of their own."""
    from test_runs import MICRO

    from minirmo.runs.run import Run

    run = Run(MICRO, "unused", progress=False)
    size, pairs = MICRO.proxy_sizes[0], MICRO.proxy_data[-1]
    artefacts = {a: run.rl_artefact(size, pairs, algorithm=a) for a in ("ppo", "rloo", "grpo")}
    assert run.rl_artefact(size, pairs).key == artefacts["ppo"].key
    assert [a.name.split("_")[0] for a in artefacts.values()] == ["rl", "rloo", "grpo"]
    assert len({a.key for a in artefacts.values()}) == 3


def curve_rows(method, seed, golds):
    return [{"seed": seed, "method": method, "rm_params": 100, "rm_data": 50, "step": step,
             "kl": float(step), "proxy": float(step), "gold": gold}
            for step, gold in enumerate(golds)]


def test_the_algorithms_table_gives_each_seed_one_highest_peak():
    """The algorithms' table counts, at each seed, the one algorithm with the highest smoothed
    gold peak, and how often gold peaks and falls."""
    from minirmo.analysis import fit_rows
    from minirmo.report import algorithms_table

    rise_and_fall = [0.0, 1.0, 2.0, 3.0, 2.0, 1.0, 0.0, 0.0]
    rise = [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 2.6, 2.7]
    rows = [row for seed in (0, 1) for row in
            curve_rows("rl", seed, rise_and_fall) + curve_rows("grpo", seed, rise)]
    table = algorithms_table(rows, fit_rows(rows)).splitlines()
    ppo, grpo = (next(line for line in table if line.split()[0] == name)
                 for name in ("ppo", "grpo"))
    assert ppo.split()[2:5] == ["2", "of", "2"] and ppo.endswith("0 of 2")  # falls, not top
    assert grpo.split()[2:5] == ["0", "of", "2"] and grpo.endswith("2 of 2")


def test_the_rl_command_runs_the_algorithms_side_by_side(tmp_path, monkeypatch, capsys):
    """`minirmo rl --algorithm ppo rloo grpo` writes one rl.csv whose method column tells the
    algorithms apart ("rl" is PPO), a figure per algorithm and one side by side, and prints
    the algorithms' table over seeds; naming one twice is a usage error."""
    from test_runs import MICRO

    from minirmo.cli import main
    from minirmo.runs.presets import PRESETS

    monkeypatch.setitem(PRESETS, "micro", MICRO)
    main(["rl", "--preset", "micro", "--seed", "0", "--jobs", "1", "--out", str(tmp_path),
          "--algorithm", "ppo", "rloo", "grpo"])
    with open(tmp_path / "rl.csv", newline="") as f:
        assert {row["method"] for row in csv.DictReader(f)} == {"rl", "rloo", "grpo"}
    assert {"rl.png", "rl_rloo.png", "rl_grpo.png", "rl_algorithms.png"} <= {
        p.name for p in tmp_path.glob("*.png")}
    printed = capsys.readouterr().out
    assert "RL algorithms" in printed and "of 1" in printed
    with pytest.raises(SystemExit) as exit_info:
        main(["rl", "--preset", "micro", "--out", str(tmp_path), "--algorithm", "grpo", "grpo"])
    assert exit_info.value.code == 2 and "algorithm" in capsys.readouterr().err
