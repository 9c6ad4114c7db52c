"""The unbiased best-of-n estimator (WebGPT, Nakano et al. 2021).

Best-of-n (BoN) draws n responses from the initial policy and keeps the one the *proxy* RM
scores highest. We want the expected proxy and gold score of that kept response for many n.
Sampling n fresh responses for every n would be wasteful. Instead, draw one pool of N ≥ n
responses per prompt and average over all C(N, n) of its n-subsets at once.

Sort the pool ascending by proxy score: S_1 ≤ S_2 ≤ … ≤ S_N. A uniformly random n-subset has
S_i as its proxy-best member exactly when it contains S_i and its other n − 1 members all come
from S_1..S_{i−1}. There are C(i − 1, n − 1) such subsets out of C(N, n), so

    E[score of best-of-n] = Σ_{i=1..N} w_i · score(S_i),     w_i = C(i − 1, n − 1) / C(N, n).

w_i is 0 for i < n. The weights sum to 1 (hockey-stick identity), since every subset has one
best member. This is the exact average over all subsets of the pool, so it is an unbiased
estimate of the best-of-n expectation under the policy. One pool gives every n ≤ N.

C(N, n) overflows float64 once N is past about 1,030. So the weights are computed in log space,
with log C(a, b) = lgamma(a + 1) − lgamma(b + 1) − lgamma(a − b + 1). Since the weights sum to
1, w is the softmax over i of log C(i − 1, n − 1). C(N, n) never has to be computed, and the
weights sum to 1 to float precision.
"""

from collections.abc import Sequence

import numpy as np
import torch

from minirmo.kl import bon_kl_beirami, bon_kl_exact


def _bon_weight_matrix(N: int, ns: torch.Tensor) -> torch.Tensor:
    """(len(ns), N) float64 matrix, row k holding w_i = C(i − 1, n − 1)/C(N, n) for n = ns[k].

    N: pool size; ns: (K,) integer tensor, each 1 ≤ n ≤ N (already checked by the callers).
    The matrix is on ns's device.
    Work in log space: C(N, n) overflows float64 past N ≈ 1,030.
    """
    # BEGIN SOLUTION Task 2.1: the best-of-n weights, in log space
    # (1, N) rank i of each sorted score, 1 = the lowest proxy score
    i = torch.arange(1, N + 1, dtype=torch.float64, device=ns.device)[None, :]
    n = ns.to(torch.float64)[:, None]  # (K, 1)
    log_c = torch.lgamma(i) - torch.lgamma(n) - torch.lgamma((i - n + 1).clamp_min(1))  # (K, N)
    log_c = torch.where(i >= n, log_c, -torch.inf)  # log C(i − 1, n − 1), −inf for i < n
    # Σ_i C(i − 1, n − 1) = C(N, n), so a softmax over i divides by exactly C(N, n)
    return torch.softmax(log_c, dim=1)  # (K, N)
    # END SOLUTION


def bon_weights(N: int, n: int) -> torch.Tensor:
    """The N best-of-n weights C(i − 1, n − 1)/C(N, n), i = 1..N, as a float64 tensor (N,).

    Index 0 is the lowest proxy score. Weight i is the probability that the i-th smallest of
    the N scores is the maximum of a uniformly random n-subset. The weights are non-negative,
    sum to 1, are uniform at n = 1 and one-hot on the last entry at n = N. They are computed in
    log space, so N = 200,000 works.
    """
    if not (float(N).is_integer() and N >= 1):
        raise ValueError(f"N must be an integer >= 1, got {N}")
    if not (float(n).is_integer() and 1 <= n <= N):
        raise ValueError(f"n must be an integer with 1 <= n <= N = {N}, got {n}")
    return _bon_weight_matrix(int(N), torch.tensor([n]))[0]


def _as_scores(x, name: str) -> torch.Tensor:
    """`x` as a float64 (prompts, N) tensor; a 1-D input is one prompt."""
    x = torch.as_tensor(x, dtype=torch.float64)
    x = x[None, :] if x.ndim == 1 else x
    if x.ndim != 2:
        raise ValueError(f"{name} must have shape (prompts, N) or (N,), got {tuple(x.shape)}")
    if x.numel() == 0:
        raise ValueError(f"{name} must be a non-empty pool, got shape {tuple(x.shape)}")
    if not torch.isfinite(x).all():
        raise ValueError(f"{name} must be finite (found NaN or inf)")
    return x


