"""The KL facts of the paper: best-of-n KL (analytic and exact) and sampled-KL estimators."""

import itertools
import math
import warnings

import numpy as np
import pytest
import torch
from closeness import check_close
from hypothesis import example, given, settings
from hypothesis import strategies as st

from minirmo.kl import ESTIMATORS, bon_kl, bon_kl_beirami, bon_kl_exact, k1, k2, k3, sampled_kl

ns = st.integers(min_value=1, max_value=10**6)


# --- analytic best-of-n KL -------------------------------------------------------------------


@pytest.mark.task_1_1
def test_bon_kl_is_zero_at_n_equals_one():
    """BoN KL is zero at n = 1."""
    assert bon_kl(1) == 0.0


@pytest.mark.task_1_1
@settings(deadline=None)
@given(ns)
def test_bon_kl_is_strictly_increasing_in_n(n):
    """BoN KL strictly increases with n."""
    assert bon_kl(n + 1) > bon_kl(n)


@pytest.mark.task_1_1
@settings(deadline=None)
@given(ns)
def test_bon_kl_is_below_log_n(n):
    """BoN KL is at most log n, strictly below it for n ≥ 2."""
    assert bon_kl(n) <= math.log(n)
    if n >= 2:
        assert bon_kl(n) < math.log(n)


@pytest.mark.task_1_1
@settings(deadline=None)
@given(ns)
def test_bon_kl_is_log_n_minus_one_plus_one_over_n(n):
    """BoN KL − (log n − 1) equals 1/n, so BoN KL = log n − 1 + o(1)."""
    assert bon_kl(n) - (math.log(n) - 1) == pytest.approx(1 / n, rel=1e-9, abs=1e-12)


@pytest.mark.task_1_1
@settings(deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=10**5), min_size=1, max_size=20))
def test_bon_kl_of_an_array_is_elementwise(n_list):
    """bon_kl of a list, numpy array or tensor equals bon_kl of each element."""
    expected = [bon_kl(n) for n in n_list]
    assert isinstance(expected[0], float)
    np.testing.assert_allclose(bon_kl(n_list), expected, rtol=1e-15)
    np.testing.assert_allclose(bon_kl(np.array(n_list)), expected, rtol=1e-15)
    out = bon_kl(torch.tensor(n_list))
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float64
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-15)


@pytest.mark.task_1_1
def test_bon_kl_accepts_an_integral_float():
    """bon_kl(2.0) equals bon_kl(2)."""
    assert bon_kl(2.0) == bon_kl(2) == math.log(2) - 0.5


@pytest.mark.parametrize("bad", [0, -3, 2.5, math.nan, math.inf, [1, 0], [2.5]])
def test_bon_kl_rejects_bad_n_naming_n(bad):
    """bon_kl raises a ValueError naming n for n < 1 or a non-integer n."""
    with pytest.raises(ValueError, match="^n "):
        bon_kl(bad)


# --- exact best-of-n KL on a discrete distribution -------------------------------------------


@st.composite
def discrete_distributions(draw, max_outcomes=8):
    """(probs, rewards) with some zero probabilities and many tied rewards."""
    k = draw(st.integers(min_value=1, max_value=max_outcomes))
    raw = draw(st.lists(st.one_of(st.just(0.0), st.floats(1e-3, 1.0)), min_size=k, max_size=k))
    raw[draw(st.integers(0, k - 1))] += 1.0  # at least one outcome has mass
    probs = np.array(raw) / sum(raw)
    rewards = draw(st.lists(st.integers(0, 3), min_size=k, max_size=k))  # few levels: ties
    return probs, np.array(rewards, dtype=float)


@pytest.mark.task_1_2
@settings(deadline=None)
@given(discrete_distributions(), st.integers(min_value=1, max_value=300))
def test_exact_bon_kl_is_at_most_the_analytic_formula(dist, n):
    """Exact discrete BoN KL (with ties) is ≤ log n − (n−1)/n (Beirami et al. 2024)."""
    probs, rewards = dist
    exact = bon_kl_exact(probs, rewards, n)
    assert 0.0 <= exact <= bon_kl(n) + 1e-12


@pytest.mark.task_1_2
@settings(deadline=None)
@given(discrete_distributions())
def test_exact_bon_kl_is_zero_at_n_equals_one(dist):
    """Exact discrete BoN KL is zero at n = 1."""
    probs, rewards = dist
    assert bon_kl_exact(probs, rewards, 1) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.task_1_2
