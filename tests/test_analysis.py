"""Analysis and plots on hand-made rows: seed means, intervals, fits, and figures that survive
a sampled KL below zero."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minirmo import analysis, findings, plots, report


def curve_rows(seed, method="rl", kl=(0.0, 1.0, 4.0, 9.0), gold=(0.0, 0.8, 1.0, 0.6),
               params=1000, data=500):
    x = "step" if method == "rl" else "n"
    return [{"seed": seed, "method": method, "rm_params": params, "rm_data": data, x: i,
             "kl": k, "proxy": 0.5 * i, "gold": g}
            for i, (k, g) in enumerate(zip(kl, gold, strict=True))]


@given(st.lists(st.floats(-5, 5), min_size=1, max_size=6))
def test_seed_mean_lies_between_the_min_and_max_over_seeds(values):
    """At every step, the seed-mean gold lies within its min–max band over seeds."""
    rows = [r for seed, v in enumerate(values)
            for r in curve_rows(seed, gold=(0.0, v, v / 2, v / 3))]
    for row in analysis.seed_mean(rows):
        assert row["gold_lo"] - 1e-12 <= row["gold"] <= row["gold_hi"] + 1e-12
        assert row["seeds"] == len(values) and row["seed"] == analysis.MEAN


@given(st.floats(1.1, 5.0), st.floats(-2.0, 2.0))
def test_seed_mean_at_kl_averages_seeds_at_the_same_kl(rate, slope):
    """Two seeds that spend KL at different rates but share gold = slope · d give, at common
    KL, exactly that line, with a KL that only increases and no band."""
    steps = np.arange(8.0)
    rows = [r for seed, r_kl in enumerate((1.0, rate)) for r in curve_rows(
        seed, kl=tuple(r_kl * steps), gold=tuple(slope * np.sqrt(r_kl * steps)))]
    mean = analysis.seed_mean_at_kl(rows)
    kl = [r["kl"] for r in mean]
    assert kl[0] == 0 and np.all(np.diff(kl) > 0) and math.isclose(kl[-1], 7.0)
    for r in mean:
        assert math.isclose(r["gold"], slope * math.sqrt(r["kl"]), abs_tol=1e-9)
        assert math.isclose(r["gold_lo"], r["gold_hi"], abs_tol=1e-9) and r["seeds"] == 2


def test_seed_mean_of_one_seed_is_that_seed():
    """With one seed the seed-mean curve is the seed's curve and its band has no width."""
    rows = curve_rows(3)
    mean = analysis.seed_mean(rows)
    assert [r["gold"] for r in mean] == [r["gold"] for r in rows]
    assert all(r["gold_lo"] == r["gold_hi"] == r["gold"] for r in mean)


def test_interval_reports_mean_min_and_max():
    """Interval.of gives the mean, min and max, and prints as 'mean [min, max]'."""
    interval = analysis.Interval.of([1.0, 2.0, 6.0])
    assert interval == (3.0, 1.0, 6.0, 3)
    assert f"{interval:.1f}" == "3.0 [1.0, 6.0]" and f"{analysis.Interval.of([2.0]):.1f}" == "2.0"


def test_spearman_is_one_for_a_monotone_relation_and_minus_one_reversed():
    """Spearman's ρ is +1 for any increasing relation and −1 for a decreasing one."""
    x = [10, 100, 1000, 10000]
    assert analysis.spearman(x, [1, 2, 30, 31]) == pytest.approx(1.0)
    assert analysis.spearman(x, [5, 4, 0, -9]) == pytest.approx(-1.0)


def test_a_negative_sampled_kl_is_read_as_zero_by_fits_and_figures(tmp_path):
    """A k1 KL estimate below 0 (as PPO's first steps can give) neither breaks the fit nor puts
    NaN in a figure: d = sqrt(KL) clips it to 0."""
    rows = curve_rows(0, kl=(-0.02, 1.0, 4.0, 9.0)) + curve_rows(1, kl=(0.0, 1.2, 3.5, 8.0))
    assert np.isfinite(analysis.sqrt_kl(rows)).all() and analysis.sqrt_kl(rows)[0] == 0
    fits = analysis.fit_rows(rows)
    assert all(math.isfinite(f["alpha"]) and math.isfinite(f["beta"]) for f in fits)
    assert {f["seed"] for f in fits} == {0, 1, analysis.MEAN}
    path = tmp_path / "rl.png"
    plots.plot_scores_vs_kl(analysis.seed_mean(rows), fits, "rl", path)
    assert path.stat().st_size > 10_000


