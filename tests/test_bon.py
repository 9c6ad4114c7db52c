"""The unbiased best-of-n estimator, and regressional, extremal and catastrophic (heavy-tailed)
Goodhart under best-of-n."""

import itertools
import math

import numpy as np
import pytest
import torch
from closeness import check_close
from hypothesis import given, settings
from hypothesis import strategies as st

from minirmo.bon import (
    bon_estimate,
    bon_weights,
    distinct_pool_kl,
    pool_beirami_kl,
    pool_bon_kl,
)
from minirmo.kl import bon_kl, bon_kl_beirami

pools = st.integers(min_value=1, max_value=2000).flatmap(
    lambda N: st.tuples(st.just(N), st.integers(min_value=1, max_value=N))
)


# --- weights ---------------------------------------------------------------------------------


@pytest.mark.task_2_1
@settings(max_examples=30, deadline=None)
@given(pools)
def test_bon_weights_are_a_probability_vector(N_n):
    """bon_weights are non-negative and sum to 1."""
    w = bon_weights(*N_n)
    assert w.dtype == torch.float64 and w.shape == (N_n[0],)
    assert (w >= 0).all()
    assert w.sum().item() == pytest.approx(1.0, abs=1e-12)


@pytest.mark.task_2_1
@settings(max_examples=30, deadline=None)
@given(pools)
def test_bon_weights_are_non_decreasing_in_rank(N_n):
    """bon_weights never decrease from the lowest proxy score to the highest."""
    assert (bon_weights(*N_n).diff() >= 0).all()


@pytest.mark.task_2_1
@settings(max_examples=30, deadline=None)
@given(st.integers(min_value=1, max_value=2000))
def test_bon_weights_are_uniform_at_n_equals_one(N):
    """At n = 1 every sample has weight 1/N."""
    torch.testing.assert_close(bon_weights(N, 1), torch.full((N,), 1 / N, dtype=torch.float64))


@pytest.mark.task_2_1
@settings(max_examples=30, deadline=None)
@given(st.integers(min_value=1, max_value=2000))
def test_bon_weights_are_one_hot_on_the_best_at_n_equals_N(N):
    """At n = N all the weight sits on the highest proxy score."""
    expected = torch.zeros(N, dtype=torch.float64)
    expected[-1] = 1.0
    assert torch.equal(bon_weights(N, N), expected)


@pytest.mark.task_2_1
@settings(max_examples=50, deadline=None)
@given(st.integers(min_value=1, max_value=40).flatmap(
    lambda N: st.tuples(st.just(N), st.integers(min_value=1, max_value=N))
))
def test_bon_weights_match_math_comb(N_n):
    """bon_weights equal C(i−1, n−1)/C(N, n) computed with exact integers."""
    N, n = N_n
    expected = [math.comb(i - 1, n - 1) / math.comb(N, n) for i in range(1, N + 1)]
    np.testing.assert_allclose(bon_weights(N, n).numpy(), expected, rtol=1e-12, atol=0)


@pytest.mark.task_2_1
@pytest.mark.parametrize("n", [1, 2, 1000, 200_000])
def test_bon_weights_stay_finite_for_a_pool_of_200k(n):
    """For N = 200,000, where C(N, n) overflows float64, the weights stay finite and sum to 1."""
    w = bon_weights(200_000, n)
    assert torch.isfinite(w).all()
    assert w.sum().item() == pytest.approx(1.0, abs=1e-12)
    assert (w[: n - 1] == 0).all() and w[-1] > 0  # for large n, 1/C(N, n) at i = n underflows


# --- the estimator ---------------------------------------------------------------------------


@st.composite
def distinct_pools(draw, max_prompts=3, max_N=7):
    """(proxy, gold) numpy arrays of shape (prompts, N), proxy scores distinct in each row."""
    prompts = draw(st.integers(1, max_prompts))
    N = draw(st.integers(1, max_N))
    proxy = [
        draw(st.lists(st.integers(-50, 50), min_size=N, max_size=N, unique=True))
        for _ in range(prompts)
    ]
    gold = draw(st.lists(st.floats(-10, 10), min_size=prompts * N, max_size=prompts * N))
    return np.array(proxy, dtype=float), np.array(gold).reshape(prompts, N)


