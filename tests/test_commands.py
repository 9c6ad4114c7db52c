"""The paper's central picture end to end on the `test` preset, through the `minirmo` command.

One run of `minirmo bon`, `rl` and `reproduce --preset test --seed 0` (a couple of minutes) is
shared by every test here, in the session's shared run folder (`test_run_dir`, conftest.py).
In a whole session the tutorials' runs in tests/test_schedule.py come first and train many of
its models there, which these commands then load. Each finding is checked by its definition
in `minirmo.findings`, the same code that `benchmarks/seed_robustness.py` runs at seeds 0-4.
"""

import contextlib
import csv
import io
import math
import os

import pytest
import torch

from minirmo import findings
from minirmo.cli import main
from minirmo.reward import sample_pairs
from minirmo.runs.presets import get_preset
from minirmo.runs.run import Run

pytestmark = pytest.mark.slow


def read_csv(path):
    """Rows of a CSV with every number as a float (`rm` and `method` stay text, an empty
    cell is None)."""
    with open(path) as f:
        return [{k: v if k in ("rm", "method") else float(v) if v else None
                 for k, v in row.items()} for row in csv.DictReader(f)]


@pytest.fixture(scope="module")
def out(test_run_dir):
    """The session's shared run folder (conftest.py), after `minirmo bon --preset test`."""
    main(["bon", "--preset", "test", "--out", str(test_run_dir), "--seed", "0"])
    return test_run_dir


@pytest.fixture(scope="module")
def rows(out):
    """rm.csv and bon.csv of seed 0, as findings.check reads them."""
    return {"rm": read_csv(out / "rm.csv"), "bon": read_csv(out / "bon.csv")}


def holds(finding, rows):
    """Assert that a finding holds, showing its deciding figures when it does not."""
    ok, figures = finding(rows)
    assert ok, figures


def test_bon_command_writes_results_figure_and_config(out):
    """`minirmo bon` writes bon.csv with seed and method first and the exact KL on the pools
    and Beirami et al.'s estimate beside the analytic one, rm.csv, its figures and config."""
    with open(out / "bon.csv") as f:
        assert next(csv.reader(f)) == ["seed", "method", "rm_params", "rm_data", "n", "kl",
                                       "proxy", "gold", "kl_exact", "distinct", "kl_beirami"]
    assert (out / "rm.csv").exists() and (out / "config.json").exists()
    assert (out / "bon.png").stat().st_size > 10_000
    assert (out / "bon_kl_exact.png").stat().st_size > 10_000


def test_gold_rm_agrees_with_the_hidden_utility_on_held_out_pairs(rows):
    """The gold RM orders at least 80% of its held-out broad pairs as the utility does."""
    holds(findings.gold_agrees, rows)


def test_gold_rm_agrees_with_the_hidden_utility_on_fresh_broad_pairs(out):
    """On 3,000 new broad pairs (40% pushed into the tails) the gold RM agrees with the hidden
    utility at least 80% of the time: its report is not an artefact of its split."""
    run = Run(get_preset("test"), out, progress=False)
    g = torch.Generator().manual_seed(123)
    first, second = sample_pairs(run.policy(), run.world, 3000, (0.7, 1.0, 1.5), g)
    first[:1200] = run.world.perturb(first[:1200], g)
    gold = run.gold().model
    u1, u2 = run.world.utility(first), run.world.utility(second)
    keep = u1 != u2
    agree = ((gold.score(first) > gold.score(second)) == (u1 > u2))[keep].float().mean()
    assert agree > 0.80


def test_proxies_learn_the_gold_preferences_well_above_chance(rows):
    """Every proxy trained on the most data beats chance (50%) by a wide margin."""
    holds(findings.proxies_learn, rows)


def test_initial_policy_scores_zero_at_n_equals_one(rows):
    """At n = 1 best-of-n is the initial policy, whose calibrated scores average 0."""
    for row in (r for r in rows["bon"] if r["n"] == 1):
        assert row["kl"] == 0 and abs(row["gold"]) < 0.1 and abs(row["proxy"]) < 0.1


def test_bon_proxy_score_never_decreases_with_n(rows):
    """For every proxy, the best-of-n proxy score rises (weakly) with n."""
    holds(findings.bon_proxy_rises, rows)


def test_smallest_proxy_overoptimizes_gold_peaks_then_falls(rows):
    """Most data, smallest proxy: gold peaks at n < N and loses >= 10% of its gain by N while
    the proxy keeps rising."""
    holds(findings.bon_smallest_overoptimizes, rows)


