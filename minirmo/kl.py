"""KL divergence from the initial policy: best-of-n analytically, exactly and from ε, and sampled.

The paper measures optimization by KL(π_opt ‖ π_init), where π_init is the initial policy.
This module computes it in three ways.

**Best-of-n, continuous reward** (`bon_kl`). Draw n samples from π and keep the one with the
highest reward r. Write F(r) for the CDF of r(y) under π. If the reward has no ties, the kept
sample y has reward at least as high as the other n − 1 samples, which happens with
probability F(r(y))^(n−1). Any of the n samples could be the kept one, so

    π_n(y) = n · F(r(y))^(n−1) · π(y),      hence   log(π_n/π) = log n + (n − 1) log F.

Under π the value u = F(r(y)) is Uniform(0, 1). Under π_n its density is n·u^(n−1), which is
Beta(n, 1), and E[log u] = ∫ n u^(n−1) log u du = −1/n. So

    KL(π_n ‖ π) = E_{π_n}[log n + (n − 1) log u] = log n − (n − 1)/n.

This is 0 at n = 1, increases with n, and is about log n − 1 for large n.

**Best-of-n, discrete outcomes** (`bon_kl_exact`). Language-model outputs are discrete and
rewards can tie. Break ties uniformly at random. Then the kept outcome has reward level r with
probability F(r)^n − F⁻(r)^n, where F⁻(r) = P(R < r) is the strict CDF: all n rewards are ≤ r
but not all of them are < r. Inside a level, the kept outcome follows π restricted to that
level. So

    π_n(y) = π(y) / P(R = r_y) · (F(r_y)^n − F⁻(r_y)^n).

This exact KL is never larger than log n − (n − 1)/n (Beirami et al. 2024, "Theoretical
guarantees on the best-of-n alignment policy"). To see why, attach an independent
U ~ Uniform(0, 1) to every sample and rank by the pair (r, U). This reward is continuous, so
its best-of-n has KL exactly log n − (n − 1)/n. Among tied rewards it picks the sample with
the largest U, which is a uniformly random one. Forgetting U therefore gives exactly our π_n,
and forgetting information can only lower KL (the data-processing inequality). The gap comes
from ties and discreteness. For M equally likely distinct outcomes it shrinks like (n/M)², and
for two outcomes the KL stays below log 2 however large n gets.

**Best-of-n, estimated from ε** (`bon_kl_beirami`). Beirami et al. also propose to estimate
the KL from ε, the reference probability of the selected outcome. Suppose that outcome is the
top one, with mass ε, and everything below it is continuous. Best-of-n keeps it unless all n
samples miss it, so with probability 1 − (1 − ε)^n; otherwise it is best-of-n of the continuous
rest. Split the KL by the chain rule over {the top, the rest}:

    KL = (1 − (1 − ε)^n) log((1 − (1 − ε)^n)/ε)
         + (1 − ε)^n [(n − 1) log(1 − ε) + log n − (n − 1)/n],

the first line for the top, the second for the rest (its mass (1 − ε)^n against 1 − ε, then
the continuous best-of-n KL inside it). It is exactly `bon_kl_exact` of such a distribution,
so it lies between 0 and log n − (n − 1)/n; it is the analytic form at ε → 0 and 0 at ε = 1 (a
deterministic policy). On a policy that rarely repeats itself ε is tiny and it gives the
analytic form back.

**Sampled KL** (`sampled_kl`). For RL we only have samples y ~ π and per-token log-probs under
π and π_ref. With log r = log π_ref − log π per token, three estimators of KL(π ‖ π_ref) are
(Schulman, "Approximating KL divergence", 2020):

    k1 = −log r            unbiased; one sample can be negative; high variance
    k2 = ½ (log r)²        biased, but ≥ 0 and low variance (good when π ≈ π_ref)
    k3 = (r − 1) − log r   unbiased (since E_π[r] = 1) and ≥ 0 (since log r ≤ r − 1)

Each is summed over the response tokens to give one estimate per sequence. The sums of k1 and
of k3 are unbiased for the sequence KL, because the expected per-token ratio is 1 given any
prefix; the sum of k2 is biased, as each of its terms is.
"""

import numpy as np
import torch


def _check_n(n: np.ndarray) -> None:
    """Raise unless every entry of `n` is a finite integer ≥ 1."""
    if n.size == 0 or not np.all(np.isfinite(n) & (n >= 1) & (n == np.floor(n))):
        raise ValueError(f"n must be an integer >= 1 (or an array of them), got {n!r}")


