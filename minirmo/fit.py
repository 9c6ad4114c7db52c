"""The paper's functional forms for gold reward vs. KL, their least-squares fits, and scaling fits.

Gao, Schulman & Hilton measure how far a policy has moved from the initial policy by
d = sqrt(KL(π ‖ π_init)), and how much it gained by R = its gold score minus the initial
policy's. Two forms describe R(d) well:

    best-of-n:  R_bon(d) = d (α_bon − β_bon · d)
    RL:         R_RL(d)  = d (α_RL  − β_RL  · log d)

Both start at R(0) = 0 (for RL by continuity: d log d → 0 as d → 0) and both rise at first and
then turn down: the proxy reward model is being overoptimized. β sets how fast
overoptimization pulls gold back; α means something different in the two forms. For best-of-n,
α is the initial slope R′(0): how fast gold rises at first. For RL the initial slope is
infinite (R′(d) = α − β(1 + log d) → ∞ as d → 0 when β > 0), and α is the gain at d = 1:
R_RL(1) = α.

**Peaks.** Setting dR/dd to zero gives where gold is highest and how high it gets:

    best-of-n:  α − 2βd = 0           →  d* = α / (2β),          R* = α² / (4β)
    RL:         α − β log d − β = 0   →  d* = exp(α/β − 1),      R* = d*(α − β(α/β − 1)) = β d*

This needs β > 0. With β ≤ 0 the curve never turns down: there is no peak.

**Fitting.** Both forms are linear in (α, β), so ordinary least squares fits them. With one row
per measured point, the design matrix X has columns [d, −d²] (best-of-n) or [d, −d log d] (RL),
and (α, β) minimizes ‖X (α, β) − r‖². There is no intercept column because R(0) = 0. Points at
d = 0 give a row of zeros and so do not move the fit. Two distinct d > 0 make X full rank.
The fit quality is R² = 1 − SS_res / SS_tot with SS_tot = Σ (r − mean r)², the usual
definition. Because the forms have no intercept, a fit worse than the constant mean r gives
R² < 0. When every r is equal (to 1e-12 relative) SS_tot is 0 up to rounding and the ratio
means nothing; then, as in scikit-learn's `r2_score`, R² is 1.0 if the fit reproduces r (to
1e-9 relative) and 0.0 otherwise.

The paper chose the best-of-n form on n ≤ 1,000 and it then predicted n up to 60,000: the test
of a fitted form is extrapolation to larger d, not R² on the points it was fitted to.

**Scaling with reward-model size** (the paper's Figure 3). Fit the forms once per proxy size.
Then α_bon rises and β_bon, β_RL fall roughly linearly in log(params), while α_RL stays about
constant. `fit_scaling` fits coef ≈ slope · log10(params) + intercept, and `PAPER_COEFFICIENTS`
holds the paper's values at both ends of its size range for comparison. Falling β means a
later, higher peak: bigger reward models are harder to overoptimize.
"""

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

# Approximate values read off the paper's Figure 3 (not a table), at the smallest (3M) and
# largest (3B) proxy reward models. Keys are reward-model parameter counts.
PAPER_COEFFICIENTS = {
    3e6: dict(alpha_bon=0.49, beta_bon=0.12, beta_rl=0.175),
    3e9: dict(alpha_bon=0.66, beta_bon=0.09, beta_rl=0.118),
}


def _scalar_or_array(x: np.ndarray):
    """A 0-d result as a Python float, anything else as the numpy array."""
    return float(x) if np.ndim(x) == 0 else x


def _d_log_d(d: np.ndarray) -> np.ndarray:
    """d · log d elementwise, with its limit 0 at d = 0."""
    # BEGIN SOLUTION Task 3.1: the two functional forms R_bon(d) and R_RL(d)
    return d * np.log(np.where(d > 0, d, 1.0))
    # END SOLUTION


# --- the forms and their peaks ---------------------------------------------------------------


def bon_form(d, alpha, beta):
    """R_bon(d) = d (alpha − beta · d). A scalar d gives a float, an array-like an array."""
    d = np.asarray(d, dtype=np.float64)
    # BEGIN SOLUTION Task 3.1: the two functional forms R_bon(d) and R_RL(d)
    return _scalar_or_array(d * (alpha - beta * d))
    # END SOLUTION