def test_largest_proxy_on_most_data_peaks_higher(rows):
    """The largest proxy on the most data reaches a higher best-of-n gold peak than the
    smallest."""
    holds(findings.bon_largest_higher, rows)


def test_proxy_data_are_gold_labelled_and_nested(out):
    """The proxies' comparisons are won by the higher gold score, as many as the preset's most
    data."""
    run = Run(get_preset("test"), out, progress=False)
    chosen, rejected = run.comparisons()
    gold = run.gold().model
    assert len(chosen) == max(run.preset.proxy_data)
    assert (gold.score(chosen) >= gold.score(rejected)).all()


def test_second_run_retrains_nothing(out):
    """Running the same command again reuses every cached model and pool."""
    files = list((out / "cache").rglob("*.pt"))
    before = {p: p.stat().st_mtime_ns for p in files}
    main(["bon", "--preset", "test", "--out", str(out), "--seed", "0"])
    assert {p: p.stat().st_mtime_ns for p in (out / "cache").rglob("*.pt")} == before


def test_cli_reports_bad_input_instead_of_a_traceback(tmp_path, capsys):
    """`minirmo bon --device tpu` exits with a usage error that names the device."""
    with pytest.raises(SystemExit) as exit_info:
        main(["bon", "--preset", "test", "--out", os.fspath(tmp_path), "--device", "tpu"])
    assert exit_info.value.code == 2
    assert "device" in capsys.readouterr().err


def test_cli_rejects_repeated_seeds(tmp_path, capsys):
    """`--seeds 1 1` is a usage error that names the seeds."""
    with pytest.raises(SystemExit) as exit_info:
        main(["bon", "--preset", "test", "--out", os.fspath(tmp_path), "--seeds", "1", "1"])
    assert exit_info.value.code == 2 and "seeds" in capsys.readouterr().err


@pytest.fixture(scope="module")
def rl_rows(out):
    """rl.csv of `minirmo rl --preset test --seed 0`."""
    main(["rl", "--preset", "test", "--out", str(out), "--seed", "0"])
    return {"rl": read_csv(out / "rl.csv")}


def test_rl_command_writes_results_figures_and_samples(out, rl_rows):
    """`minirmo rl` writes rl.csv (documented columns first), two figures and decoded samples."""
    with open(out / "rl.csv") as f:
        assert next(csv.reader(f))[:8] == ["seed", "method", "rm_params", "rm_data", "step",
                                           "kl", "proxy", "gold"]
    assert (out / "rl.png").exists() and (out / "rl_kl_vs_step.png").exists()
    assert "<eos>" in (out / "rl_samples.txt").read_text()


def test_rl_kl_starts_at_zero_and_reaches_several_nats(rl_rows):
    """Every PPO run starts at KL 0 from the initial policy and spends several nats of KL."""
    holds(findings.rl_spends_kl, rl_rows)


def test_rl_raises_the_proxy_score(rl_rows):
    """PPO raises the proxy score it optimizes, for every proxy."""
    holds(findings.rl_proxy_rises, rl_rows)


def test_rl_gold_bends_as_the_rl_form_predicts(rl_rows):
    """Against every proxy size on the most data, the RL form d(α − β log d) fitted to gold
    against d = √KL has β > 0: gold's gain per unit of d shrinks, so the form predicts a
    peak."""
    holds(findings.rl_form_bends, rl_rows)


def rl_curve(gold, params=10, data=100, d=(0.0, *(0.2 + 0.3 * i for i in range(13)))):
    """Synthetic rl rows of one proxy: gold(d) at d = √KL from 0 to 3.8, the proxy rising."""
    return [{"rm_params": params, "rm_data": data, "step": i, "kl": x * x, "gold": gold(x),
             "proxy": x} for i, x in enumerate(d)]


def bends(x):
    return x * (1 - 0.3 * math.log(x)) if x else 0.0  # the RL form at α = 1, β = 0.3


def test_the_rl_form_finding_can_fail():
    """Gold that follows d(1 − 0.3 log d) bends: yes. Gold that grows like d² or in a straight
    line, one size of two that does, or a run too short to fit: no. A proxy on fewer
    comparisons is not read."""
    def verdict(*curves):
        return findings.rl_form_bends({"rl": [r for curve in curves for r in curve]})[0]

    assert verdict(rl_curve(bends))
    assert not verdict(rl_curve(lambda x: x * x))
    assert not verdict(rl_curve(lambda x: x))
    assert not verdict(rl_curve(bends), rl_curve(lambda x: x * x, params=20))
    assert not verdict(rl_curve(bends, d=(0.0, 0.5)))
    assert verdict(rl_curve(bends), rl_curve(lambda x: x * x, data=50))


