"""The paper's functional forms: least-squares fits, peaks, and scaling with reward-model size."""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from minirmo.fit import (
    PAPER_COEFFICIENTS,
    Fit,
    bon_form,
    bon_peak,
    fit_bon,
    fit_rl,
    fit_scaling,
    rl_form,
    rl_peak,
)

alphas = st.floats(min_value=0.1, max_value=2.0)
betas = st.floats(min_value=0.01, max_value=1.0)
d_maxes = st.floats(min_value=0.5, max_value=20.0)
n_points = st.integers(min_value=3, max_value=60)
seeds = st.integers(min_value=0, max_value=2**32 - 1)
any_coef = st.floats(min_value=-2.0, max_value=2.0)
# Flat, or at least 1e-3 per decade: a spread near rounding error makes R² meaningless.
slopes = st.just(0.0) | st.floats(1e-3, 2.0) | st.floats(-2.0, -1e-3)

FORMS = pytest.mark.parametrize(
    "form, fit", [(bon_form, fit_bon), (rl_form, fit_rl)], ids=["bon", "rl"]
)


# --- the forms -------------------------------------------------------------------------------


@given(any_coef, any_coef)
def test_both_forms_are_zero_at_d_zero(alpha, beta):
    """R_bon(0) = R_RL(0) = 0 for any alpha, beta: no optimization, no gain."""
    assert bon_form(0.0, alpha, beta) == 0.0
    assert rl_form(0.0, alpha, beta) == 0.0


@pytest.mark.parametrize("form", [bon_form, rl_form], ids=["bon", "rl"])
def test_forms_give_a_float_for_a_scalar_and_an_elementwise_array_for_an_array(form):
    """A scalar d gives a float; an array d gives the array of the scalar values."""
    d = [0.0, 0.5, 1.0, 3.0]
    expected = [form(x, 0.7, 0.2) for x in d]
    assert all(isinstance(x, float) for x in expected)
    out = form(np.array(d), 0.7, 0.2)
    assert isinstance(out, np.ndarray)
    np.testing.assert_allclose(out, expected, rtol=1e-15)


# --- fits ------------------------------------------------------------------------------------


@FORMS
@settings(deadline=None, max_examples=50)
@given(alphas, betas, d_maxes, n_points)
def test_fits_recover_known_coefficients_from_clean_curves(form, fit, alpha, beta, d_max, n):
    """fit_bon / fit_rl recover (alpha, beta) exactly from a noiseless curve, R² = 1."""
    d = np.linspace(0.0, d_max, n)
    result = fit(d, form(d, alpha, beta))
    assert isinstance(result, Fit)
    a, b = result
    assert a == pytest.approx(alpha, rel=1e-8, abs=1e-10)
    assert b == pytest.approx(beta, rel=1e-8, abs=1e-10)
    assert result.r2 == pytest.approx(1.0, abs=1e-10)


@FORMS
@settings(deadline=None, max_examples=30)
@given(alphas, betas, seeds)
def test_fits_recover_coefficients_from_noisy_curves_within_five_standard_errors(
    form, fit, alpha, beta, seed
):
    """With Gaussian noise, |fitted − true| < 5 OLS standard errors (a miss has p < 1e-6).

    The standard errors are sqrt(diag(σ² (XᵀX)⁻¹)) for the known noise σ and design matrix X.
    """
    sigma = 0.05
    d = np.linspace(0.05, 8.0, 400)
    r = form(d, alpha, beta) + sigma * np.random.default_rng(seed).standard_normal(d.size)
    a, b = fit(d, r)
    second = d**2 if form is bon_form else d * np.log(d)
    X = np.stack([d, -second], axis=1)
    se_alpha, se_beta = np.sqrt(np.diag(sigma**2 * np.linalg.inv(X.T @ X)))
    assert abs(a - alpha) < 5 * se_alpha
    assert abs(b - beta) < 5 * se_beta


@FORMS
@settings(deadline=None, max_examples=30)
@given(alphas, betas, seeds)
def test_fit_r2_is_below_one_on_noisy_curves(form, fit, alpha, beta, seed):
    """Noise the form cannot explain leaves R² strictly below 1."""
    d = np.linspace(0.05, 8.0, 100)
    r = form(d, alpha, beta) + 0.05 * np.random.default_rng(seed).standard_normal(d.size)
    assert fit(d, r).r2 < 1.0


@FORMS
def test_points_at_d_zero_do_not_move_the_fit(form, fit):
    """Adding points at d = 0 (with R = 0) leaves alpha and beta unchanged."""
    d = np.array([0.5, 1.0, 2.0, 4.0])
    r = form(d, 0.8, 0.3) + np.array([0.01, -0.02, 0.03, -0.01])
    with_zeros = fit(np.concatenate([[0.0, 0.0], d]), np.concatenate([[0.0, 0.0], r]))
    assert tuple(with_zeros) == pytest.approx(tuple(fit(d, r)), rel=1e-12)


def test_r2_of_a_constant_target_is_one_if_fitted_exactly_else_zero():
    """When every r is equal (SS_tot = 0), R² is 1.0 for an exact fit and 0.0 otherwise."""
    assert fit_bon([1.0, 2.0, 3.0], [0.0, 0.0, 0.0]).r2 == 1.0
    assert fit_bon([1.0, 2.0, 3.0], [1.0, 1.0, 1.0]).r2 == 0.0
    assert fit_scaling([1e6, 1e7, 1e8], [0.1, 0.1, 0.1]).r2 == 1.0


# --- peaks -----------------------------------------------------------------------------------


