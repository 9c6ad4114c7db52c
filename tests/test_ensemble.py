"""Reward-model ensembles and label noise: the objectives' invariants, the noise flips, and the
ensembles study on a micro preset."""

import csv
from dataclasses import replace

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from test_runs import MICRO

from minirmo import findings
from minirmo.cli import main
from minirmo.ensemble import OBJECTIVES, Ensemble, EnsembleConfig, combine, flip_labels
from minirmo.reproduce import ensembles_command, reproduce
from minirmo.runs.presets import ALGORITHMS, get_preset
from minirmo.runs.studies import disagreement_rows, ensemble_rows, seed_runs

scores = st.tuples(st.integers(2, 6), st.integers(1, 20), st.integers(0, 2**31 - 1)).map(
    lambda t: torch.randn(t[0], t[1], generator=torch.Generator().manual_seed(t[2])))
lambdas = st.floats(0, 10)


# --- the objectives ----------------------------------------------------------------------------


@settings(max_examples=50, deadline=None)
@given(scores, lambdas)
def test_conservative_objectives_never_exceed_the_mean(s, lam):
    """WCO (the members' minimum) and UWO (mean − λ·variance) never score a sample above the
    members' mean."""
    mean = combine(s, "mean")
    assert (combine(s, "wco") <= mean + 1e-6).all()
    assert (combine(s, "uwo", lam) <= mean + 1e-6).all()
    assert torch.equal(combine(s, "wco"), s.min(0).values)


@settings(max_examples=50, deadline=None)
@given(scores, lambdas, st.floats(0, 10))
def test_uwo_is_the_mean_at_lambda_zero_and_falls_as_lambda_grows(s, lam, more):
    """UWO at λ = 0 is the mean; a larger λ never raises a sample's score."""
    assert torch.allclose(combine(s, "uwo", 0.0), combine(s, "mean"))
    assert (combine(s, "uwo", lam + more) <= combine(s, "uwo", lam) + 1e-6).all()


@settings(max_examples=50, deadline=None)
@given(scores, st.sampled_from(OBJECTIVES), lambdas)
def test_objectives_ignore_the_order_of_members(s, objective, lam):
    """Shuffling the members leaves every objective's scores unchanged."""
    shuffled = s[torch.randperm(len(s), generator=torch.Generator().manual_seed(0))]
    assert torch.allclose(combine(s, objective, lam), combine(shuffled, objective, lam),
                          atol=1e-5)


@settings(max_examples=50, deadline=None)
@given(scores, st.sampled_from(OBJECTIVES), lambdas)
def test_members_that_agree_make_every_objective_their_common_score(s, objective, lam):
    """When every member gives the same scores, each objective returns them: the ensemble only
    acts where its members disagree."""
    same = s[:1].expand_as(s)
    assert torch.allclose(combine(same, objective, lam), s[0], atol=1e-5)


def test_an_ensemble_scores_samples_as_the_objective_of_its_members():
    """Ensemble.score is the objective applied to the members' own scores."""
    members = [torch.nn.Module() for _ in range(3)]
    for k, member in enumerate(members):
        member.score = lambda x, k=k: x.float().sum(-1) * (k + 1)  # (..., seq) -> (...)
    sequences = torch.arange(12).reshape(2, 2, 3)
    ensemble = Ensemble(members, "uwo", 0.5)
    assert ensemble.member_scores(sequences).shape == (3, 2, 2)
    assert torch.equal(ensemble.score(sequences),
                       combine(ensemble.member_scores(sequences), "uwo", 0.5))