@settings(deadline=None)
@given(st.integers(min_value=1, max_value=10**9))
def test_exact_bon_kl_of_two_equally_likely_outcomes_stays_below_log_2(n):
    """With two equally likely outcomes the exact BoN KL stays below log 2 for every n."""
    kl = bon_kl_exact([0.5, 0.5], [0.0, 1.0], n)
    assert kl <= math.log(2)
    if n <= 20:  # beyond this 2^-n is lost to rounding and the KL reads exactly log 2
        assert kl < math.log(2)


@pytest.mark.task_1_2
@pytest.mark.parametrize("n", [1, 2, 3, 8, 64])
def test_exact_bon_kl_of_many_equally_likely_outcomes_approaches_the_analytic_formula(n):
    """For M = 10^5 equally likely rewards the exact KL is below log n − (n−1)/n by a gap
    of second order in n/M: at most (n/M)², and at least half of (n/M)²/24.

    The gap is ≥ 0 and at most Σ_k q_k·w_k²/8 ≤ (n/M)² by Hoeffding's lemma (level k's log
    density varies by w_k = (n−1) log(k/(k−1)) inside it); it is about (n/M)²/24, 1.7e-8 at
    n = 64. bon_kl_exact gets F from a running sum of M float masses, whose rounding error
    reaches ~M·eps. That moves the KL by up to ~n·M·eps (1.4e-9 at n = 64), so that is the
    tolerance, and below n = 64 it swamps the lower bound: there the test says exact ≤ analytic
    and the gap is second order.
    """
    M = 10**5
    tol = n * M * np.finfo(float).eps + 1e-12
    exact = bon_kl_exact(np.full(M, 1 / M), np.arange(M), n)
    gap = bon_kl(n) - exact
    assert (n / M) ** 2 / 48 - tol <= gap <= (n / M) ** 2 + tol, (gap, tol)


def _brute_force_bon_kl(probs, rewards, n):
    """KL(π_n‖π) by enumerating every n-tuple, ties among the maxima split uniformly."""
    k = len(probs)
    pi_n = np.zeros(k)
    for tup in itertools.product(range(k), repeat=n):
        p_tuple = math.prod(probs[j] for j in tup)
        best = max(rewards[j] for j in tup)
        winners = [j for j in tup if rewards[j] == best]
        for j in winners:
            pi_n[j] += p_tuple / len(winners)
    support = pi_n > 0
    return float(np.sum(pi_n[support] * np.log(pi_n[support] / np.asarray(probs)[support])))


@pytest.mark.task_1_2
@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.floats(0.05, 1.0), min_size=3, max_size=3),
    st.sampled_from([[0.0, 1.0, 1.0], [1.0, 1.0, 0.0], [2.0, 0.0, 2.0], [0.0, 0.0, 0.0]]),
    st.integers(min_value=1, max_value=4),
)
def test_exact_bon_kl_equals_enumeration_over_all_n_tuples(raw, rewards, n):
    """Exact BoN KL equals brute-force enumeration of all 3^n tuples with uniform tie-breaking."""
    probs = np.array(raw) / sum(raw)
    expected = _brute_force_bon_kl(probs, rewards, n)
    assert bon_kl_exact(probs, rewards, n) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(
    "probs, rewards, n, name",
    [
        ([0.5, -0.5, 1.0], [0, 1, 2], 2, "^probs"),
        ([0.5, 0.6], [0, 1], 2, "^probs"),
        ([[0.5, 0.5]], [[0, 1]], 2, "^probs"),
        ([0.5, 0.5], [0, 1, 2], 2, "^rewards"),
        ([0.5, 0.5], [0, math.nan], 2, "^rewards"),
        ([0.5, 0.5], [0, 1], 0, "^n "),
        ([0.5, 0.5], [0, 1], 1.5, "^n "),
    ],
)
def test_exact_bon_kl_rejects_bad_input_naming_the_argument(probs, rewards, n, name):
    """bon_kl_exact raises a ValueError naming probs, rewards or n for bad input."""
    with pytest.raises(ValueError, match=name):
        bon_kl_exact(probs, rewards, n)


# --- Beirami et al.'s estimate from ε --------------------------------------------------------

probabilities = st.floats(min_value=0.0, max_value=1.0)