def bon_estimate(proxy, gold, ns: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Expected proxy and gold score of best-of-n, for every n in `ns`, from one pool.

    proxy: (prompts, N) proxy scores of N samples per prompt. A numpy array or a 1-D (N,)
           input (a single prompt) also works.
    gold:  same shape, the gold scores of the same samples
    ns:    sequence of ints, each 1 ≤ n ≤ N
    returns (proxy_bon, gold_bon), two float64 tensors of shape (len(ns),), averaged over
    prompts, on the device of the scores.

    Ties in proxy score are broken by a stable sort: among tied samples, the later one in the
    pool counts as the larger. The pool is an i.i.d. draw, so this is as good as a fair coin.
    """
    proxy, gold = _as_scores(proxy, "proxy"), _as_scores(gold, "gold")
    if gold.shape != proxy.shape:
        raise ValueError(
            f"gold must have the shape of proxy {tuple(proxy.shape)}, got {tuple(gold.shape)}"
        )
    N = proxy.shape[1]
    ns = torch.as_tensor(ns)
    if ns.ndim != 1 or ns.numel() == 0:
        raise ValueError(f"ns must be a non-empty sequence of ints, got {ns!r}")
    if ns.is_floating_point() or ns.is_complex() or ns.dtype == torch.bool:
        raise ValueError(f"ns must hold ints, got dtype {ns.dtype}")
    if (ns < 1).any() or (ns > N).any():
        raise ValueError(f"ns must lie in 1..N = {N}, got {ns.tolist()}")

    # BEGIN SOLUTION Task 2.2: the unbiased best-of-n estimator
    order = torch.sort(proxy, dim=1, stable=True).indices  # (prompts, N) ascending proxy
    # mean over prompts commutes with the weighted sum, so average the sorted pools first
    proxy_sorted = proxy.gather(1, order).mean(0)  # (N,)
    gold_sorted = gold.gather(1, order).mean(0)  # (N,)
    weights = _bon_weight_matrix(N, ns.to(proxy.device))  # (K, N), on the scores' device
    return weights @ proxy_sorted, weights @ gold_sorted  # (K,), (K,)
    # END SOLUTION


def pool_bon_kl(pool: torch.Tensor, proxy, ns: Sequence[int]) -> tuple[np.ndarray, float]:
    """The exact KL of best-of-n at each n of `ns` with each prompt's pool as the reference
    distribution, averaged over prompts; and the share of distinct responses in the pools.

    pool:  (prompts, N, seq_len) token ids of N samples per prompt
    proxy: (prompts, N) the proxy's score of each sample (it ranks them)
    returns (kl (len(ns),) float64, distinct share in (0, 1])

    A response drawn m times has probability m/N (`kl.bon_kl_exact`, ties broken uniformly).
    The analytic log n − (n − 1)/n assumes a continuous reward; this is what it is on a pool,
    with its repeats. Even a pool with no repeat is a uniform distribution over N outcomes,
    whose best-of-n KL stays below log N, so at n near N this measures the pool as much as
    the policy (compare it with `distinct_pool_kl`).
    """
    proxy = _as_scores(proxy, "proxy")
    if pool.ndim != 3 or pool.shape[:2] != proxy.shape:
        raise ValueError(f"pool must have shape (prompts, N, seq_len) with (prompts, N) = "
                         f"{tuple(proxy.shape)}, got {tuple(pool.shape)}")
    kls, distinct = [], 0
    for responses, scores in zip(pool, proxy, strict=True):  # (N, seq_len), (N,)
        _, which, counts = torch.unique(responses, dim=0, return_inverse=True,
                                        return_counts=True)  # (N,), (K,) K distinct
        # identical responses have identical scores: any one of them is its response's score
        score = scores.new_zeros(len(counts)).scatter(0, which, scores).cpu().numpy()  # (K,)
        probs = (counts.double() / counts.sum()).cpu().numpy()  # (K,)
        kls.append([bon_kl_exact(probs, score, n) for n in ns])
        distinct += len(counts)
    return np.mean(kls, axis=0), distinct / proxy.numel()


def distinct_pool_kl(N: int, ns: Sequence[int]) -> np.ndarray:
    """The exact best-of-n KL at each n of `ns` over N equally likely distinct outcomes: what
    `pool_bon_kl` gives for a pool without repeats (below the analytic form as n nears N)."""
    probs, ranks = np.full(N, 1.0 / N), np.arange(N)
    return np.array([bon_kl_exact(probs, ranks, n) for n in ns])


def pool_beirami_kl(proxy, logp, ns: Sequence[int]) -> np.ndarray:
    """Beirami et al.'s estimate of best-of-n's KL at each n of `ns` (`kl.bon_kl_beirami`),
    ε being the initial policy's probability of the response best-of-n keeps: its expectation
    over which response of each prompt's pool is kept (the estimator's weights), averaged over
    prompts.

    proxy: (prompts, N) the proxy's score of each sample (it ranks them)
    logp:  (prompts, N) each sample's log-probability under the initial policy
    returns (len(ns),) float64
    """
    proxy, logp = _as_scores(proxy, "proxy"), _as_scores(logp, "logp")
    if logp.shape != proxy.shape:
        raise ValueError(f"logp must have the shape of proxy {tuple(proxy.shape)}, "
                         f"got {tuple(logp.shape)}")
    if (logp > 0).any():
        raise ValueError("logp must be log-probabilities (<= 0)")
    N = proxy.shape[1]
    if not ns or any(not 1 <= n <= N for n in ns):
        raise ValueError(f"ns must be a non-empty sequence of ints in 1..N = {N}, got {ns!r}")
    order = torch.sort(proxy, dim=1, stable=True).indices  # (prompts, N), as bon_estimate
    eps = logp.gather(1, order).double().exp().cpu().numpy()  # (prompts, N) ascending proxy
    weights = _bon_weight_matrix(N, torch.as_tensor(ns)).cpu().numpy()  # (K, N)
    estimate = bon_kl_beirami(np.asarray(ns)[:, None, None], eps[None])  # (K, prompts, N)
    return (estimate * weights[:, None, :]).sum(-1).mean(-1)  # (K,)
