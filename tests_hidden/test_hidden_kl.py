"""Hidden tests of chapter 1: the exact best-of-n KL against a closed form in log space."""

import numpy as np
import pytest

from minirmo.kl import bon_kl, bon_kl_exact


def _uniform_closed_form(M, n):
    """Exact BoN KL for M equally likely distinct rewards, and the Hoeffding bound on its gap.

    Level k = 1..M has F = k/M, F⁻ = (k−1)/M, so q_k = (k^n − (k−1)^n)/M^n and
    KL = Σ_k q_k log(M q_k). (Hidden: it is task 1.2's log-space computation of q.)
    """
    k = np.arange(1, M + 1, dtype=np.float64)
    with np.errstate(divide="ignore"):  # log1p(−1) = −inf at k = 1 gives q_1 = M^−n
        log_q = n * np.log(k / M) + np.log(-np.expm1(n * np.log1p(-1 / k)))
    q = np.exp(log_q)
    kl = float(np.sum(q * (log_q + np.log(M))))
    # Gap = Σ_k q_k · KL(within-cell density ∝ u^(n−1) ‖ uniform cell). The log density varies
    # by w_k = (n−1) log(k/(k−1)) inside cell k ≥ 2, and Hoeffding's lemma bounds that KL by
    # w_k²/8. Cell 1 contributes q_1 · (log n − (n−1)/n).
    w = (n - 1) * np.log(k[1:] / k[:-1])
    gap_bound = q[0] * bon_kl(n) + float(np.sum(q[1:] * w**2 / 8))
    return kl, gap_bound


@pytest.mark.task_1_2
@pytest.mark.parametrize("n", [1, 2, 3, 8, 64])
def test_exact_bon_kl_of_many_equally_likely_outcomes_equals_the_closed_form(n):
    """For M = 10^5 equally likely rewards the exact KL equals Σ_k q_k log(M q_k).

    The closed form uses exact ranks k and is accurate to ~1e-16 (checked against 40-digit
    mpmath). bon_kl_exact gets F from a running sum of 10^5 probabilities, whose rounding
    (~M·eps) the tolerance allows, amplified by n in F^n.
    """
    M = 10**5
    tol = n * M * np.finfo(float).eps + 1e-12
    exact = bon_kl_exact(np.full(M, 1 / M), np.arange(M), n)
    closed, gap_bound = _uniform_closed_form(M, n)
    assert exact == pytest.approx(closed, abs=tol)
    assert -tol <= bon_kl(n) - closed <= gap_bound + 1e-12
