"""Direct alignment (dpo.py): the DPO and IPO losses, their training loop, and the findings of
`minirmo dpo` on the `test` preset.

The losses are pinned by properties that hold for any log-ratios and any β; training by a
micro preset that runs in seconds; the findings by `minirmo dpo --preset test --seed 0` in the
session's shared run folder (conftest.py), checked by their definitions in `minirmo.findings`,
the same code `benchmarks/seed_robustness.py` runs at seeds 0-4.
"""

import contextlib
import csv
import io
import math
from dataclasses import replace

import pytest
import torch
from closeness import check_close
from hypothesis import given
from hypothesis import strategies as st
from test_runs import MICRO

from minirmo import findings
from minirmo.cli import main
from minirmo.dpo import LOSSES, DPOConfig, dpo_loss, implicit_accuracy, ipo_loss
from minirmo.reward import bradley_terry_loss
from minirmo.runs.presets import get_preset
from minirmo.runs.run import Run

# log-ratios Δ = log π(y) − log π_ref(y) of the chosen and the rejected side of a few pairs
logratio_pairs = st.lists(st.tuples(st.floats(-20, 20), st.floats(-20, 20)), min_size=1,
                          max_size=8)
betas = st.floats(0.01, 10)


def split(pairs):
    """(chosen, rejected), two (pairs,) float64 tensors."""
    both = torch.tensor(pairs, dtype=torch.float64)  # (pairs, 2)
    return both[:, 0], both[:, 1]


# --- the losses ---------------------------------------------------------------------------------


@given(betas, st.integers(1, 8))
def test_dpo_loss_is_ln2_when_the_policy_is_the_reference(beta, pairs):
    """At the start, every log-ratio is 0 and the DPO loss is ln 2 (chance), whatever β."""
    zeros = torch.zeros(pairs, dtype=torch.float64)
    check_close("DPO loss at the reference", dpo_loss(zeros, zeros, beta), math.log(2), 1e-12,
                "log(2) in float64")


@given(logratio_pairs, betas)
def test_dpo_loss_is_bradley_terry_on_the_implicit_reward(pairs, beta):
    """DPO is the Bradley–Terry loss of the implicit reward β·log(π/π_ref)."""
    c, r = split(pairs)
    check_close("DPO loss", dpo_loss(c, r, beta), bradley_terry_loss(beta * c, beta * r), 1e-12,
                "the same logsigmoid in float64")


@given(logratio_pairs, betas, st.floats(-5, 5))
def test_both_losses_see_only_the_margin(pairs, beta, shift):
    """Adding the same constant to both sides of every pair (a per-prompt constant of the
    implicit reward) leaves either loss unchanged."""
    c, r = split(pairs)
    for name, loss in LOSSES.items():
        check_close(f"{name} loss after a shift", loss(c + shift, r + shift, beta),
                    loss(c, r, beta), 1e-9 * (1 + loss(c, r, beta).item()),
                    "float64 rounding of the shifted margins")


@given(logratio_pairs, betas)
def test_dpo_gradient_raises_the_chosen_and_lowers_the_rejected_log_ratio(pairs, beta):
    """DPO's gradient always pushes log π(chosen) up and log π(rejected) down, however large the
    margin already is: nothing in the loss says "enough"."""
    c, r = (x.requires_grad_(True) for x in split(pairs))
    dpo_loss(c, r, beta).backward()
    assert (c.grad < 0).all() and (r.grad > 0).all()


@given(st.floats(-20, 20), betas)
def test_ipo_loss_is_smallest_at_margin_one_over_two_beta(margin, beta):
    """IPO regresses the margin to 1/(2β): 0 there, positive anywhere else."""
    target = torch.tensor([1 / (2 * beta)], dtype=torch.float64)
    zero = torch.zeros(1, dtype=torch.float64)
    assert ipo_loss(target, zero, beta).item() == pytest.approx(0, abs=1e-18)
    m = torch.tensor([margin], dtype=torch.float64)
    assert ipo_loss(m, zero, beta) >= 0
    if abs(margin - target.item()) > 1e-6:
        assert ipo_loss(m, zero, beta) > 0


@given(st.floats(0.01, 20), betas)
def test_ipo_pulls_a_margin_beyond_its_target_back(excess, beta):
    """Past 1/(2β), IPO's gradient lowers the chosen log-ratio again, where DPO's keeps raising
    it: the regularization IPO adds."""
    c = torch.tensor([1 / (2 * beta) + excess], dtype=torch.float64, requires_grad=True)
    ipo_loss(c, torch.zeros(1, dtype=torch.float64), beta).backward()
    assert c.grad.item() > 0


def test_implicit_accuracy_counts_ties_as_half():
    """Margins > 0 are right, < 0 wrong, and a tie (the reference itself) counts half."""
    assert implicit_accuracy(torch.tensor([1.0, -1.0, 0.0, 2.0])) == pytest.approx(0.625)
    assert implicit_accuracy(torch.zeros(5)) == 0.5