def bon_kl(n):
    """KL(π_n ‖ π) = log n − (n − 1)/n of best-of-n for a continuous reward (no ties).

    `n` may be an int, an integral float, a list, a numpy array or a torch tensor. A scalar
    gives a float. A list or array gives a numpy float64 array. A tensor gives a tensor (float64
    if `n` was an integer tensor, otherwise in n's own dtype).
    """
    if isinstance(n, torch.Tensor):
        n = n if n.is_floating_point() else n.double()
        _check_n(np.asarray(n.detach().cpu(), dtype=np.float64))
        # BEGIN SOLUTION Task 1.1: the best-of-n KL log n − (n − 1)/n
        return torch.log(n) - (n - 1) / n
        # END SOLUTION
    arr = np.asarray(n, dtype=np.float64)
    _check_n(arr)
    # BEGIN SOLUTION Task 1.1: the best-of-n KL log n − (n − 1)/n
    kl = np.log(arr) - (arr - 1) / arr
    return float(kl) if arr.ndim == 0 and not isinstance(n, np.ndarray) else kl
    # END SOLUTION


def bon_kl_exact(probs, rewards, n: int) -> float:
    """Exact KL(π_n ‖ π) of best-of-n over a discrete distribution, ties broken uniformly.

    probs:   (K,) probabilities π(y) of the K outcomes, ≥ 0, summing to 1 within 1e-6. They are
             renormalized to sum exactly to 1. Outcomes of probability 0 are ignored.
    rewards: (K,) the reward r(y) of each outcome; equal values are ties.

    Only the reward level matters: π_n/π = q_r/p_r on a level with mass p_r = P(R = r) and
    best-of-n mass q_r = F^n − F⁻^n. So KL = Σ_levels q_r log(q_r/p_r), computed in float64.
    The CDF is a running sum over the L levels, so its rounding error can grow to about
    L·eps (eps = 2.2e-16). The KL inherits about n times that, for example 1.4e-9 at n = 64
    and L = 10^5.
    """
    p = np.asarray(probs, dtype=np.float64)
    r = np.asarray(rewards, dtype=np.float64)
    if p.ndim != 1 or p.size == 0:
        raise ValueError(f"probs must be a non-empty 1-D array, got shape {p.shape}")
    if not np.all(np.isfinite(p)) or np.any(p < 0):
        raise ValueError("probs must be finite and non-negative")
    if abs(p.sum() - 1.0) > 1e-6:
        raise ValueError(f"probs must sum to 1 (within 1e-6), got sum {p.sum()!r}")
    if r.shape != p.shape:
        raise ValueError(f"rewards must have the same shape as probs {p.shape}, got {r.shape}")
    if np.isnan(r).any():
        raise ValueError("rewards must not contain NaN")
    _check_n(np.asarray(n, dtype=np.float64))
    n = int(n)

    # BEGIN SOLUTION Task 1.2: the exact best-of-n KL of a discrete distribution with ties
    p = p / p.sum()
    keep = p > 0
    _, level = np.unique(r[keep], return_inverse=True)  # (K',) index of each reward level
    mass = np.bincount(level, weights=p[keep])  # (L,) p_r = P(R = r), levels ascending
    cdf = np.cumsum(mass)  # (L,) F(r)
    # q_r = F^n − F⁻^n = F^n · (1 − (1 − p_r/F)^n), in log space to avoid cancellation.
    # On the lowest level p_r/F = 1, so log1p(−1) = −inf and q_r = F^n, as it should be.
    with np.errstate(divide="ignore", invalid="ignore"):
        log_q = n * np.log(cdf) + np.log(-np.expm1(n * np.log1p(-mass / cdf)))  # (L,)
        q = np.exp(log_q)
        # a level whose q underflows to 0 contributes 0 · log 0 = 0, not NaN
        terms = np.where(q > 0, q * (log_q - np.log(mass)), 0.0)  # (L,)
    return max(float(terms.sum()), 0.0)  # KL ≥ 0; only roundoff could make the sum negative
    # END SOLUTION