@settings(deadline=None)
@given(ns, probabilities)
@example(1, 0.1)  # a case whose terms sum to −4e-17 in float64 before the estimate clips at 0
def test_beirami_estimate_lies_between_zero_and_the_analytic_form(n, eps):
    """Beirami et al.'s estimate is between 0 and log n − (n − 1)/n for every n and ε."""
    estimate = bon_kl_beirami(n, eps)
    # at tiny ε both sides are the same number reached by different float64 sums, whose
    # rounding grows with n (hypothesis found 2e-12 at n = 11,673): a relative 1e-10, and
    # 1e-12 for n = 1, where both are 0
    assert 0 <= estimate <= bon_kl(n) * (1 + 1e-10) + 1e-12


@settings(deadline=None)
@given(ns)
def test_beirami_estimate_is_the_analytic_form_as_eps_goes_to_zero(n):
    """At ε = 0 the estimate is log n − (n − 1)/n, and at ε = 1e-15 it is within 1e-9 of it."""
    assert bon_kl_beirami(n, 0.0) == pytest.approx(bon_kl(n), abs=1e-12)
    assert bon_kl_beirami(n, 1e-15) == pytest.approx(bon_kl(n), abs=1e-9)


@settings(deadline=None)
@given(ns, probabilities)
def test_beirami_estimate_is_zero_for_a_deterministic_policy_and_at_n_equals_one(n, eps):
    """ε = 1 (the policy always writes the kept response) gives 0 at every n; n = 1 gives 0
    at every ε."""
    assert bon_kl_beirami(n, 1.0) == 0.0
    assert bon_kl_beirami(1, eps) == pytest.approx(0.0, abs=1e-12)


@settings(max_examples=30, deadline=None)
@given(st.integers(2, 64), st.floats(1e-3, 0.999))
def test_beirami_estimate_is_the_exact_kl_of_a_top_atom_over_a_near_continuum(n, eps):
    """The estimate is the exact best-of-n KL (bon_kl_exact) of a distribution with mass ε on
    its top outcome and 1 − ε spread over 20,000 equal outcomes below it (a near continuum)."""
    M = 20_000
    probs = np.r_[np.full(M, (1 - eps) / M), eps]
    exact = bon_kl_exact(probs, np.arange(M + 1.0), n)
    # the rest is M outcomes, not a continuum: the gap shrinks like (n/M)², ≤ 1e-5 at n = 64
    check_close(f"n = {n}, ε = {eps}", bon_kl_beirami(n, eps), exact, 1e-4,
                "M = 20,000 equal outcomes differ from a continuum by about (n/M)²")


def test_beirami_estimate_computes_in_float64_whatever_the_dtype_of_eps():
    """A float32 ε (a tensor's log-probabilities exponentiated) is estimated in float64: the
    same float64 numbers as for those values given as float64."""
    eps32 = np.array([1e-3, 0.1, 0.3], dtype=np.float32)
    ns = np.array([16, 256, 4096])
    out = bon_kl_beirami(ns, eps32)
    assert out.dtype == np.float64
    assert np.array_equal(out, bon_kl_beirami(ns, eps32.astype(np.float64)))


def test_beirami_estimate_broadcasts_and_returns_a_float_for_scalars():
    """n and ε broadcast against each other into a float64 array; two scalars give a float."""
    grid = bon_kl_beirami(np.array([[1], [4], [64]]), np.array([0.0, 0.5, 1.0]))
    assert grid.shape == (3, 3) and grid.dtype == np.float64
    assert type(bon_kl_beirami(4, 0.5)) is float  # not np.float64, whose repr shows numpy
    check_close("ε = 0 column", grid[:, 0], bon_kl([1, 4, 64]), 1e-12, "float64 roundoff")