@pytest.mark.parametrize("make, name", [
    (lambda: combine(torch.zeros(1, 4), "mean"), "members"),
    (lambda: combine(torch.zeros(3, 4), "median"), "objective"),
    (lambda: combine(torch.zeros(3, 4), "uwo", -0.1), "uwo_lambda"),
    (lambda: combine(torch.zeros(3, 4), "uwo", float("nan")), "uwo_lambda"),
    (lambda: EnsembleConfig(members=1), "members"),
    (lambda: EnsembleConfig(uwo_lambda=-1.0), "uwo_lambda"),
    (lambda: EnsembleConfig(label_noise=(0.0, 0.5)), "label_noise"),
    (lambda: EnsembleConfig(label_noise=(-0.1,)), "label_noise"),
    (lambda: EnsembleConfig(label_noise=()), "label_noise"),
    (lambda: EnsembleConfig(kl_coef=-0.1), "kl_coef"),
    (lambda: flip_labels(torch.zeros(2, 3), torch.ones(2, 3), torch.rand(2), 0.7),
     "label_noise"),
    (lambda: replace(MICRO, ensembles=EnsembleConfig(pairs=201)), "ensembles.pairs"),
])
def test_bad_ensemble_settings_are_errors_naming_the_argument(make, name):
    """k < 2, λ < 0, noise outside [0, 0.5), an unknown objective or too many pairs raise a
    ValueError naming the argument."""
    with pytest.raises(ValueError, match=name):
        make()


# --- label noise -------------------------------------------------------------------------------


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 200), st.floats(0, 0.499), st.floats(0, 0.499), st.integers(0, 1000))
def test_noise_levels_differ_only_in_their_flips_and_nest(pairs, p, q, seed):
    """With one set of draws, a noise level swaps chosen and rejected of exactly the pairs whose
    draw is below it, so a lower level flips a subset of the pairs a higher one flips."""
    g = torch.Generator().manual_seed(seed)
    chosen, rejected = torch.randint(0, 50, (pairs, 5), generator=g), torch.randint(
        50, 100, (pairs, 5), generator=g)
    draws = torch.rand(pairs, generator=g)
    low, high = sorted((p, q))
    flipped = {}
    for noise in (low, high):
        c, r = flip_labels(chosen, rejected, draws, noise)
        swapped = (c == rejected).all(1) & (r == chosen).all(1)
        assert torch.equal(swapped, draws < noise)
        assert torch.equal(c[~swapped], chosen[~swapped])
        flipped[noise] = set(swapped.nonzero().flatten().tolist())
    assert flipped[low] <= flipped[high]


# --- the study on a micro preset ---------------------------------------------------------------

# the follow-up studies, and RLOO and GRPO beside PPO, on a micro preset
ENSEMBLE_MICRO = replace(MICRO, ensembles=EnsembleConfig(members=2, label_noise=(0.0, 0.25)),
                         rl_algorithms=ALGORITHMS)
COLUMNS = ["seed", "label_noise", "objective", "members", "member", "rm_params", "rm_data",
           "method", "n", "step", "kl", "proxy", "gold"]


@pytest.fixture(scope="module")
def micro_study(tmp_path_factory):
    out = tmp_path_factory.mktemp("ensembles")
    runs = seed_runs(ENSEMBLE_MICRO, out, seeds=[0], progress=False)
    return runs, reproduce(runs)


def test_reproduce_runs_the_ensembles_study_and_the_command_reloads_it(micro_study):
    """`reproduce` prints the ensembles table and its findings; `ensembles_command` afterwards
    trains nothing and prints the same table."""
    runs, printed = micro_study
    trained = len(runs[0].cache.computed)
    again = ensembles_command(runs)
    assert len(runs[0].cache.computed) == trained
    assert again.split("\n\n")[0] in printed
    assert "ensembles, best-of-n" in again


def test_reproduce_runs_the_preset_s_algorithms_side_by_side(micro_study):
    """Where the preset names RLOO and GRPO, `reproduce` writes their rows into rl.csv beside
    PPO's, fits the RL form to each, draws rl_algorithms.png and prints the algorithms' table;
    the RL-size figures and the laws stay PPO's."""
    runs, printed = micro_study
    out = runs[0].out
    with open(out / "rl.csv") as f:
        assert {row["method"] for row in csv.DictReader(f)} == {"rl", "rloo", "grpo"}
    with open(out / "fits.csv") as f:  # (micro's PPO is too short to have a fit: KL < 0)
        assert {"bon", "rloo", "grpo"} <= {row["method"] for row in csv.DictReader(f)}
    assert (out / "rl_algorithms.png").stat().st_size > 0
    assert "RL algorithms" in printed and "rloo" in printed and "grpo" in printed