def test_fit_rows_recover_the_form_a_curve_was_drawn_from():
    """A curve drawn exactly from the best-of-n form gives back its α and β with R² = 1."""
    d = np.sqrt([0.0, 0.3, 1.0, 2.0, 3.5, 5.0])
    gold = d * (1.2 - 0.4 * d)
    fitted = analysis.fit_rows(curve_rows(0, "bon", d ** 2, gold))[0]
    assert fitted["alpha"] == pytest.approx(1.2) and fitted["beta"] == pytest.approx(0.4)
    assert fitted["r2"] == pytest.approx(1.0) and fitted["peak_d"] == pytest.approx(1.5)


def test_a_falling_gold_curve_is_overoptimization_and_a_rising_one_is_not():
    """The overoptimization finding holds for a curve that peaks and loses its gain while the
    proxy rises, and fails for one that keeps rising."""
    kl = tuple(float(k) for k in range(8))
    larger = curve_rows(0, kl=kl, gold=(0, .2, .4, .6, .8, 1, 1.2, 1.4), params=9000)
    falls = curve_rows(0, kl=kl, gold=(0, .4, .8, 1, 1, .6, .2, 0)) + larger
    assert findings.rl_smallest_overoptimizes({"rl": falls})[0]
    rises = curve_rows(0, kl=kl, gold=(0, .4, .8, 1, 1.1, 1.2, 1.2, 1.3)) + larger
    assert not findings.rl_smallest_overoptimizes({"rl": rises})[0]


def test_a_curve_is_past_its_peak_only_once_it_has_fallen_from_it():
    """past_peak holds for a curve that ends 5% of its gain below its peak, not for one that
    ends at its peak or a hair below it."""
    assert analysis.past_peak(curve_rows(0, gold=(0, 0.8, 1.0, 0.6)))
    assert not analysis.past_peak(curve_rows(0, gold=(0, 0.8, 0.9, 1.0)))
    assert not analysis.past_peak(curve_rows(0, gold=(0, 0.8, 1.0, 0.99)))


@given(st.lists(st.floats(-3, 3), min_size=2, max_size=6), st.data())
def test_gold_at_kl_returns_a_curves_own_points(gold, data):
    """Interpolating a curve's gold at one of its own KLs gives that point's gold."""
    kl = tuple(float(i) for i in range(len(gold)))
    curve = curve_rows(0, kl=kl, gold=tuple(gold))
    i = data.draw(st.integers(0, len(gold) - 1))
    assert analysis.gold_at_kl(curve, kl[i]) == pytest.approx(gold[i])


def test_a_penalty_that_only_stops_early_leaves_no_gap():
    """A penalized run that ends on the unpenalized curve has gap 0; one that ends below it
    has a negative gap."""
    free = curve_rows(0, kl=(0.0, 1.0, 4.0, 9.0), gold=(0.0, 0.8, 1.0, 0.6))
    on_curve = curve_rows(0, kl=(0.0, 0.5, 1.0), gold=(0.0, 0.4, 0.8))
    below = curve_rows(0, kl=(0.0, 2.0, 4.0), gold=(0.0, 0.5, 0.7))
    gap = analysis.penalty_gap({0.0: free, 0.1: on_curve, 0.2: below})
    assert gap[0.1] == pytest.approx(0.0) and gap[0.2] == pytest.approx(-0.3)