def test_beirami_estimate_raises_no_numpy_warnings_at_the_ends_of_eps():
    """ε = 0 (log 0 in the top's term) and ε = 1 (log1p(−1) in the rest's) are handled
    without a RuntimeWarning, as in bon_kl_exact."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bon_kl_beirami(np.array([1, 4, 64]), np.array([0.0, 1.0, 0.5]))


@pytest.mark.parametrize("n, eps, name", [(0, 0.5, "n"), (2.5, 0.5, "n"), (4, -0.1, "eps"),
                                          (4, 1.5, "eps"), (4, float("nan"), "eps"),
                                          (4, [], "eps")])
def test_beirami_estimate_rejects_bad_input_naming_the_argument(n, eps, name):
    """A non-integer or non-positive n, or an ε outside [0, 1], raises a ValueError naming it."""
    with pytest.raises(ValueError, match=name):
        bon_kl_beirami(n, eps)


# --- sampled KL estimators -------------------------------------------------------------------


def _all_sequences(seed):
    """Per-token log-probs of all 9 sequences (T = 2, vocabulary 3) under π and π_ref.

    Both are factorized per token with random categoricals. Returns logp, logp_ref of shape
    (9, 2), π(sequence) of shape (9,) and the exact KL(π ‖ π_ref).
    """
    rng = np.random.default_rng(seed)
    pi, ref = rng.dirichlet(np.ones(3), size=2), rng.dirichlet(np.ones(3), size=2)  # (T, V)
    seqs = list(itertools.product(range(3), repeat=2))
    positions = torch.arange(2)
    tokens = torch.tensor(seqs)  # (9, T)
    logp = torch.from_numpy(np.log(pi))[positions, tokens]  # (9, T)
    logp_ref = torch.from_numpy(np.log(ref))[positions, tokens]  # (9, T)
    weights = logp.sum(1).exp()  # (9,) π(sequence)
    exact_kl = float(np.sum(pi * np.log(pi / ref)))  # KL adds over independent tokens
    return logp, logp_ref, weights, exact_kl


@pytest.mark.task_1_3
@pytest.mark.parametrize("estimator", ["k1", "k3"])
@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_k1_and_k3_are_unbiased_on_an_enumerable_sequence_model(estimator, seed):
    """k1 and k3 are unbiased: their exact expectation under π equals KL(π ‖ π_ref)."""
    logp, logp_ref, weights, exact_kl = _all_sequences(seed)
    estimate = sampled_kl(logp, logp_ref, estimator=estimator)  # (9,)
    assert float((weights * estimate).sum()) == pytest.approx(exact_kl, rel=1e-9, abs=1e-12)


@pytest.mark.task_1_3
def test_k2_is_biased_on_an_enumerable_sequence_model():
    """k2 is biased: its expectation under π differs from KL(π ‖ π_ref) in general."""
    logp, logp_ref, weights, exact_kl = _all_sequences(0)
    estimate = sampled_kl(logp, logp_ref, estimator="k2")
    assert abs(float((weights * estimate).sum()) - exact_kl) > 1e-3


log_probs = st.lists(st.floats(-30.0, 0.0), min_size=6, max_size=6)


@pytest.mark.task_1_3
@pytest.mark.parametrize("estimator", ["k2", "k3"])
@settings(deadline=None)
@given(log_probs, log_probs)
def test_k2_and_k3_are_non_negative_for_any_input(estimator, a, b):
    """k2 and k3 are ≥ 0 for any pair of log-probs (k1 can be negative)."""
    logp = torch.tensor(a, dtype=torch.float32).view(2, 3)
    logp_ref = torch.tensor(b, dtype=torch.float32).view(2, 3)
    assert (sampled_kl(logp, logp_ref, estimator=estimator) >= 0).all()


@pytest.mark.task_1_3
def test_k1_can_be_negative_for_a_single_sample():
    """k1 of one sample is negative when the sample is likelier under π_ref."""
    assert sampled_kl(torch.tensor([[-2.0]]), torch.tensor([[-1.0]])).item() < 0


@pytest.mark.task_1_4
@pytest.mark.parametrize("estimator", ["k1", "k2", "k3"])
def test_mask_excludes_tokens(estimator):
    """Masked-out tokens do not count, even when they hold -inf or NaN."""
    logp = torch.tensor([[-1.0, -2.0, -math.inf], [-0.5, math.nan, -3.0]])
    logp_ref = torch.tensor([[-1.5, -1.0, -1.0], [-0.7, -1.0, -2.0]])
    mask = torch.tensor([[1, 1, 0], [1, 0, 1]])
    kept = sampled_kl(logp, logp_ref, mask=mask, estimator=estimator)
    expected = torch.stack([
        sampled_kl(logp[:1, :2], logp_ref[:1, :2], estimator=estimator)[0],
        sampled_kl(logp[1:, [0, 2]], logp_ref[1:, [0, 2]], estimator=estimator)[0],
    ])
    torch.testing.assert_close(kept, expected)
    torch.testing.assert_close(sampled_kl(logp, logp_ref, mask.bool(), estimator), expected)


@pytest.mark.task_1_4
def test_sampled_kl_returns_one_value_per_sequence():
    """sampled_kl of (batch, T) log-probs has shape (batch,), summing the per-token k1."""
    logp, logp_ref = torch.full((4, 5), -1.0), torch.full((4, 5), -1.5)
    torch.testing.assert_close(sampled_kl(logp, logp_ref), torch.full((4,), 2.5))


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"estimator": "k4"}, "^estimator "),
        ({"logp_ref": torch.zeros(2, 4)}, "^logp_ref "),
        ({"mask": torch.ones(2, 4, dtype=torch.bool)}, "^mask "),
        ({"logp": torch.zeros(6)}, "^logp "),
    ],
)
def test_sampled_kl_rejects_bad_input_naming_the_argument(kwargs, name):
    """sampled_kl raises a ValueError naming estimator, logp, logp_ref or mask."""
    args = {"logp": torch.zeros(2, 3), "logp_ref": torch.zeros(2, 3), **kwargs}
    with pytest.raises(ValueError, match=name):
        sampled_kl(**args)


# --- exact values, small enough to check by hand ----------------------------------------------

# float64 arithmetic on a few terms: anything beyond a few ulps is a different formula.
EXACT = 1e-12


@pytest.mark.task_1_1
def test_bon_kl_has_exact_values_at_small_n():
    """bon_kl(2) = log 2 − 1/2, bon_kl(4) = log 4 − 3/4, bon_kl(10) = log 10 − 9/10."""
    for n, expected in [(2, math.log(2) - 0.5), (4, math.log(4) - 0.75),
                        (10, math.log(10) - 0.9)]:
        check_close(f"bon_kl({n})", bon_kl(n), expected, EXACT, "float64 on two terms")


@pytest.mark.task_1_1
def test_bon_kl_keeps_a_float_tensor_dtype():
    """A float32 tensor n gives a float32 tensor of log n − (n − 1)/n."""
    out = bon_kl(torch.tensor([1.0, 2.0, 8.0]))
    assert out.dtype == torch.float32
    check_close("bon_kl(float32 tensor)", out, [0.0, math.log(2) - 0.5, math.log(8) - 7 / 8],
                1e-6, "float32 rounding of a value below 2")


@pytest.mark.task_1_2
def test_exact_bon_kl_of_a_fair_coin_at_n_two_is_hand_computable():
    """Two equally likely rewards, n = 2: π_2 = (1/4, 3/4), KL = ¼ log ½ + ¾ log 3/2."""
    expected = 0.25 * math.log(0.5) + 0.75 * math.log(1.5)
    check_close("bon_kl_exact([.5, .5], [0, 1], 2)", bon_kl_exact([0.5, 0.5], [0.0, 1.0], 2),
                expected, EXACT, "float64 on two levels")


@pytest.mark.task_1_2
def test_exact_bon_kl_ignores_zero_probability_outcomes_and_reward_order():
    """An outcome of probability 0 changes nothing, whatever its reward; nor does listing order."""
    base = bon_kl_exact([0.2, 0.3, 0.5], [0.0, 1.0, 2.0], 3)
    check_close("with a zero-probability outcome",
                bon_kl_exact([0.2, 0.0, 0.3, 0.5], [0.0, 9.0, 1.0, 2.0], 3), base, EXACT,
                "the same levels and masses")
    check_close("listed in another order", bon_kl_exact([0.5, 0.2, 0.3], [2.0, 0.0, 1.0], 3),
                base, EXACT, "the same levels and masses")


@pytest.mark.task_1_2
def test_exact_bon_kl_with_all_rewards_tied_is_zero():
    """If every outcome has the same reward, best-of-n picks uniformly: KL is 0 for every n."""
    assert bon_kl_exact([0.1, 0.6, 0.3], [1.0, 1.0, 1.0], 50) == 0.0


@pytest.mark.task_1_2
def test_exact_bon_kl_renormalizes_probabilities():
    """probs summing to 1 + 5e-7 (inside the tolerance) give the KL of the normalized ones."""
    probs = np.array([0.25, 0.25, 0.5])
    check_close("renormalized", bon_kl_exact(probs * (1 + 5e-7), [0.0, 1.0, 2.0], 4),
                bon_kl_exact(probs, [0.0, 1.0, 2.0], 4), EXACT, "identical after p / p.sum()")


@pytest.mark.task_1_3
def test_per_token_estimators_have_exact_values():
    """k1 = −x, k2 = x²/2 and k3 = eˣ − 1 − x at x = log r ∈ {−2, −0.5, 0, 0.5, 2}."""
    x = torch.tensor([-2.0, -0.5, 0.0, 0.5, 2.0], dtype=torch.float64)
    for name, expected in [("k1", -x), ("k2", x**2 / 2), ("k3", x.exp() - 1 - x)]:
        check_close(name, ESTIMATORS[name](x), expected, EXACT, "float64, one operation each")


@pytest.mark.task_1_3
def test_k3_is_accurate_for_tiny_log_ratios():
    """k3 at log r = 1e-8 is (log r)²/2 = 5e-17 to 1e-6 relative: eˣ − 1 computed as expm1.

    exp(1e-8) − 1 in float64 loses about half its digits to cancellation (relative error
    ~1e-8 of 1e-8, i.e. ~1e-16 absolute), which is larger than the 5e-17 answer itself.
    """
    x = torch.tensor([1e-8, -1e-8], dtype=torch.float64)
    expected = x**2 / 2 + x**3 / 6  # Taylor series; the next term is 4e-34
    check_close("k3 at tiny log r", k3(x) / expected, [1.0, 1.0], 1e-6,
                "expm1 is exact to an ulp here; exp(x) - 1 is off by ~100%")


@pytest.mark.task_1_3
def test_estimators_table_names_the_three_functions():
    """ESTIMATORS maps "k1", "k2", "k3" to k1, k2, k3 and keeps the input's shape."""
    assert ESTIMATORS == {"k1": k1, "k2": k2, "k3": k3}
    x = torch.zeros(2, 3, 4)
    assert all(f(x).shape == x.shape for f in (k1, k2, k3))


