"""The paper's functional forms: least-squares fits, peaks, and scaling with reward-model size."""

import numpy as np
import pytest
from closeness import check_close
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from minirmo.fit import (
    PAPER_COEFFICIENTS,
    Fit,
    bon_form,
    bon_peak,
    fit_bon,
    fit_power,
    fit_rl,
    fit_scaling,
    r_squared,
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


@pytest.mark.task_3_1
@given(any_coef, any_coef)
def test_both_forms_are_zero_at_d_zero(alpha, beta):
    """R_bon(0) = R_RL(0) = 0 for any alpha, beta: no optimization, no gain."""
    assert bon_form(0.0, alpha, beta) == 0.0
    assert rl_form(0.0, alpha, beta) == 0.0


@pytest.mark.task_3_1
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


@pytest.mark.task_3_4
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


@pytest.mark.task_3_4
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


@pytest.mark.task_3_3
@FORMS
@settings(deadline=None, max_examples=30)
@given(alphas, betas, seeds)
def test_fit_r2_is_below_one_on_noisy_curves(form, fit, alpha, beta, seed):
    """Noise the form cannot explain leaves R² strictly below 1."""
    d = np.linspace(0.05, 8.0, 100)
    r = form(d, alpha, beta) + 0.05 * np.random.default_rng(seed).standard_normal(d.size)
    assert fit(d, r).r2 < 1.0


@pytest.mark.task_3_4
@FORMS
def test_points_at_d_zero_do_not_move_the_fit(form, fit):
    """Adding points at d = 0 (with R = 0) leaves alpha and beta unchanged."""
    d = np.array([0.5, 1.0, 2.0, 4.0])
    r = form(d, 0.8, 0.3) + np.array([0.01, -0.02, 0.03, -0.01])
    with_zeros = fit(np.concatenate([[0.0, 0.0], d]), np.concatenate([[0.0, 0.0], r]))
    assert tuple(with_zeros) == pytest.approx(tuple(fit(d, r)), rel=1e-12)


@pytest.mark.task_3_3
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


@pytest.mark.task_3_2
@settings(deadline=None, max_examples=50)
@given(alphas, betas)
def test_bon_peak_matches_numeric_argmax(alpha, beta):
    """bon_peak = argmax and max of R_bon on a fine grid between its zeros 0 and alpha/beta."""
    d_num, r_num, h = _grid_argmax(bon_form, alpha, beta, alpha / beta)
    d_star, r_star = bon_peak(alpha, beta)
    assert abs(d_star - d_num) <= h  # a concave curve peaks within one grid step of the best
    assert r_num <= r_star * (1 + 1e-12)
    assert r_num == pytest.approx(r_star, rel=1e-6)


@pytest.mark.task_3_2
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


@pytest.mark.task_3_2
@given(any_coef, st.floats(min_value=-1.0, max_value=0.0))
def test_nonpositive_beta_gives_no_finite_peak(alpha, beta):
    """With beta ≤ 0 the curve never turns down: both peaks are (inf, inf)."""
    assert bon_peak(alpha, beta) == (np.inf, np.inf)
    assert rl_peak(alpha, beta) == (np.inf, np.inf)


@pytest.mark.task_3_2
@given(st.floats(min_value=-2.0, max_value=0.0), betas)
def test_bon_peak_with_nonpositive_alpha_is_at_d_zero(alpha, beta):
    """With alpha ≤ 0 R_bon only falls on d ≥ 0, so its highest point is (0, 0)."""
    assert bon_peak(alpha, beta) == (0.0, 0.0)


# --- scaling with reward-model size ----------------------------------------------------------


@pytest.mark.task_3_5
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


@pytest.mark.task_3_5
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
        pytest.param(lambda: fit_scaling([1e6, 1e7], [0.1, 0.2]).predict(0.0), "params",
                     marks=pytest.mark.task_3_5),
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


# --- exact values -------------------------------------------------------------------------------

# float64 on a handful of terms: beyond ~1e-12 the code computes a different formula.
EXACT = 1e-12


@pytest.mark.task_3_1
def test_forms_have_exact_values():
    """R_bon(2; 0.5, 0.1) = 0.6, R_RL(e; 0.5, 0.1) = e·0.4, R_RL(1; α, β) = α."""
    check_close("bon_form(2, .5, .1)", bon_form(2.0, 0.5, 0.1), 0.6, EXACT, "two products")
    check_close("rl_form(e, .5, .1)", rl_form(np.e, 0.5, 0.1), np.e * 0.4, EXACT, "log e = 1")
    check_close("rl_form(1, .7, .3)", rl_form(1.0, 0.7, 0.3), 0.7, EXACT, "log 1 = 0")
    check_close("rl_form([0, 1, e²])", rl_form([0.0, 1.0, np.e**2], 1.0, 0.5),
                [0.0, 1.0, 0.0], EXACT, "d(1 − ½·2) = 0 at d = e²")


@pytest.mark.task_3_2
def test_peaks_have_exact_values():
    """bon_peak(0.6, 0.1) = (3, 0.9); rl_peak(0.2, 0.1) = (e, 0.1·e)."""
    check_close("bon_peak(.6, .1)", bon_peak(0.6, 0.1), (3.0, 0.9), EXACT, "α/2β and α²/4β")
    check_close("rl_peak(.2, .1)", rl_peak(0.2, 0.1), (np.e, 0.1 * np.e), EXACT,
                "exp(α/β − 1) and β·d*")


@pytest.mark.task_3_2
def test_rl_peak_beyond_float_range_is_infinite():
    """alpha/beta = 1000 puts d* = e^999 past float64's range: (inf, inf), without a warning."""
    with np.errstate(over="raise"):
        assert rl_peak(100.0, 0.1) == (np.inf, np.inf)


@pytest.mark.task_3_3
def test_r_squared_has_exact_values():
    """R² = 1 − SS_res/SS_tot: 0.5 for (1,2,3) vs (1,2,4), −3 reversed, 0 for the mean."""
    y = np.array([1.0, 2.0, 3.0])  # SS_tot = 2
    check_close("R² one miss by 1", r_squared(y, [1.0, 2.0, 4.0]), 0.5, EXACT, "1 − 1/2")
    check_close("R² reversed", r_squared(y, [3.0, 2.0, 1.0]), -3.0, EXACT, "1 − 8/2")
    check_close("R² the mean", r_squared(y, [2.0, 2.0, 2.0]), 0.0, EXACT, "1 − 2/2")
    check_close("R² exact", r_squared(y, y), 1.0, EXACT, "1 − 0/2")


@pytest.mark.task_3_3
@settings(deadline=None, max_examples=50)
@given(st.lists(st.floats(-100, 100), min_size=2, max_size=20), seeds,
       st.floats(1e-6, 1e6))
def test_r_squared_is_quadratic_in_the_error_and_scale_free(y, seed, scale):
    """On any data, 1 − R² grows with the square of the error (doubling ŷ − y multiplies it by
    4), predicting the mean gives R² = 0, and scaling y and ŷ together keeps R².

    (The definition written out would be task 3.3's answer: it is a hidden test.)
    """
    y = np.array(y)
    assume(np.ptp(y) > 1e-6 * max(1.0, np.abs(y).max()))
    error = np.random.default_rng(seed).standard_normal(y.size)
    once = r_squared(y, y + error)
    tol = 1e-9 * max(1.0, abs(once))
    check_close("1 − R² at twice the error", 1 - r_squared(y, y + 2 * error), 4 * (1 - once),
                4 * tol, "float64 sums of ≤ 20 squares")
    check_close("R² of the mean", r_squared(y, np.full(y.size, y.mean())), 0.0, 1e-9,
                "float64 sums of ≤ 20 squares")
    check_close("R² scaled", r_squared(scale * y, scale * (y + error)), once, tol,
                "R² has no units")


@pytest.mark.task_3_3
def test_r_squared_of_a_constant_target():
    """SS_tot = 0: R² is 1.0 for an exact fit, 0.0 otherwise; a tiny relative spread counts as 0."""
    assert r_squared([2.0, 2.0, 2.0], [2.0, 2.0, 2.0]) == 1.0
    assert r_squared([2.0, 2.0, 2.0], [2.0, 2.0, 2.1]) == 0.0
    assert r_squared([0.0, 0.0], [0.0, 0.0]) == 1.0
    assert r_squared([1.0, 1.0 + 1e-15], [1.0, 1.0]) == 1.0


@pytest.mark.task_3_3
def test_r_squared_constant_target_thresholds_are_the_documented_ones():
    """A spread ≤ 1e-12 of max|y| counts as constant, and then "reproduces y" means within
    1e-9 relative and 1e-12 absolute: tighter than np.allclose's defaults."""
    assert r_squared([1e6, 1e6 + 1e-7], [1e6, 1e6]) == 1.0  # spread 1e-13 of 1e6: constant
    assert r_squared([1.0, 1.0, 1.0], [1.0, 1.0, 1.0 + 1e-7]) == 0.0  # 1e-7 relative: a miss
    assert r_squared([0.0, 0.0, 0.0], [0.0, 0.0, 1e-10]) == 0.0  # 1e-10 absolute: a miss


@pytest.mark.task_3_4
def test_fits_solve_two_points_exactly():
    """Two points fix (α, β): d = (1, 2), r = (1, 1) gives α = 1.5, β = 0.5 for R_bon, and
    α = 1, β = 1/(2 log 2) for R_RL (whose first point says α = 1 since log 1 = 0)."""
    check_close("fit_bon", tuple(fit_bon([1.0, 2.0], [1.0, 1.0])), (1.5, 0.5), 1e-12,
                "a 2 x 2 solve of small integers")
    check_close("fit_rl", tuple(fit_rl([1.0, 2.0], [1.0, 1.0])), (1.0, 0.5 / np.log(2)), 1e-12,
                "a 2 x 2 solve")
    assert fit_bon([1.0, 2.0], [1.0, 1.0]).r2 == 1.0


@pytest.mark.task_3_4
@FORMS
def test_fit_r2_is_the_r_squared_of_the_fitted_curve(form, fit):
    """Fit.r2 is r_squared of the data against the fitted form at the fitted (α, β)."""
    d = np.array([0.5, 1.0, 2.0, 3.0, 4.0])
    r = np.array([0.3, 0.5, 0.6, 0.4, 0.45])
    result = fit(d, r)
    check_close("Fit.r2", result.r2, r_squared(r, form(d, result.alpha, result.beta)), 1e-12,
                "the same residuals summed in another order")


@pytest.mark.task_3_5
def test_fit_scaling_of_two_sizes_is_the_line_through_them():
    """Two sizes fix the line: (1e6, 0.5) and (1e8, 0.7) give slope 0.1 per decade."""
    result = fit_scaling([1e6, 1e8], [0.5, 0.7])
    check_close("slope, intercept", (result.slope, result.intercept), (0.1, -0.1), 1e-12,
                "a 2 x 2 solve")
    assert result.r2 == 1.0


@pytest.mark.task_3_5
@settings(deadline=None, max_examples=50)
@given(st.floats(1e-3, 1e3), st.floats(-3.0, 3.0), st.integers(2, 30))
def test_fit_power_recovers_c_and_k_of_a_power_law(c, k, n):
    """fit_power(x, c·x^k) returns (c, k) for any c > 0, k, on n ≥ 2 points."""
    x = np.linspace(1.0, 50.0, n)
    got_c, got_k = fit_power(x, c * x**k)
    check_close("k", got_k, k, 1e-9, "a line fit in log space, float64")
    check_close("c / c_true", got_c / c, 1.0, 1e-8, "exp of a fitted intercept, float64")


@pytest.mark.task_3_5
def test_fit_power_ignores_points_that_are_not_positive():
    """Points with x ≤ 0 or y ≤ 0 are dropped: (0, 5), (2, 0), (3, −1) do not move the fit."""
    x = np.array([1.0, 2.0, 4.0])
    c, k = fit_power(np.concatenate([x, [0.0, 2.0, 3.0]]), np.concatenate([3 * x**2, [5, 0, -1]]))
    check_close("(c, k)", (c, k), (3.0, 2.0), 1e-12, "an exact power law on 3 points")


@pytest.mark.parametrize("x, y, name", [([1.0, 2.0], [1.0, 2.0, 3.0], "y"),
                                        ([1.0, 1.0, -2.0], [1.0, 2.0, 3.0], "x")])
def test_fit_power_rejects_bad_input_naming_the_argument(x, y, name):
    """fit_power raises a ValueError naming y for mismatched shapes, x for < 2 usable points."""
    with pytest.raises(ValueError, match=rf"^{name}\b"):
        fit_power(x, y)


@pytest.mark.parametrize("y, y_hat", [([], []), ([1.0, 2.0], [1.0]), ([[1.0]], [[1.0]])])
def test_r_squared_rejects_bad_shapes_naming_the_arguments(y, y_hat):
    """r_squared raises a ValueError naming y and y_hat for empty, mismatched or 2-D input."""
    with pytest.raises(ValueError, match=r"^y and y_hat"):
        r_squared(y, y_hat)


FLOAT32 = [0.5, 1.25, 2.0, 3.5]


@pytest.mark.task_3_1
def test_forms_compute_in_float64_and_return_python_floats():
    """float32 d gives bit-for-bit the float64 result; a scalar d gives exactly `float`."""
    d32 = np.array(FLOAT32, dtype=np.float32)
    for form in (bon_form, rl_form):
        np.testing.assert_array_equal(form(d32, 0.7, 0.2), form(d32.astype(np.float64), 0.7, 0.2))
        assert type(form(1.5, 0.7, 0.2)) is float


@pytest.mark.task_3_3
def test_r_squared_computes_in_float64():
    """float32 y and y_hat give bit-for-bit the R² of their float64 values."""
    y = np.array(FLOAT32, dtype=np.float32)
    y_hat = np.array([0.4, 1.5, 2.0, 3.0], dtype=np.float32)
    assert r_squared(y, y_hat) == r_squared(y.astype(np.float64), y_hat.astype(np.float64))


@pytest.mark.task_3_4
@FORMS
def test_fits_compute_in_float64(form, fit):
    """float32 d and r give bit-for-bit the fit of their float64 values."""
    d = np.array(FLOAT32, dtype=np.float32)
    r = np.array([0.3, 0.5, 0.6, 0.4], dtype=np.float32)
    assert fit(d, r) == fit(d.astype(np.float64), r.astype(np.float64))


@pytest.mark.task_3_5
def test_scaling_and_power_fits_compute_in_float64():
    """float32 inputs give bit-for-bit the float64 fits of fit_scaling and fit_power."""
    params = np.array([1e6, 3e6, 1e7, 3e7], dtype=np.float32)
    coef = np.array(FLOAT32, dtype=np.float32)
    assert fit_scaling(params, coef) == fit_scaling(params.astype(np.float64),
                                                    coef.astype(np.float64))
    assert fit_power(params, coef) == fit_power(params.astype(np.float64),
                                                coef.astype(np.float64))


@pytest.mark.task_3_5
def test_fit_scaling_accepts_a_single_parameter():
    """params = 1 is a valid count (log10 1 = 0): (1, 0.2), (10, 0.5) give slope 0.3."""
    result = fit_scaling([1, 10], [0.2, 0.5])
    check_close("slope, intercept", (result.slope, result.intercept), (0.3, 0.2), 1e-12,
                "a 2 x 2 solve")