# --- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize("beta", [0, -0.1, float("nan"), True])
def test_a_beta_that_is_not_positive_is_an_error_naming_beta(beta):
    """β ≤ 0 (or not a number) is a ValueError that names beta."""
    with pytest.raises(ValueError, match="beta"):
        DPOConfig(beta=beta)


def test_an_unknown_loss_is_an_error_naming_it():
    """A loss other than dpo or ipo is a ValueError that names the loss and the choices."""
    with pytest.raises(ValueError, match="loss: unknown loss 'slic'.*dpo.*ipo"):
        DPOConfig(loss="slic")


@pytest.mark.parametrize("field, value", [("dpo_betas", (0.1, 0.0)), ("dpo_betas", (1.0, 0.1)),
                                          ("dpo_betas", ()), ("dpo_losses", ("dpo", "slic")),
                                          ("dpo_losses", ("dpo", "dpo"))])
def test_a_preset_with_a_bad_dpo_sweep_is_an_error_naming_the_field(field, value):
    """Presets check their sweep: betas > 0 and increasing, each known loss at most once."""
    with pytest.raises(ValueError, match=field):
        replace(MICRO, **{field: value})


@pytest.mark.parametrize("argv, named", [(["--betas", "0.1", "-1"], "betas"),
                                         (["--losses", "slic"], "losses")])
def test_cli_reports_a_bad_beta_or_loss_as_a_usage_error(tmp_path, capsys, argv, named):
    """`minirmo dpo --betas 0.1 -1` and `--losses slic` exit with a usage error naming them."""
    with pytest.raises(SystemExit) as exit_info:
        main(["dpo", "--preset", "test", "--out", str(tmp_path), *argv])
    assert exit_info.value.code == 2 and named in capsys.readouterr().err


# --- training, on a micro preset ----------------------------------------------------------------

MICRO_DPO = replace(MICRO, dpo=DPOConfig(epochs=2, batch_size=32, eval_every=2,
                                         eval_samples=64))


@pytest.fixture(scope="module")
def micro_records(tmp_path_factory):
    """DPO at β = 0.1 on the micro preset's 200 comparisons (seconds)."""
    run = Run(MICRO_DPO, tmp_path_factory.mktemp("micro_dpo"), progress=False)
    return run, run.dpo("dpo", 0.1, 200)


def test_training_starts_at_the_reference(micro_records):
    """Checkpoint 0 is taken before any update: KL 0 (up to float error between sampling and a
    full forward pass), implicit accuracy 50% and both losses ln 2."""
    first = micro_records[1][0]
    assert first["step"] == 0 and abs(first["kl"]) < 1e-4
    assert first["implicit_acc"] == 0.5
    check_close("losses at step 0", [first["val_loss"], first["train_loss"]], [math.log(2)] * 2,
                1e-6, "float32 log-probs of identical models cancel exactly")


def test_checkpoints_cover_training_and_the_loss_falls(micro_records):
    """Checkpoints come every `eval_every` steps up to the last step (2 epochs of 180 training
    pairs in batches of 32: 10 steps), and DPO lowers its training loss."""
    records = micro_records[1]
    assert [r["step"] for r in records] == [0, 2, 4, 6, 8, 10]
    assert records[-1]["epoch"] == 2
    assert records[-1]["train_loss"] < records[0]["train_loss"]
    assert records[-1]["kl"] > 0.01


def test_the_same_seed_gives_the_same_checkpoints(micro_records, tmp_path):
    """DPO draws all its randomness (split, order, samples) from its own generator: a fresh
    folder, after other draws from the global RNG, gives identical records."""
    torch.manual_seed(12345)
    torch.rand(10)
    run = Run(MICRO_DPO, tmp_path, progress=False)
    assert run.dpo("dpo", 0.1, 200) == micro_records[1]


def test_training_leaves_the_initial_policy_alone(micro_records):
    """DPO trains a copy: the cached initial policy is unchanged, and IPO or another β get
    artefacts of their own."""
    run, _ = micro_records
    keys = {run.dpo_artefact(loss, beta, 200).key for loss in LOSSES for beta in (0.1, 1.0)}
    assert len(keys) == 4
    before = run.policy().state_dict()
    run.dpo("ipo", 1.0, 200)
    assert all(torch.equal(before[k], v) for k, v in run.policy().state_dict().items())


# --- the findings on the `test` preset ----------------------------------------------------------


def synthetic(gold, loss, kl=None, acc=None, beta=0.01):
    """One seed's rows of one DPO curve, from lists of gold, training loss (and KL, accuracy)."""
    n = len(gold)
    return [{"seed": 0, "loss": "dpo", "beta": beta, "rm_data": 100, "step": i, "epoch": i / 4,
             "kl": (kl or [float(i) for i in range(n)])[i], "gold": gold[i],
             "implicit_acc": (acc or [0.6] * n)[i], "train_loss": loss[i]} for i in range(n)]