@pytest.mark.task_1_4
@pytest.mark.parametrize("estimator", ["k1", "k2", "k3"])
def test_sampled_kl_sums_the_estimator_over_unmasked_tokens(estimator):
    """sampled_kl = Σ_t mask·k(log π_ref − log π) per row, exactly, for each estimator."""
    logp = torch.tensor([[-1.0, -2.0, -0.5], [-0.1, -3.0, -1.0]], dtype=torch.float64)
    logp_ref = torch.tensor([[-1.5, -1.0, -0.5], [-0.3, -1.0, -4.0]], dtype=torch.float64)
    mask = torch.tensor([[1, 1, 1], [1, 0, 1]])
    # log r = log π_ref − log π = [[−.5, 1, 0], [−.2, (2: masked), −3]]
    expected = {"k1": [0.5 - 1 - 0, 0.2 + 3],
                "k2": [(0.25 + 1 + 0) / 2, (0.04 + 9) / 2],
                "k3": [math.expm1(-0.5) + 0.5 + math.expm1(1) - 1 + 0,
                       math.expm1(-0.2) + 0.2 + math.expm1(-3) + 3]}[estimator]
    check_close(f"sampled_kl {estimator}", sampled_kl(logp, logp_ref, mask, estimator), expected,
                EXACT, "float64 sums of three terms")