def _brute_force(proxy, gold, n):
    """Mean over prompts and over every n-subset of (proxy, gold) of the proxy-best member,
    a later index winning a tie (as bon_estimate breaks ties)."""
    per_prompt = []
    for p, g in zip(proxy, gold, strict=True):
        subsets = itertools.combinations(range(len(p)), n)
        best = [max(subset, key=lambda j: (p[j], j)) for subset in subsets]
        per_prompt.append((np.mean(p[best]), np.mean(g[best])))
    return np.mean(per_prompt, axis=0)  # (2,) proxy, gold


@pytest.mark.task_2_2
@settings(max_examples=60, deadline=None)
@given(distinct_pools())
def test_bon_estimate_equals_brute_force_over_every_subset(pool):
    """bon_estimate equals the average over every n-subset of the proxy-best member's scores."""
    proxy, gold = pool
    ns = list(range(1, proxy.shape[1] + 1))
    est_proxy, est_gold = bon_estimate(proxy, gold, ns)
    expected = np.array([_brute_force(proxy, gold, n) for n in ns])  # (len(ns), 2)
    np.testing.assert_allclose(est_proxy.numpy(), expected[:, 0], rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(est_gold.numpy(), expected[:, 1], rtol=1e-10, atol=1e-10)


@pytest.mark.task_2_2
@settings(max_examples=30, deadline=None)
@given(distinct_pools(max_N=30), st.integers(0, 2**32 - 1))
def test_bon_estimate_is_invariant_to_shuffling_the_pool(pool, seed):
    """Permuting each prompt's pool (same permutation for proxy and gold) changes nothing."""
    proxy, gold = pool
    rng = np.random.default_rng(seed)
    perm = np.stack([rng.permutation(proxy.shape[1]) for _ in range(proxy.shape[0])])
    shuffled = np.take_along_axis(proxy, perm, 1), np.take_along_axis(gold, perm, 1)
    ns = list(range(1, proxy.shape[1] + 1))
    before, after = bon_estimate(proxy, gold, ns), bon_estimate(*shuffled, ns)
    for ours, theirs in zip(before, after, strict=True):
        torch.testing.assert_close(ours, theirs, rtol=1e-12, atol=1e-12)


@pytest.mark.task_2_2
@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=60))
def test_bon_proxy_score_never_decreases_with_n(scores):
    """The expected proxy score of best-of-n never decreases with n, ties included."""
    proxy = torch.tensor(scores, dtype=torch.float64).view(1, -1)
    est_proxy, _ = bon_estimate(proxy, torch.zeros_like(proxy), range(1, proxy.shape[1] + 1))
    assert (est_proxy.diff() >= -1e-9).all()


@pytest.mark.task_2_2
@settings(max_examples=30, deadline=None)
@given(distinct_pools(max_N=30))
def test_bon_estimate_at_n_equals_one_is_the_pool_mean(pool):
    """At n = 1 best-of-n is a random sample, so both estimates are the pool means."""
    proxy, gold = pool
    est_proxy, est_gold = bon_estimate(proxy, gold, [1])
    assert est_proxy.item() == pytest.approx(proxy.mean(), abs=1e-9)
    assert est_gold.item() == pytest.approx(gold.mean(), abs=1e-9)


@pytest.mark.task_2_2
@settings(max_examples=30, deadline=None)
@given(distinct_pools(max_N=30))
def test_bon_estimate_at_n_equals_N_is_the_gold_at_the_proxy_argmax(pool):
    """At n = N best-of-n keeps the proxy's favourite, so gold is its gold score."""
    proxy, gold = pool
    _, est_gold = bon_estimate(proxy, gold, [proxy.shape[1]])
    best = gold[np.arange(len(gold)), proxy.argmax(1)]
    assert est_gold.item() == pytest.approx(best.mean(), abs=1e-9)