def rl_form(d, alpha, beta):
    """R_RL(d) = d (alpha − beta · log d), and 0 at d = 0. Needs d ≥ 0.

    A scalar d gives a float, an array-like an array. Negative d raises ValueError.
    """
    d = np.asarray(d, dtype=np.float64)
    if np.any(d < 0):
        raise ValueError(f"d must be >= 0 (it is sqrt(KL)), got {d!r}")
    # BEGIN SOLUTION Task 3.1: the two functional forms R_bon(d) and R_RL(d)
    return _scalar_or_array(alpha * d - beta * _d_log_d(d))
    # END SOLUTION


def bon_peak(alpha: float, beta: float) -> tuple[float, float]:
    """(d*, R*) = (alpha / (2 beta), alpha² / (4 beta)): where R_bon is highest on d ≥ 0.

    beta ≤ 0: the curve never turns down, there is no peak, and this returns (inf, inf).
    alpha ≤ 0 (with beta > 0): the curve only falls, so the highest point is d = 0: (0.0, 0.0).
    """
    # BEGIN SOLUTION Task 3.2: the peaks (d*, R*) of both forms
    if beta <= 0:
        return np.inf, np.inf
    alpha = max(alpha, 0.0)
    return alpha / (2 * beta), alpha**2 / (4 * beta)
    # END SOLUTION


def rl_peak(alpha: float, beta: float) -> tuple[float, float]:
    """(d*, R*) = (exp(alpha / beta − 1), beta · d*): where R_RL is highest on d ≥ 0.

    beta ≤ 0: the curve never turns down, there is no peak, and this returns (inf, inf).
    A peak beyond the float64 range (alpha / beta > ~710) is also returned as (inf, inf).
    """
    # BEGIN SOLUTION Task 3.2: the peaks (d*, R*) of both forms
    if beta <= 0:
        return np.inf, np.inf
    with np.errstate(over="ignore"):
        d_star = float(np.exp(alpha / beta - 1))
    return d_star, beta * d_star
    # END SOLUTION


# --- least-squares fits of the forms ---------------------------------------------------------


@dataclass(frozen=True)
class Fit:
    """A fitted form: coefficients alpha, beta and the fit's R² on the fitted points.

    Iterating yields (alpha, beta) only, so `alpha, beta = fit_bon(d, r)` works, and
    `fit_bon(d, r).r2` gives R².
    """

    alpha: float
    beta: float
    r2: float

    def __iter__(self):
        yield self.alpha
        yield self.beta


def r_squared(y, y_hat) -> float:
    """R² = 1 − SS_res / SS_tot of predictions y_hat of y, both (points,).

    SS_res = Σ (y − y_hat)², SS_tot = Σ (y − mean y)². If every y is equal (to 1e-12 relative)
    SS_tot is 0 up to rounding: then R² is 1.0 if y_hat ≈ y (1e-9 relative), else 0.0.
    """
    y, y_hat = np.asarray(y, dtype=np.float64), np.asarray(y_hat, dtype=np.float64)
    if y.ndim != 1 or y.size == 0 or y_hat.shape != y.shape:
        raise ValueError(f"y and y_hat must be 1-D, non-empty and of the same length, got "
                         f"{y.shape} and {y_hat.shape}")
    # BEGIN SOLUTION Task 3.3: the coefficient of determination R²
    scale = np.abs(y).max()
    if np.ptp(y) <= 1e-12 * scale:  # SS_tot is 0 or mere rounding error
        return 1.0 if np.allclose(y_hat, y, rtol=1e-9, atol=1e-12) else 0.0
    y, y_hat = y / scale, y_hat / scale  # R² is scale-free; this keeps the squares from underflow
    return float(1 - np.sum((y - y_hat) ** 2) / np.sum((y - y.mean()) ** 2))
    # END SOLUTION


def _fit(d, r, features) -> Fit:
    """Least-squares (alpha, beta) for r ≈ X (alpha, beta) with X = features(d)."""
    d, r = np.asarray(d, dtype=np.float64), np.asarray(r, dtype=np.float64)
    if d.ndim != 1 or d.shape != r.shape:
        raise ValueError(f"d and r must be 1-D with the same length, got {d.shape} and {r.shape}")
    if not np.all(np.isfinite(d)):
        raise ValueError("d must be finite (no NaN or inf)")
    if not np.all(np.isfinite(r)):
        raise ValueError("r must be finite (no NaN or inf)")
    if np.any(d < 0):
        raise ValueError("d must be >= 0 (it is sqrt(KL))")
    if np.unique(d[d > 0]).size < 2:
        raise ValueError("d must have at least 2 distinct values > 0 to fit alpha and beta")
    # BEGIN SOLUTION Task 3.4: least-squares fits of both forms
    X = features(d)  # (points, 2)
    (alpha, beta), *_ = np.linalg.lstsq(X, r, rcond=None)
    return Fit(float(alpha), float(beta), r_squared(r, X @ np.array([alpha, beta])))
    # END SOLUTION