@pytest.mark.task_1_1
def test_bon_kl_returns_a_python_float_for_a_python_scalar():
    """A Python scalar gives exactly `float`; a 0-d numpy array gives numpy's float64."""
    assert type(bon_kl(3)) is float and type(bon_kl(3.0)) is float
    assert type(bon_kl(np.array(3))) is np.float64


@pytest.mark.task_1_2
def test_exact_bon_kl_computes_in_float64_whatever_the_input_dtype():
    """float32 probabilities give the same KL, to the last bit, as their float64 values."""
    probs = np.array([0.1, 0.2, 0.3, 0.4], dtype=np.float32)
    rewards = [0.0, 1.0, 1.0, 2.0]
    assert bon_kl_exact(probs, rewards, 7) == bon_kl_exact(probs.astype(np.float64), rewards, 7)


@pytest.mark.task_1_2
def test_exact_bon_kl_raises_no_numpy_warnings():
    """The lowest level's log1p(−1) = −inf and underflowing levels are handled without a
    RuntimeWarning (a library should not print warnings for correct input)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bon_kl_exact([0.5, 0.25, 0.25], [0.0, 1.0, 1.0], 3)
        bon_kl_exact(np.full(1000, 1e-3), np.arange(1000), 10**6)  # q underflows to 0