def test_the_direct_alignment_findings_can_fail():
    """Each check says no where its claim is false: gold that only rises, gold that falls with a
    rising loss, KL that grows with β, and accuracy that picks the best β."""
    rising, falling = [0, 0.5, 1.0, 1.2, 1.3, 1.4], [0, 1.0, 1.4, 1.2, 0.8, 0.6]
    loss_down, loss_up = [0.69, 0.6, 0.5, 0.45, 0.4, 0.35], [0.69, 0.6, 0.5, 0.6, 0.7, 0.8]
    assert findings.dpo_smallest_beta_overoptimizes({"dpo": synthetic(falling, loss_down)})[0]
    assert not findings.dpo_smallest_beta_overoptimizes({"dpo": synthetic(rising, loss_down)})[0]
    assert not findings.dpo_smallest_beta_overoptimizes({"dpo": synthetic(falling, loss_up)})[0]
    far = synthetic(falling, loss_down, kl=[0, 1, 2, 3, 4, 5], acc=[0.5, 0.6, 0.6, 0.6, 0.6, 0.7])
    near = synthetic(rising, loss_down, kl=[0, 1, 2, 3, 3, 3], acc=[0.5] * 6, beta=1.0)
    assert findings.dpo_largest_beta_less_kl({"dpo": far + near})[0] is False  # 3 > 5 / 2
    assert findings.dpo_kl_falls_with_beta({"dpo": far + near})[0]
    assert not findings.dpo_kl_falls_with_beta({"dpo": far + synthetic(
        rising, loss_down, kl=[0, 1, 2, 3, 4, 6], beta=1.0)})[0]
    assert findings.dpo_accuracy_does_not_predict_gold({"dpo": far + near})[0]
    accurate_and_best = synthetic(rising, loss_down, kl=[0, 1, 2, 3, 3, 3], beta=1.0,
                                  acc=[0.5] * 5 + [0.8])
    assert not findings.dpo_accuracy_does_not_predict_gold({"dpo": far + accurate_and_best})[0]


def read_csv(path):
    with open(path) as f:
        return [{k: v if k == "loss" else float(v) for k, v in row.items()}
                for row in csv.DictReader(f)]


@pytest.fixture(scope="module")
def dpo_run(test_run_dir):
    """`minirmo dpo --preset test --seed 0` in the session's shared folder: what it printed and
    the rows of dpo.csv."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        main(["dpo", "--preset", "test", "--out", str(test_run_dir), "--seed", "0"])
    return printed.getvalue(), {"dpo": read_csv(test_run_dir / "dpo.csv")}


def holds(finding, rows):
    ok, figures = finding(rows)
    assert ok, figures


@pytest.mark.slow
def test_dpo_command_writes_its_csv_figure_and_summary(dpo_run, test_run_dir):
    """`minirmo dpo` writes dpo.csv with the documented columns first, the fits, a figure, and a
    summary with the RL form's R² and every finding as "holds in k of n seeds"."""
    with open(test_run_dir / "dpo.csv") as f:
        assert next(csv.reader(f))[:8] == ["seed", "loss", "beta", "rm_data", "step", "kl",
                                           "gold", "implicit_acc"]
    assert (test_run_dir / "dpo.png").stat().st_size > 10_000
    assert (test_run_dir / "dpo_fits.csv").exists()
    printed, rows = dpo_run
    preset = get_preset("test")
    assert {(r["loss"], r["beta"]) for r in rows["dpo"]} == {
        (loss, beta) for loss in preset.dpo_losses for beta in preset.dpo_betas}
    assert "R2 RL/quad" in printed and "holds in 1 of 1 seeds" in printed


PINNED = {"dpo_smallest_beta_overoptimizes", "dpo_largest_beta_less_kl", "dpo_kl_falls_with_beta"}


def test_every_pinned_direct_alignment_finding_has_a_test_here():
    """The tests below cover exactly the pinned findings that read the dpo study."""
    assert PINNED == {f.name for f in findings.FINDINGS if f.pinned and "dpo" in f.needs}


@pytest.mark.slow
def test_dpo_at_the_smallest_beta_overoptimizes_while_its_loss_falls(dpo_run):
    """DPO at β = 0.01: gold peaks, then loses >= 10% of its gain while the training loss
    still falls."""
    holds(findings.dpo_smallest_beta_overoptimizes, dpo_run[1])


@pytest.mark.slow
def test_the_largest_beta_spends_less_than_half_the_kl_of_the_smallest(dpo_run):
    """β = 1 stays below half the KL that β = 0.01 spends."""
    holds(findings.dpo_largest_beta_less_kl, dpo_run[1])


@pytest.mark.slow
def test_each_larger_beta_spends_less_kl(dpo_run):
    """The most KL spent falls with every step up in β."""
    holds(findings.dpo_kl_falls_with_beta, dpo_run[1])