def test_the_rl_overoptimization_finding_can_fail():
    """Gold that peaks and falls against one size of two is half the sizes: yes; gold that
    rises to the end against both: no."""
    falls = rl_curve(lambda x: x * (2 - x))  # peaks at d = 1, back to 0 at d = 2
    rises = rl_curve(lambda x: x, params=20)
    assert findings.rl_overoptimizes({"rl": falls + rises})[0]
    assert not findings.rl_overoptimizes({"rl": rl_curve(lambda x: x) + rises})[0]


def test_rl_rejects_a_negative_kl_coefficient(out, capsys):
    """`minirmo rl --kl-coef -1` is a usage error that names the option."""
    with pytest.raises(SystemExit):
        main(["rl", "--preset", "test", "--out", str(out), "--kl-coef", "-1"])
    assert "kl-coef" in capsys.readouterr().err


@pytest.fixture(scope="module")
def reproduced(out, rl_rows):
    """What `minirmo reproduce --preset test` printed (it writes into the shared folder)."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        main(["reproduce", "--preset", "test", "--out", str(out), "--seed", "0"])
    return printed.getvalue()


def test_reproduce_writes_every_csv_and_at_least_eight_figures(out, reproduced):
    """`minirmo reproduce` writes every CSV, >= 8 figures and a summary with the scaling
    slopes, the laws beside their bars and every finding stated as "holds in k of n seeds"."""
    for name in ("bon.csv", "rl.csv", "fits.csv", "extrapolation.csv", "kl_penalty.csv"):
        assert (out / name).stat().st_size > 0
    assert not (out / "policy_size.csv").exists()  # the test preset skips that study
    with open(out / "fits.csv") as f:
        assert next(csv.reader(f))[:7] == ["method", "seed", "rm_params", "rm_data", "alpha",
                                           "beta", "r2"]
    assert len(list(out.glob("*.png"))) >= 8
    assert "per decade" in reproduced and "holds in 1 of 1 seeds" in reproduced
    assert "the laws, beside the paper" in reproduced and "bar 0.95" in reproduced


def test_reproduce_gives_the_rl_curves_of_the_rl_command(out, rl_rows):
    """`minirmo reproduce` and `minirmo rl` give the same RL rows for the same seed."""
    rl = read_csv(out / "rl.csv")  # rewritten by reproduce
    assert [(r["step"], r["kl"], r["gold"]) for r in rl] == [
        (r["step"], r["kl"], r["gold"]) for r in rl_rows["rl"]]


def test_fits_are_made_per_seed_and_on_the_seed_mean(out, reproduced):
    """fits.csv holds one fit per curve and seed, and one per curve on the seed-mean curve."""
    with open(out / "fits.csv") as f:
        fits = list(csv.DictReader(f))
    seeds = {r["seed"] for r in fits}
    assert seeds == {"0", "mean"}
    assert sum(r["seed"] == "0" for r in fits) == sum(r["seed"] == "mean" for r in fits)


def test_kl_penalty_holds_the_kl_lower(out, reproduced):
    """In the KL-penalty study, the largest coefficient ends below half the unpenalized KL."""
    holds(findings.kl_penalty_holds_kl, {"kl_penalty": read_csv(out / "kl_penalty.csv")})


def test_a_failing_study_is_reported_by_name_and_keeps_what_finished(out, reproduced, tmp_path,
                                                                    monkeypatch, capsys):
    """A study that fails exits with status 1 and a message naming it (not a usage error), and
    the CSVs of the studies before it are written."""
    (tmp_path / "cache").symlink_to(out / "cache")

    def broken(*args, **kwargs):
        raise RuntimeError("no PPO today")

    monkeypatch.setattr("minirmo.reproduce.rl_rows", broken)
    with pytest.raises(SystemExit) as exit_info:
        main(["reproduce", "--preset", "test", "--out", str(tmp_path), "--seed", "0"])
    assert "RL study failed" in str(exit_info.value.code) and "no PPO today" in str(
        exit_info.value.code)
    assert (tmp_path / "bon.csv").exists() and not (tmp_path / "rl.csv").exists()