def fit_bon(d, r) -> Fit:
    """Fit R_bon(d) = d (alpha − beta d) to points (d, r) by least squares.

    d: (points,) values of sqrt(KL), ≥ 0.  r: (points,) gold score gains.
    Returns a `Fit`: `alpha, beta = fit_bon(d, r)`, and `.r2` for R².
    """
    # BEGIN SOLUTION Task 3.4: least-squares fits of both forms
    return _fit(d, r, lambda d: np.stack([d, -(d**2)], axis=1))
    # END SOLUTION


def fit_rl(d, r) -> Fit:
    """Fit R_RL(d) = d (alpha − beta log d) to points (d, r) by least squares.

    d: (points,) values of sqrt(KL), ≥ 0.  r: (points,) gold score gains.
    Returns a `Fit`: `alpha, beta = fit_rl(d, r)`, and `.r2` for R².
    """
    # BEGIN SOLUTION Task 3.4: least-squares fits of both forms
    return _fit(d, r, lambda d: np.stack([d, -_d_log_d(d)], axis=1))
    # END SOLUTION


# --- scaling of the coefficients with reward-model size --------------------------------------


def _log10_params(params) -> np.ndarray:
    """log10 of params, after checking that they are finite and > 0."""
    params = np.asarray(params, dtype=np.float64)
    if not np.all(np.isfinite(params) & (params > 0)):
        raise ValueError(f"params must be finite parameter counts > 0, got {params!r}")
    return np.log10(params)


class ScalingFit(NamedTuple):
    """A line coef ≈ slope · log10(params) + intercept, and its R² on the fitted points."""

    slope: float
    intercept: float
    r2: float

    def predict(self, params):
        """The line at new parameter counts. A scalar gives a float, an array-like an array."""
        return _scalar_or_array(self.slope * _log10_params(params) + self.intercept)


def fit_scaling(params, coef) -> ScalingFit:
    """Least-squares line coef ≈ slope · log10(params) + intercept (the paper's Figure 3).

    params: (sizes,) reward-model parameter counts, > 0, at least 2 distinct.
    coef:   (sizes,) one fitted coefficient (e.g. beta_bon) per size.
    """
    x = _log10_params(params)
    y = np.asarray(coef, dtype=np.float64)
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError(
            f"params and coef must be 1-D with the same length, got {x.shape} and {y.shape}"
        )
    if np.unique(x).size < 2:
        raise ValueError("params must have at least 2 distinct values to fit a line")
    if not np.all(np.isfinite(y)):
        raise ValueError("coef must be finite (no NaN or inf)")
    # BEGIN SOLUTION Task 3.5: the scaling line in log10(params) and the power law
    X = np.stack([x, np.ones_like(x)], axis=1)  # (sizes, 2)
    (slope, intercept), *_ = np.linalg.lstsq(X, y, rcond=None)
    r2 = r_squared(y, X @ np.array([slope, intercept]))
    return ScalingFit(float(slope), float(intercept), r2)
    # END SOLUTION


def fit_power(x, y) -> tuple[float, float]:
    """Fit y ≈ c · x^k by least squares on log y = log c + k log x; returns (c, k).

    The paper reports that without a KL penalty KL grows roughly quadratically in PPO steps
    (k ≈ 2) while best-of-n's grows like log n: this fit reads k off a KL-vs-step curve.
    Only points with x > 0 and y > 0 are used.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.shape != y.shape:
        raise ValueError(f"y: shape {y.shape} does not match x {x.shape}")
    keep = (x > 0) & (y > 0)
    if len(np.unique(x[keep])) < 2:
        raise ValueError("x: need at least 2 distinct points with x > 0 and y > 0")
    # BEGIN SOLUTION Task 3.5: the scaling line in log10(params) and the power law
    k, log_c = np.polyfit(np.log(x[keep]), np.log(y[keep]), 1)
    return float(np.exp(log_c)), float(k)
    # END SOLUTION