@pytest.mark.task_2_2
def test_bon_estimate_accepts_a_single_prompt_as_1d():
    """A 1-D pool is read as one prompt."""
    proxy, gold = torch.tensor([3.0, 1.0, 2.0]), torch.tensor([30.0, 10.0, 20.0])
    one = bon_estimate(proxy, gold, [1, 2, 3])
    two = bon_estimate(proxy[None], gold[None], [1, 2, 3])
    for a, b in zip(one, two, strict=True):
        torch.testing.assert_close(a, b)


# --- Goodhart --------------------------------------------------------------------------------

LOG_GRID = sorted({round(2 ** (k / 2)) for k in range(21)})  # 1 .. 1024, 20 points


@pytest.mark.task_2_2
def test_regressional_goodhart_gold_never_decreases_with_n():
    """With proxy = gold + independent Gaussian noise, gold under best-of-n only rises.

    Here E[gold | proxy] = proxy/2 rises with the proxy, so there is no peak. 1024 prompts keep
    the estimator's noise (std about 0.02 per step) below the smallest true step (about 0.06).
    The smallest step over 20 seeds was 0.047.
    """
    gen = torch.Generator().manual_seed(0)
    gold = torch.randn(1024, 1024, generator=gen, dtype=torch.float64)  # (prompts, N)
    proxy = gold + torch.randn(1024, 1024, generator=gen, dtype=torch.float64)
    _, est_gold = bon_estimate(proxy, gold, LOG_GRID)
    assert (est_gold.diff() > 0).all()


@pytest.mark.task_2_2
def test_extremal_goodhart_gold_peaks_then_falls_while_proxy_rises():
    """An extremal error (proxy wrong where samples are rare) makes gold peak at some n < N.

    Samples x ~ N(0, 1) and the proxy is x. The gold agrees below x = 1.5 but drops steeply
    beyond it, a region that only about 7% of samples reach. Best-of-n pushes into that tail.
    """
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(64, 1024, generator=gen, dtype=torch.float64)  # (prompts, N)
    gold = torch.where(x < 1.5, x, 1.5 - 3 * (x - 1.5))
    est_proxy, est_gold = bon_estimate(x, gold, LOG_GRID)
    peak = int(est_gold.argmax())
    assert 0 < peak < len(LOG_GRID) - 1
    assert est_gold[peak] - est_gold[-1] > 1.0  # a clear fall, not noise
    assert (est_proxy.diff() > 0).all()


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "N, n, name", [(5, 0, "^n "), (5, 6, "^n "), (5, 2.5, "^n "), (0, 1, "^N "), (2.5, 1, "^N ")]
)
def test_bon_weights_rejects_bad_input_naming_the_argument(N, n, name):
    """bon_weights raises a ValueError naming n for n < 1 or n > N, and N for N < 1."""
    with pytest.raises(ValueError, match=name):
        bon_weights(N, n)


ok = torch.zeros(2, 4)


@pytest.mark.parametrize(
    "proxy, gold, ns, name",
    [
        (torch.tensor([[0.0, math.nan]]), torch.zeros(1, 2), [1], "^proxy "),
        (torch.tensor([[0.0, math.inf]]), torch.zeros(1, 2), [1], "^proxy "),
        (torch.zeros(1, 2), torch.tensor([[math.nan, 0.0]]), [1], "^gold "),
        (torch.zeros(1, 2), torch.tensor([[-math.inf, 0.0]]), [1], "^gold "),
        (ok, torch.zeros(2, 5), [1], "^gold "),
        (ok, torch.zeros(3, 4), [1], "^gold "),
        (torch.zeros(2, 0), torch.zeros(2, 0), [1], "^proxy "),
        (torch.zeros(2, 2, 2), torch.zeros(2, 2, 2), [1], "^proxy "),
        (ok, ok, [], "^ns "),
        (ok, ok, [0, 1], "^ns "),
        (ok, ok, [1, 5], "^ns "),
        (ok, ok, [2.5], "^ns "),
        (ok, ok, torch.tensor([], dtype=torch.long), "^ns "),
        (ok, ok, [[1, 2]], "^ns "),
        (ok, ok, [True], "^ns "),
    ],
)
def test_bon_estimate_rejects_bad_input_naming_the_argument(proxy, gold, ns, name):
    """bon_estimate raises a ValueError naming proxy, gold or ns for bad input."""
    with pytest.raises(ValueError, match=name):
        bon_estimate(proxy, gold, ns)