def bon_kl_beirami(n, eps):
    """Beirami et al.'s estimate of KL(π_n ‖ π) from ε, the reference probability of the
    selected outcome: the exact best-of-n KL when that outcome has mass ε at the top and
    everything below it is continuous (see the module docstring). Between 0 and
    log n − (n − 1)/n; the analytic form at ε = 0, and 0 at ε = 1.

    n:   an integer >= 1, or an array of them;  eps: probabilities in [0, 1], any shape.
    Both broadcast; returns float64 (a float for two scalars).
    """
    n_arr = np.asarray(n, dtype=np.float64)
    _check_n(n_arr)
    e = np.asarray(eps, dtype=np.float64)
    if e.size == 0 or not np.all((e >= 0) & (e <= 1)):  # NaN fails both comparisons
        raise ValueError(f"eps must be probabilities in [0, 1], got {eps!r}")
    miss = np.power(1.0 - e, n_arr)  # (1 − ε)^n: no sample is the top outcome
    top = 1.0 - miss  # best-of-n's mass on the top outcome
    with np.errstate(divide="ignore", invalid="ignore"):
        # 0 · log 0 = 0: the rest is empty at ε = 1, the top has (numerically) no mass at ε ≈ 0
        rest = np.where(miss > 0, miss * (bon_kl(n_arr) + (n_arr - 1) * np.log1p(-e)), 0.0)
        top_term = np.where(top > 0, top * (np.log(top) - np.log(e)), 0.0)
    kl = np.clip(rest + top_term, 0.0, None)  # ≥ 0; only roundoff could make it negative
    return float(kl) if kl.ndim == 0 else kl


# --- per-token estimators of KL(π ‖ π_ref) as functions of log r = log π_ref − log π


def k1(log_r: torch.Tensor) -> torch.Tensor:
    """k1 = −log r per token (unbiased, can be negative). log_r: any shape -> same shape."""
    # BEGIN SOLUTION Task 1.3: the per-token KL estimators k1, k2, k3
    return -log_r
    # END SOLUTION


def k2(log_r: torch.Tensor) -> torch.Tensor:
    """k2 = ½ (log r)² per token (biased, ≥ 0). log_r: any shape -> same shape."""
    # BEGIN SOLUTION Task 1.3: the per-token KL estimators k1, k2, k3
    return 0.5 * log_r**2
    # END SOLUTION


def k3(log_r: torch.Tensor) -> torch.Tensor:
    """k3 = (r − 1) − log r per token (unbiased, ≥ 0). log_r: any shape -> same shape.

    Use expm1(x) = e^x − 1, which is exact for small x where exp(x) − 1 cancels.
    """
    # BEGIN SOLUTION Task 1.3: the per-token KL estimators k1, k2, k3
    return torch.expm1(log_r) - log_r
    # END SOLUTION


ESTIMATORS = {"k1": k1, "k2": k2, "k3": k3}


def sampled_kl(logp, logp_ref, mask=None, estimator: str = "k1") -> torch.Tensor:
    """Per-sequence estimate of KL(π ‖ π_ref) from samples of π, summed over tokens.

    logp:      (batch, T) log π(token) of each sampled token
    logp_ref:  (batch, T) log π_ref(token) of the same tokens
    mask:      (batch, T) bool or 0/1, True where the token counts (default: all). Masked-out
               positions may hold anything, even -inf or NaN: they are never used.
    estimator: "k1", "k2" or "k3" (see the module docstring)
    returns:   (batch,) one estimate per sequence. Average it over the batch for the KL.
    """
    if estimator not in ESTIMATORS:
        raise ValueError(f"estimator must be one of {sorted(ESTIMATORS)}, got {estimator!r}")
    logp, logp_ref = torch.as_tensor(logp), torch.as_tensor(logp_ref)
    if logp.ndim != 2:
        raise ValueError(f"logp must have shape (batch, T), got {tuple(logp.shape)}")
    if logp_ref.shape != logp.shape:
        raise ValueError(
            f"logp_ref must have the shape of logp {tuple(logp.shape)}, "
            f"got {tuple(logp_ref.shape)}"
        )
    if mask is not None:
        mask = torch.as_tensor(mask, device=logp.device)
        if mask.shape != logp.shape:
            raise ValueError(
                f"mask must have the shape of logp {tuple(logp.shape)}, got {tuple(mask.shape)}"
            )
    # BEGIN SOLUTION Task 1.4: the sampled KL of each sequence, masked and summed over tokens
    per_token = ESTIMATORS[estimator](logp_ref - logp)  # (batch, T)
    if mask is None:
        return per_token.sum(-1)
    return torch.where(mask.bool(), per_token, 0.0).sum(-1)  # (batch,)
    # END SOLUTION