def test_loss_gap_by_data_is_the_worst_size_at_each_number_of_comparisons():
    """loss_gap_by_data gives, per number of comparisons, the largest |test loss − ln 2| over
    proxy sizes, on the seed-mean losses; the gold RM's row is ignored."""
    ln2 = math.log(2)
    rows = [{"seed": s, "rm": "proxy", "rm_params": p, "rm_data": n, "test_loss": ln2 + dev + s,
             "test_acc": 0.5} for s in (0, 0.02) for p, n, dev in
            [(10, 100, 0.0), (20, 100, -0.03), (10, 400, -0.2), (20, 400, -0.1)]]
    rows.append({"seed": 0, "rm": "gold", "rm_params": 99, "rm_data": 100, "val_loss": 0.1,
                 "val_acc": 0.9})
    gaps = analysis.loss_gap_by_data(rows)
    assert list(gaps) == [100, 400]
    assert gaps[100] == pytest.approx(0.02) and gaps[400] == pytest.approx(0.19)


def test_rl_peak_bar_is_met_by_passing_the_peak_or_the_largest_proxys_bon_peak_kl():
    """The laws table's RL bar holds when every run reaches the KL of the largest proxy's
    fitted best-of-n peak, though no run has passed its own gold peak, and fails when one run
    stops short of that KL."""
    def curve(method, params, seed, kls):
        step = "n" if method == "bon" else "step"
        return [{"method": method, "rm_params": params, "rm_data": 100, "seed": seed, step: i,
                 "kl": kl, "proxy": kl, "gold": kl}  # gold still rising: no peak passed
                for i, kl in enumerate(kls, start=1)]
    bon = [r for p in (10, 20) for s in (0, 1) for r in curve("bon", p, s, [0.0, 1.0, 2.0])]
    rl = [r for p in (10, 20) for s in (0, 1)
          for r in curve("rl", p, s, [0.0, 4.0, 9.0 if (p, s) == (20, 1) else 12.0])]
    first = report._peaks_lines(bon, rl, 100, reach=8.0)[0]
    assert "RL past its peak at 0 of 2 sizes" in first and "reaches KL 9.0" in first
    assert first.endswith("met") and not first.endswith("NOT MET")
    assert report._peaks_lines(bon, rl, 100, reach=10.0)[0].endswith("NOT MET")


def test_data_threshold_bar_needs_the_fewest_comparisons_near_chance():
    """The laws table's data bar holds when every size is within 0.02 of ln 2 at the fewest
    comparisons (a threshold below which proxies are at chance), not when only more are."""
    ln2 = math.log(2)

    def rows(gaps):
        return [{"seed": 0, "rm": "proxy", "rm_params": p, "rm_data": n, "test_loss": ln2 - gap}
                for n, gap in gaps.items() for p in (10, 20)]
    assert report._data_lines(rows({100: 0.01, 400: 0.2}), [])[0].endswith("   met")
    assert report._data_lines(rows({100: 0.05, 400: 0.01}), [])[0].endswith("NOT MET")


def test_policy_size_bar_needs_the_larger_policy_higher_by_0_2_at_every_seed_and_gaining_less():
    """The policy-size bar holds when the larger policy starts >= 0.2 gold higher on average,
    above the smaller at every seed, and gains less from best-of-n at every seed; it fails when
    one seed starts lower, and when one seed gains more."""
    def rows(params, seed, init, gain):
        return [{"policy_params": params, "seed": seed, "gold_init": init, "method": method,
                 "gold": gold} for method, gold in (("bon", 0.0), ("bon", gain), ("rl", 0.1))]

    def bar(large_inits, large_gains):
        table = [r for s in (0, 1) for r in rows(100, s, -0.5, 1.0)
                 + rows(400, s, large_inits[s], large_gains[s])]
        return report.policy_size_summary(table).splitlines()[-1]
    met = bar([0.0, -0.1], [0.8, 0.9])
    assert "starts +0.45 [+0.40, +0.50] gold higher" in met and "at 2 of 2 seeds" in met
    assert met.endswith("   met")
    assert bar([0.0, -0.6], [0.8, 0.9]).endswith("NOT MET")  # one seed starts lower
    assert bar([0.0, -0.1], [0.8, 1.2]).endswith("NOT MET")  # one seed gains more
    assert bar([-0.35, -0.35], [0.8, 0.9]).endswith("NOT MET")  # 0.15 ahead: under the bar