# --- exact values and the tie rule -------------------------------------------------------------


@pytest.mark.task_2_1
def test_bon_weights_of_a_pool_of_four_are_hand_computable():
    """N = 4: n = 2 gives (0, 1, 2, 3)/6 and n = 3 gives (0, 0, 1, 3)/4."""
    for n, expected in [(2, [0, 1 / 6, 2 / 6, 3 / 6]), (3, [0, 0, 1 / 4, 3 / 4])]:
        check_close(f"bon_weights(4, {n})", bon_weights(4, n), expected, 1e-15,
                    "a softmax of four lgamma values: a few ulps")


@st.composite
def tied_pools(draw):
    """(proxy, gold) of shape (prompts, N) with proxy scores from 3 values: many ties."""
    prompts, N = draw(st.integers(1, 3)), draw(st.integers(1, 7))
    proxy = draw(st.lists(st.lists(st.sampled_from([0.0, 1.0, 2.0]), min_size=N, max_size=N),
                          min_size=prompts, max_size=prompts))
    gold = draw(st.lists(st.lists(st.floats(-10, 10), min_size=N, max_size=N),
                         min_size=prompts, max_size=prompts))
    return np.array(proxy), np.array(gold)


@pytest.mark.task_2_2
@settings(max_examples=60, deadline=None)
@given(tied_pools())
def test_bon_estimate_breaks_ties_in_favour_of_the_later_sample(pool):
    """With tied proxy scores, the estimate equals brute force in which the later sample wins."""
    proxy, gold = pool
    ns = list(range(1, proxy.shape[1] + 1))
    est_proxy, est_gold = bon_estimate(proxy, gold, ns)
    expected = np.array([_brute_force(proxy, gold, n) for n in ns])
    check_close("proxy of best-of-n with ties", est_proxy, expected[:, 0], 1e-10,
                "sums of at most 7 float64 terms of size 10")
    check_close("gold of best-of-n with ties", est_gold, expected[:, 1], 1e-10,
                "sums of at most 7 float64 terms of size 10")


@pytest.mark.task_2_2
@pytest.mark.parametrize("N", [17, 100, 1000])
def test_bon_estimate_tie_rule_holds_past_sixteen_tied_samples(N):
    """All N proxy scores tied (N > 16, where torch's CPU sort is unstable unless asked to be
    stable): best-of-n's gold is Σ_i C(i−1, n−1)/C(N, n) · gold_i in pool order."""
    gold = torch.arange(N, dtype=torch.float64).flip(0) ** 1.5  # distinct, decreasing
    proxy = torch.zeros(N, dtype=torch.float64)
    ns = [1, 2, 5, N]
    _, est_gold = bon_estimate(proxy, gold, ns)
    expected = [sum(math.comb(i - 1, n - 1) * float(gold[i - 1]) for i in range(1, N + 1))
                / math.comb(N, n) for n in ns]
    check_close("gold with every proxy tied", est_gold, expected, 1e-9 * float(gold.max()),
                "float64 sums of N terms: relative error ~N·eps")
    assert est_gold[-1].item() == gold[-1].item()  # at n = N the last sample wins