def test_the_ensembles_study_writes_its_csv_and_figure(micro_study):
    """ensembles.csv has the issue's columns (n empty on RL rows, step empty on best-of-n
    rows) and ensembles.png is drawn."""
    runs, printed = micro_study
    out = runs[0].out
    with open(out / "ensembles.csv") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
    assert reader.fieldnames == COLUMNS
    assert all(r["n"] == "" for r in rows if r["method"] == "rl")
    assert all(r["step"] == "" for r in rows if r["method"] == "bon")
    assert (out / "ensembles.png").stat().st_size > 0
    assert "ensembles of 2 proxies" in printed


def test_every_objective_is_optimized_by_both_methods_at_every_noise_level(micro_study):
    """Best-of-n runs against each member and each objective, PPO against member 0 and each
    objective, at each noise level; best-of-n at n = 1 is the initial policy (gold ≈ 0)."""
    runs, _ = micro_study
    rows = ensemble_rows(runs)
    cells = {(r["method"], r["label_noise"], r["objective"], r["member"]) for r in rows}
    for noise in (0.0, 0.25):
        assert {("bon", noise, "single", k) for k in (0, 1)} <= cells
        assert ("rl", noise, "single", 0) in cells and ("rl", noise, "single", 1) not in cells
        for objective in OBJECTIVES:
            assert {("bon", noise, objective, None), ("rl", noise, objective, None)} <= cells
    assert all(abs(r["gold"]) < 0.25 for r in rows if r["n"] == 1)
    assert all(r["members"] == (1 if r["objective"] == "single" else 2) for r in rows)


def test_a_members_noise_levels_share_its_weights_at_the_start(micro_study):
    """A member trained at a noise level that flips no pair is bit-identical to the same member
    at 0% noise: its seed depends on the member, not on the noise level."""
    runs, _ = micro_study
    run, config = runs[0], ENSEMBLE_MICRO.ensemble_study
    draws = run.get(run.label_draws_artefact())[: config.pairs]
    silent = draws.min().item() / 2  # below every draw: nothing flips
    clean = run.get(run.member_artefact(config.size, config.pairs, 0.0, 1)).model.state_dict()
    quiet = run.get(run.member_artefact(config.size, config.pairs, silent, 1)).model.state_dict()
    other = run.get(run.member_artefact(config.size, config.pairs, 0.0, 0)).model.state_dict()
    assert all(torch.equal(clean[k], quiet[k]) for k in clean)
    assert not all(torch.equal(clean[k], other[k]) for k in clean)


def test_the_conservative_objectives_score_best_of_n_below_the_mean(micro_study):
    """On the same pool, the best-of-n proxy score of WCO and UWO never exceeds the mean's at
    any n (their scores never exceed the mean's on any sample)."""
    runs, _ = micro_study
    rows = [r for r in ensemble_rows(runs) if r["method"] == "bon"]
    proxy = {(r["label_noise"], r["objective"], r["n"]): r["proxy"] for r in rows
             if r["objective"] != "single"}
    for noise, objective, n in proxy:
        assert proxy[noise, objective, n] <= proxy[noise, "mean", n] + 1e-5


@pytest.mark.slow
def test_members_agree_most_on_the_hack_they_all_learned(test_run_dir):
    """Five members of the test preset's smallest proxy (no label noise, seed 0) score gushing
    reviews above two-praise ones, which gold prefers, and disagree *less* on them than on
    reviews without praise: the hack is shared, so the ensemble cannot see it."""
    preset = replace(get_preset("test"), ensembles=EnsembleConfig(label_noise=(0.0,)))
    runs = seed_runs(preset, test_run_dir, seeds=[0], progress=False)
    holds, figures = findings.check({"disagreement": disagreement_rows(runs)})[
        "ensembles_agree_on_the_hack"]
    assert holds, figures


def test_the_ensembles_command_names_a_preset_without_the_study(tmp_path, capsys):
    """`minirmo ensembles --preset test` (a preset whose `ensembles` is None) is a usage error
    naming the preset, before anything trains."""
    with pytest.raises(SystemExit) as exit_info:
        main(["ensembles", "--preset", "test", "--out", str(tmp_path)])
    assert exit_info.value.code == 2 and "preset" in capsys.readouterr().err
    assert not (tmp_path / "cache").exists()