def _grid_argmax(form, alpha, beta, d_hi):
    """Numeric (d*, R*, grid spacing) of a form on 20,001 points of [0, d_hi]."""
    d = np.linspace(0.0, d_hi, 20_001)
    r = form(d, alpha, beta)
    i = int(np.argmax(r))
    return d[i], r[i], d[1] - d[0]


@settings(deadline=None, max_examples=50)
@given(alphas, betas)
def test_bon_peak_matches_numeric_argmax(alpha, beta):
    """bon_peak = argmax and max of R_bon on a fine grid between its zeros 0 and alpha/beta."""
    d_num, r_num, h = _grid_argmax(bon_form, alpha, beta, alpha / beta)
    d_star, r_star = bon_peak(alpha, beta)
    assert abs(d_star - d_num) <= h  # a concave curve peaks within one grid step of the best
    assert r_num <= r_star * (1 + 1e-12)
    assert r_num == pytest.approx(r_star, rel=1e-6)


@settings(deadline=None, max_examples=50)
@given(alphas, betas)
def test_rl_peak_matches_numeric_argmax(alpha, beta):
    """rl_peak = argmax and max of R_RL on a fine grid between its zeros 0 and exp(alpha/beta)."""
    assume(alpha / beta <= 30)
    d_num, r_num, h = _grid_argmax(rl_form, alpha, beta, np.exp(alpha / beta))
    d_star, r_star = rl_peak(alpha, beta)
    assert abs(d_star - d_num) <= h  # R_RL is concave on d > 0
    assert r_num <= r_star * (1 + 1e-12)
    assert r_num == pytest.approx(r_star, rel=1e-6)


@given(any_coef, st.floats(min_value=-1.0, max_value=0.0))
def test_nonpositive_beta_gives_no_finite_peak(alpha, beta):
    """With beta ≤ 0 the curve never turns down: both peaks are (inf, inf)."""
    assert bon_peak(alpha, beta) == (np.inf, np.inf)
    assert rl_peak(alpha, beta) == (np.inf, np.inf)


@given(st.floats(min_value=-2.0, max_value=0.0), betas)
def test_bon_peak_with_nonpositive_alpha_is_at_d_zero(alpha, beta):
    """With alpha ≤ 0 R_bon only falls on d ≥ 0, so its highest point is (0, 0)."""
    assert bon_peak(alpha, beta) == (0.0, 0.0)


# --- scaling with reward-model size ----------------------------------------------------------


@settings(deadline=None, max_examples=50)
@given(slopes, any_coef, st.integers(min_value=2, max_value=12))
def test_fit_scaling_recovers_a_known_line_in_log10_params(slope, intercept, n):
    """fit_scaling recovers slope and intercept of coef = slope·log10(params) + intercept."""
    params = np.logspace(6.5, 9.5, n)
    result = fit_scaling(params, slope * np.log10(params) + intercept)
    assert result.slope == pytest.approx(slope, abs=1e-9)
    assert result.intercept == pytest.approx(intercept, abs=1e-8)
    assert result.r2 == pytest.approx(1.0, abs=1e-9)
    assert result.predict(1e12) == pytest.approx(12 * slope + intercept, abs=1e-8)


def test_paper_coefficients_show_alpha_bon_rising_and_betas_falling_with_rm_size():
    """In the paper's Figure 3 values, alpha_bon rises and beta_bon, beta_RL fall with size."""
    params = sorted(PAPER_COEFFICIENTS)
    slopes = {
        name: fit_scaling(params, [PAPER_COEFFICIENTS[p][name] for p in params]).slope
        for name in ("alpha_bon", "beta_bon", "beta_rl")
    }
    assert slopes["alpha_bon"] > 0
    assert slopes["beta_bon"] < 0
    assert slopes["beta_rl"] < 0


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: fit_bon([1.0, 2.0, 3.0], [1.0, 2.0]), "d"),
        (lambda: fit_rl([0.0, 0.0, 1.0], [0.0, 0.0, 1.0]), "d"),
        (lambda: fit_bon([1.0, 1.0, 1.0], [1.0, 2.0, 3.0]), "d"),
        (lambda: fit_rl([1.0, np.nan, 3.0], [1.0, 2.0, 3.0]), "d"),
        (lambda: fit_bon([1.0, 2.0, 3.0], [1.0, np.inf, 3.0]), "r"),
        (lambda: fit_rl([-1.0, 2.0, 3.0], [1.0, 2.0, 3.0]), "d"),
        (lambda: rl_form(-0.5, 1.0, 0.1), "d"),
        (lambda: fit_scaling([0.0, 1e6], [0.1, 0.2]), "params"),
        (lambda: fit_scaling([-1e6, 1e6], [0.1, 0.2]), "params"),
        (lambda: fit_scaling([1e6, 1e7, 1e8], [0.1, 0.2]), "params"),
        (lambda: fit_scaling([1e6, 1e6], [0.1, 0.2]), "params"),
        (lambda: fit_scaling([1e6, 1e7], [0.1, np.nan]), "coef"),
        (lambda: fit_scaling([1e6, 1e7], [0.1, 0.2]).predict(0.0), "params"),
    ],
    ids=[
        "mismatched d r",
        "one d above zero",
        "one distinct d",
        "nan d",
        "inf r",
        "negative d",
        "negative d in rl_form",
        "zero params",
        "negative params",
        "mismatched params coef",
        "one distinct params",
        "nan coef",
        "predict at zero params",
    ],
)
def test_bad_input_raises_value_error_naming_the_argument(call, name):
    """Bad input raises a ValueError whose message starts with the offending argument's name."""
    with pytest.raises(ValueError, match=rf"^{name}\b"):
        call()