@pytest.mark.task_2_2
def test_bon_estimate_of_a_small_pool_is_hand_computable():
    """Pool proxy (3, 1, 2), gold (30, 10, 20): best-of-2 averages the three pairs' winners."""
    proxy, gold = bon_estimate([3.0, 1.0, 2.0], [30.0, 10.0, 20.0], [1, 2, 3])
    # pairs {3,1}→3, {3,2}→3, {1,2}→2: proxy (3 + 3 + 2)/3, gold (30 + 30 + 20)/3
    check_close("proxy", proxy, [2.0, 8 / 3, 3.0], 1e-12, "three float64 terms")
    check_close("gold", gold, [20.0, 80 / 3, 30.0], 1e-12, "three float64 terms")
    assert proxy.dtype == gold.dtype == torch.float64 and proxy.shape == (3,)


@pytest.mark.task_2_2
def test_bon_estimate_averages_over_prompts():
    """Two prompts: the estimate is the mean of the two single-prompt estimates."""
    proxy = np.array([[3.0, 1.0, 2.0], [0.0, 5.0, 4.0]])
    gold = np.array([[1.0, 2.0, 3.0], [4.0, -5.0, 6.0]])
    both = bon_estimate(proxy, gold, [1, 2, 3])
    ones = [bon_estimate(proxy[i], gold[i], [1, 2, 3]) for i in range(2)]
    for k, name in enumerate(["proxy", "gold"]):
        check_close(name, both[k], (ones[0][k] + ones[1][k]) / 2, 1e-12, "float64 means")


def student_t3(shape, generator) -> torch.Tensor:
    """Student-t samples with 3 degrees of freedom: z / sqrt(χ²₃ / 3), from `generator`."""
    z = torch.randn(shape, generator=generator, dtype=torch.float64)
    chi2 = (torch.randn((*shape, 3), generator=generator, dtype=torch.float64) ** 2).sum(-1)
    return z / torch.sqrt(chi2 / 3)


@pytest.mark.task_2_2
@settings(max_examples=8, deadline=None)
@given(st.integers(min_value=0, max_value=2**31 - 1))
def test_catastrophic_goodhart_heavy_tailed_error_buys_proxy_not_gold(seed):
    """With proxy = gold + a heavy-tailed error (Student-t, 3 degrees of freedom), best-of-n's
    gold gain peaks and then shrinks towards zero while the proxy keeps climbing (Kwa et al.
    2024): the largest proxy scores are mostly error. The same error with Gaussian tails only
    raises gold (the regressional test above).

    Gold ~ N(0, 1), 128 prompts x N = 8,192. Over seeds 0-39 the gold at n = N was at most 34%
    of its peak, but the ratio has a tail (42% at one of three more seeds, and Hypothesis found
    a seed at 52%): the bound is 75%. The peak came at n <= 64, and the proxy at N was at least
    29x the peak gold (bound: 10x).
    """
    gen = torch.Generator().manual_seed(seed)
    gold = torch.randn(128, 8192, generator=gen, dtype=torch.float64)  # (prompts, N)
    ns = [2**k for k in range(14)]  # 1 ... 8,192 = N
    proxy_est, gold_est = bon_estimate(gold + student_t3(gold.shape, gen), gold, ns)
    peak = int(gold_est.argmax())
    assert ns[peak] <= 64 and gold_est[peak] > 0.5
    assert gold_est[-1] < 0.75 * gold_est[peak]
    assert proxy_est[-1] > 10 * gold_est[peak] and (proxy_est.diff() >= 0).all()


# --- the exact best-of-n KL on a pool --------------------------------------------------------

# pools of short responses over a tiny vocabulary, so that they repeat: (prompts, N, length)
token_pools = st.tuples(st.integers(1, 3), st.integers(2, 40), st.integers(1, 3),
                        st.integers(0, 2**31 - 1))


def draw_pool(prompts, N, length, seed, vocab=3):
    """A pool of token ids and a proxy score that is a function of each response alone."""
    g = torch.Generator().manual_seed(seed)
    pool = torch.randint(vocab, (prompts, N, length), generator=g)
    weights = torch.rand(length, generator=g, dtype=torch.float64) + 0.5
    return pool, (pool.double() * weights).sum(-1)  # (prompts, N, length), (prompts, N)


@settings(max_examples=40, deadline=None)
@given(token_pools)
def test_pool_kl_lies_between_zero_and_the_analytic_form(shape):
    """The exact best-of-n KL on a pool is 0 at n = 1 and never above log n − (n − 1)/n
    (Beirami et al. 2024, Theorem 1: the analytic form is an upper bound)."""
    pool, proxy = draw_pool(*shape)
    ns = list(range(1, pool.shape[1] + 1))
    kl, distinct = pool_bon_kl(pool, proxy, ns)
    assert abs(kl[0]) < 1e-12 and 0 < distinct <= 1  # 0 to float rounding
    assert (kl >= 0).all() and (kl <= bon_kl(ns) + 1e-12).all()


@settings(max_examples=30, deadline=None)
@given(st.integers(2, 300), st.integers(0, 2**31 - 1))
def test_a_pool_without_repeats_gives_the_distinct_pool_kl(N, seed):
    """A pool of N distinct responses (scores without ties) is a uniform distribution over N
    outcomes: its exact KL is distinct_pool_kl's at every n, its distinct share 1."""
    pool = torch.arange(N)[None, :, None]  # (1, N, 1): all different
    proxy = torch.rand(1, N, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    ns = sorted({1, 2, N // 2 + 1, N})
    kl, distinct = pool_bon_kl(pool, proxy, ns)
    assert distinct == 1
    check_close("pool of distinct responses", kl, distinct_pool_kl(N, ns), 1e-9,
                "the same sums over the same levels, in another order")


def test_a_pool_of_one_repeated_response_costs_no_kl():
    """When every sample of a prompt is the same response, best-of-n is the policy: KL 0 at
    every n, and 1/N of the pool is distinct."""
    pool = torch.full((2, 16, 4), 7)
    kl, distinct = pool_bon_kl(pool, torch.zeros(2, 16), [1, 4, 16])
    assert (kl == 0).all() and distinct == 1 / 16


def test_two_equally_likely_responses_cap_the_kl_at_log_2():
    """A pool split evenly between two responses keeps the best-of-n KL below log 2 however
    large n is, where the analytic form grows like log n."""
    pool = torch.tensor([0, 1] * 32)[None, :, None]  # (1, 64, 1)
    kl, _ = pool_bon_kl(pool, pool[..., 0].double(), [2, 8, 64])
    assert (kl <= math.log(2) + 1e-12).all() and bon_kl([64])[0] > 3  # log 2 to rounding
    check_close("n = 2 over two outcomes", kl[0], 0.75 * math.log(1.5) + 0.25 * math.log(0.5),
                1e-12, "float64 sums of two terms")


def test_distinct_pool_kl_approaches_the_analytic_form_when_n_is_small_against_n_max():
    """Over many equally likely outcomes the exact KL at small n is the analytic one to about
    (n/N)²; at n = N it stays below log N."""
    kl = distinct_pool_kl(4096, [2, 8, 4096])
    check_close("n = 2, 8 of 4,096 outcomes", kl[:2], bon_kl([2, 8]), 1e-3,
                "the gap from discreteness shrinks like (n/N)²")
    assert kl[2] < math.log(4096) < bon_kl([4096])[0] + 1


def test_pool_kl_rejects_a_pool_of_the_wrong_shape_naming_pool():
    """A pool that does not match the scores' (prompts, N) is an error naming `pool`."""
    with pytest.raises(ValueError, match="pool"):
        pool_bon_kl(torch.zeros(2, 8), torch.zeros(2, 8), [1])
    with pytest.raises(ValueError, match="pool"):
        pool_bon_kl(torch.zeros(2, 9, 3), torch.zeros(2, 8), [1])


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 7), st.integers(0, 2**31 - 1))
def test_pool_beirami_kl_equals_enumeration_over_every_subset(N, seed):
    """pool_beirami_kl is the mean, over every n-subset of each prompt's pool, of Beirami et
    al.'s estimate at the ε of the subset's proxy-best response (ties: the later sample)."""
    g = torch.Generator().manual_seed(seed)
    proxy = torch.randint(0, 3, (2, N), generator=g).double()  # ties on purpose
    logp = -3 * torch.rand(2, N, generator=g, dtype=torch.float64)
    ns = list(range(1, N + 1))

    def kept(prompt, subset):  # the proxy-best sample of a subset, the later one on a tie
        return max(subset, key=lambda i: (proxy[prompt, i], i))

    brute = [np.mean([bon_kl_beirami(n, math.exp(logp[p, kept(p, subset)]))
                      for p in range(2) for subset in itertools.combinations(range(N), n)])
             for n in ns]
    check_close("enumerated subsets", pool_beirami_kl(proxy, logp, ns), brute, 1e-12,
                "the same float64 terms, summed in another order")


def test_pool_beirami_kl_is_the_analytic_form_for_improbable_responses_and_zero_for_certain_ones():
    """Responses of log-probability −50 (ε ≈ 2e-22) give log n − (n − 1)/n; responses of
    probability 1 give 0 at every n."""
    proxy = torch.rand(3, 64, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    ns = [1, 4, 64]
    check_close("ε ≈ 0", pool_beirami_kl(proxy, torch.full((3, 64), -50.0), ns), bon_kl(ns),
                1e-12, "ε below float64's resolution of 1 − ε")
    assert (pool_beirami_kl(proxy, torch.zeros(3, 64), ns) == 0).all()


@pytest.mark.parametrize("proxy, logp, ns, message", [
    (torch.zeros(2, 8), torch.zeros(2, 7), [1], "^logp must have the shape of proxy"),
    (torch.zeros(2, 8), torch.zeros(2, 2, 8), [1], r"^logp must have shape \(prompts, N\)"),
    (torch.zeros(2, 2, 8), torch.zeros(2, 8), [1], r"^proxy must have shape \(prompts, N\)"),
    (torch.zeros(2, 8), torch.full((2, 8), 0.5), [1], r"^logp must be log-probabilities \(<= 0\)$"),
    (torch.zeros(2, 8), torch.zeros(2, 8), [9], "^ns must be"),
    (torch.zeros(2, 8), torch.zeros(2, 8), [], "^ns must be")])
def test_pool_beirami_kl_rejects_bad_input_naming_the_argument(proxy, logp, ns, message):
    """Scores or log-probabilities of the wrong shape, log-probabilities above 0, or n outside
    1..N raise a ValueError whose message starts with the argument's name."""
    with pytest.raises(ValueError, match=message):
        pool_beirami_kl(proxy, logp, ns)


@pytest.mark.parametrize("N", [17, 200])
def test_pool_beirami_kl_keeps_the_later_of_tied_samples_past_sixteen(N):
    """Every proxy score tied (N > 16, where torch's CPU sort is unstable unless asked to be
    stable): the response kept by best-of-n is the later one in pool order, as in
    bon_estimate, so at n = N the estimate is at the last sample's ε."""
    logp = -torch.linspace(0.1, 5.0, N, dtype=torch.float64)[None]  # (1, N) distinct ε
    ns = [1, 2, N]
    weights = [[math.comb(i - 1, n - 1) / math.comb(N, n) for i in range(1, N + 1)] for n in ns]
    eps = [math.exp(lp) for lp in logp[0].tolist()]
    expected = [sum(w * bon_kl_beirami(n, e) for w, e in zip(ws, eps, strict=True))
                for n, ws in zip(ns, weights, strict=True)]
    got = pool_beirami_kl(torch.zeros(1, N), logp, ns)
    check_close("estimate with every proxy tied", got, expected, 1e-12,
                "float64 sums of N terms below 8")
    assert got[-1] == bon_kl_beirami(N, math.exp(logp[0, -1].item()))


def test_pool_kl_rejects_scores_of_the_wrong_shape_naming_proxy():
    """Scores that are not (prompts, N) or (N,) are an error whose message starts with
    `proxy`."""
    with pytest.raises(ValueError, match=r"^proxy must have shape \(prompts, N\)"):
        pool_bon_kl(torch.zeros(2, 8, 3), torch.zeros(2, 2, 8), [1])
