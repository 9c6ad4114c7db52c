"""What each command runs: studies over seeds, then their CSVs, figures and printed summary.

`bon_command`, `rl_command` and `reproduce` take the runs of one preset (one per seed, see
`runs.studies.seed_runs`), write everything into their folder and return the text to print.
`reproduce` runs, through one cache (so every model and pool is trained once):

* **RM size and data**: best-of-n against every proxy of the grid, RL against every size on
  the most data (the paper's Figures 1, 2 and 6); where the preset's `rl_algorithms` names
  them, RLOO and GRPO beside PPO against the smallest and the largest of those proxies (the
  algorithms' table);
* **coefficients**: the forms fitted per seed and on the seed-mean curves, and how α and β
  scale with log RM params (Figure 3), written to fits.csv;
* **extrapolation**: the best-of-n form fitted on n ≤ N/16 predicts the gold score at n = N,
  as the paper chose its form on n ≤ 1,000 and predicted out to n = 60,000;
* **KL penalty**: RL against the smallest proxy at several KL coefficients;
* **policy size**: the RM-size study from a second initial policy, smaller or larger, judged
  by the same gold RM (Section 3.4), unless the preset's `second_policy` is None;
* **ensembles** (beyond the paper, `ensembles_command`): best-of-n and RL against ensembles of
  proxies with and without label noise, unless the preset's `ensembles` is None;
* **direct alignment**: DPO and IPO at several betas on the proxies' comparisons, with no
  reward model (Rafailov et al. 2024), as `dpo_command` runs it;

(the last two, the follow-up studies, only where the preset's `follow_ups` is True: the paper
preset leaves them to their own commands, to keep its seeds within the hour)

and prints every finding as "holds in k of n seeds".
"""

from contextlib import contextmanager
from functools import partial

from minirmo import analysis, plots, report
from minirmo.ensemble import OBJECTIVES
from minirmo.runs.cache import Artefact
from minirmo.runs.parallel import artefact_graph, train_in_parallel
from minirmo.runs.run import Run
from minirmo.runs.studies import (
    bon_rows,
    disagreement_rows,
    dpo_frontier_rows,
    dpo_rows,
    ensemble_rows,
    kl_penalty_rows,
    log_spaced_ns,
    policy_size_proxies,
    policy_size_rows,
    reproduce_rl_proxies,
    rl_method,
    rl_rows,
    rl_samples,
    rm_rows,
    write_config,
    write_csv,
)


class StudyFailed(RuntimeError):
    """A study stopped with an error; what finished before it is written and cached."""


@contextmanager
def study(name: str):
    try:
        yield
    except (KeyboardInterrupt, StudyFailed):
        raise
    except Exception as err:
        raise StudyFailed(f"the {name} study failed: {type(err).__name__}: {err}") from err


def _bon(runs: list[Run]):
    out = runs[0].out
    with study("reward-model"):
        rm = rm_rows(runs)
        write_csv(out / "rm.csv", rm)
    with study("best-of-n"):
        bon = bon_rows(runs)
        write_csv(out / "bon.csv", bon)
    return rm, bon


def _rl(runs: list[Run], kl_coef: float | None = None, algorithms: tuple = ("ppo",),
        proxies_of=None):
    """rl.csv and rl_samples.txt: each algorithm against `proxies_of(algorithm)` (default:
    every size on the most data)."""
    with study("RL"):
        against = {a: proxies_of(a) if proxies_of else None for a in algorithms}
        rl = [row for a in algorithms for row in rl_rows(runs, against[a], kl_coef, a)]
        write_csv(runs[0].out / "rl.csv", rl)
        samples = [line for a in algorithms
                   for line in rl_samples(runs, against[a], kl_coef, a)]
        (runs[0].out / "rl_samples.txt").write_text("\n".join(samples) + "\n")
    return rl


def bon_command(runs: list[Run]) -> str:
    """`minirmo bon`: rm.csv, bon.csv, bon.png and the best-of-n table with its findings."""
    write_config(runs)
    rm, bon = _bon(runs)
    bon_mean = analysis.seed_mean(bon, columns=("kl", "kl_exact", "kl_beirami", "proxy", "gold"))
    plots.plot_scores_vs_kl(bon_mean, analysis.fit_rows(bon), "bon", runs[0].out / "bon.png")
    plots.plot_bon_kl_exact(bon_mean, runs[0].out / "bon_kl_exact.png")
    return "\n\n".join([report.gold_line(rm), report.bon_table(bon, rm),
                        report.bon_kl_table(bon),
                        report.findings_summary({"rm": rm, "bon": bon})])


def rl_command(runs: list[Run], kl_coef: float | None = None,
               algorithms: tuple = ("ppo",)) -> str:
    """`minirmo rl [--algorithm ppo rloo grpo]`: rl.csv (every algorithm's rows, told apart
    by `method`), rl_samples.txt, a figure and a table per algorithm (rl.png for PPO,
    rl_rloo.png, rl_grpo.png), and for PPO rl_kl_vs_step.png and its findings; with RLOO or
    GRPO, the algorithms' table (k of n seeds) and, with more than one, rl_algorithms.png."""
    write_config(runs)
    out = runs[0].out
    rl = _rl(runs, kl_coef, algorithms)
    rl_mean, fits = analysis.seed_mean(rl), analysis.fit_rows(rl)
    sections, ppo = [], [r for r in rl if r["method"] == "rl"]
    for algorithm in algorithms:
        method = rl_method(algorithm)
        suffix = "" if algorithm == "ppo" else f"_{algorithm}"
        plots.plot_scores_vs_kl([r for r in rl_mean if r["method"] == method], fits, method,
                                out / f"rl{suffix}.png")
        sections.append(report.rl_table([r for r in rl if r["method"] == method], fits))
    if ppo:
        plots.plot_kl_vs_step([r for r in rl_mean if r["method"] == "rl"],
                              analysis.per_seed(ppo, analysis.kl_exponent),
                              out / "rl_kl_vs_step.png")
    if len(algorithms) > 1:
        plots.plot_rl_algorithms(rl_mean, fits, out / "rl_algorithms.png")
    if tuple(algorithms) != ("ppo",):
        sections.append(report.algorithms_table(rl, fits))
    if ppo:
        sections.append(report.findings_summary({"rl": ppo}))
    return "\n\n".join(sections)


ENSEMBLE_CURVE = ("method", "label_noise", "objective")  # a member alone: members averaged


def _ensembles(runs: list[Run]) -> tuple[dict, str]:
    out = runs[0].out
    with study("ensembles"):
        rows = {"ensembles": ensemble_rows(runs), "disagreement": disagreement_rows(runs)}
        write_csv(out / "ensembles.csv", rows["ensembles"])
        write_csv(out / "ensemble_disagreement.csv", rows["disagreement"])
    plots.plot_ensembles(analysis.seed_mean(rows["ensembles"], ENSEMBLE_CURVE),
                         out / "ensembles.png")
    return rows, "\n\n".join([report.disagreement_table(rows["disagreement"]),
                               report.ensembles_table(rows["ensembles"])])


def ensembles_command(runs: list[Run]) -> str:
    """`minirmo ensembles`: ensembles.csv, ensemble_disagreement.csv, ensembles.png, the
    tables and their findings."""
    if runs[0].preset.ensembles is None:
        raise ValueError(f"preset: {runs[0].preset.name!r} has no ensembles study")
    write_config(runs)
    rows, tables = _ensembles(runs)
    return "\n\n".join([tables, report.findings_summary(rows)])


def _dpo(runs: list[Run], frontier: list[dict]) -> tuple[list[dict], str]:
    """The direct-alignment study: dpo.csv, dpo_fits.csv, dpo.png, and its table (without
    the findings). `frontier`: best-of-n and RL rows against the proxy it is drawn beside."""
    out = runs[0].out
    with study("direct-alignment"):
        dpo = dpo_rows(runs)
        write_csv(out / "dpo.csv", dpo)
        fits = analysis.dpo_fit_rows(dpo)
        write_csv(out / "dpo_fits.csv", fits)
    plots.plot_dpo(analysis.dpo_seed_mean(dpo), fits, analysis.seed_mean(frontier),
                   out / "dpo.png")
    return dpo, report.dpo_table(dpo, fits, frontier)


def dpo_command(runs: list[Run]) -> str:
    """`minirmo dpo`: dpo.csv, dpo_fits.csv, dpo.png and the direct-alignment table with its
    findings."""
    write_config(runs)
    with study("best-of-n and RL frontier"):
        frontier = dpo_frontier_rows(runs)
    dpo, table = _dpo(runs, frontier)
    return "\n\n".join([table, report.findings_summary({"dpo": dpo})])


def reproduce(runs: list[Run]) -> str:
    """Run every study, write every CSV and figure into the runs' folder, return the summary."""
    out = runs[0].out
    write_config(runs)
    rm, bon = _bon(runs)
    rl_all = _rl(runs, algorithms=runs[0].preset.rl_algorithms,  # PPO's rows, then the others'
                 proxies_of=partial(reproduce_rl_proxies, runs[0].preset))
    rl = [r for r in rl_all if r["method"] == "rl"]  # PPO: every study below but the last
    with study("fits"):
        fits = analysis.fit_rows(bon + rl_all)
        write_csv(out / "fits.csv", fits)
        scaling = analysis.scaling(fits)
        extrapolation = analysis.extrapolation_rows(bon)
        write_csv(out / "extrapolation.csv", extrapolation)
    with study("KL-penalty"):
        penalty = kl_penalty_rows(runs)
        write_csv(out / "kl_penalty.csv", penalty)

    bon_mean = analysis.seed_mean(bon, columns=("kl", "kl_exact", "kl_beirami", "proxy", "gold"))
    rl_mean = analysis.seed_mean(rl)
    exponents = analysis.per_seed(rl, analysis.kl_exponent)
    plots.plot_scores_vs_kl(bon_mean, fits, "bon", out / "fig1a_bon.png")
    plots.plot_scores_vs_kl(rl_mean, fits, "rl", out / "fig1b_rl.png")
    plots.plot_gold_vs_data(bon_mean, out / "fig2_bon_data.png")
    plots.plot_coefficients(fits, scaling, out / "fig3_coefficients.png")
    proxies = [r for r in rm if r["rm"] == "proxy"]  # the gold has no test loss
    plots.plot_rm_loss_vs_data(analysis.seed_mean(proxies, ("rm", "rm_params", "rm_data"),
                                                  ("test_loss", "test_acc")),
                               out / "fig6_rm_loss_vs_data.png")
    plots.plot_kl_growth(bon_mean, rl_mean, exponents, out / "kl_growth_rl_vs_bon.png")
    plots.plot_gold_vs_proxy(bon_mean, rl_mean, out / "gold_vs_proxy.png")
    plots.plot_kl_penalty(analysis.seed_mean(penalty, ("method", "kl_coef", "rm_params")),
                          out / "kl_penalty.png")
    plots.plot_extrapolation(bon_mean, extrapolation, out / "bon_extrapolation.png")
    plots.plot_bon_kl_exact(bon_mean, out / "bon_kl_exact.png")
    sections = [report.gold_line(rm), report.bon_table(bon, rm), report.bon_kl_table(bon),
                report.rl_table(rl, fits),
                report.coefficients_table(fits, scaling), report.extrapolation_line(extrapolation),
                report.laws_table(rm, bon, rl, fits, scaling, extrapolation, penalty)]
    if len(runs[0].preset.rl_algorithms) > 1:
        plots.plot_rl_algorithms(analysis.seed_mean(rl_all), fits, out / "rl_algorithms.png")
        sections.append(report.algorithms_table(rl_all, fits))
    if runs[0].preset.second_policy is not None:
        with study("policy-size"):
            policy_size = policy_size_rows(runs, bon, rl)
            write_csv(out / "policy_size.csv", policy_size)
        keys = ("policy_params", "method", "rm_params")  # RL's seeds meet at common KL
        plots.plot_policy_size(
            analysis.seed_mean([r for r in policy_size if r["method"] == "bon"], keys)
            + analysis.seed_mean_at_kl([r for r in policy_size if r["method"] == "rl"], keys),
            out / "policy_size.png")
        sections.append(report.policy_size_summary(policy_size))
    studies = {"rm": rm, "bon": bon, "rl": rl, "kl_penalty": penalty}
    if runs[0].preset.follow_ups:
        largest, most = max(r["rm_params"] for r in bon), analysis.most_data(bon)
        studies["dpo"], table = _dpo(runs, [r for r in bon + rl  # dpo_frontier_rows, at hand
                                            if r["rm_params"] == largest and r["rm_data"] == most])
        sections.append(table)
        if runs[0].preset.ensembles is not None:
            ensembles, tables = _ensembles(runs)
            studies |= ensembles
            sections.append(tables)
    sections.append(report.findings_summary(studies))
    return "\n\n".join(sections)


def needs(run: Run, command: str, kl_coef: float | None = None,
          algorithms: tuple = ("ppo",)) -> list[Artefact]:
    """The artefacts `command` ("bon", "rl", "dpo", "ensembles" or "reproduce"; "findings" is
    what `findings.check` reads: reproduce without the policy-size study) reads at one seed:
    the leaves of its graph (every proxy, pool and gold RM it needs is an input of one).
    `algorithms` are the RL algorithms of the "rl" command; every other command runs PPO."""
    preset = run.preset
    sizes, most, ns = preset.proxy_sizes, preset.proxy_data[-1], log_spaced_ns(preset.bon_pool)
    if command == "rl":
        return [run.rl_artefact(size, most, kl_coef, algorithm)
                for algorithm in algorithms for size in sizes]
    rl = [run.rl_artefact(size, most, kl_coef) for size in sizes]
    dpo = [run.dpo_artefact(loss, beta, most)
           for loss in preset.dpo_losses for beta in preset.dpo_betas]
    if command == "dpo":  # and the frontiers it is drawn beside (dpo_frontier_rows)
        return dpo + [run.bon_artefact(sizes[-1], most, ns),
                      run.rl_artefact(sizes[-1], most)]
    ensembles, config = [], preset.ensemble_study
    for noise in config.label_noise if config is not None else ():
        ensembles += [run.ensemble_bon_artefact(config, noise, ns)]
        ensembles += [run.ensemble_rl_artefact(config, noise, objective)
                      for objective in ("single", *OBJECTIVES)]
    if command == "ensembles":
        return ensembles
    bon = [run.bon_artefact(size, pairs, ns) for size, pairs in run.bon_proxies()]
    # rm.csv: every proxy of the grid (an input of its test on the held-out comparisons)
    bon += [run.proxy_test_artefact(size, pairs) for size, pairs in run.proxies()]
    if command == "bon":
        return bon
    penalty = [run.rl_artefact(sizes[0], most, coef) for coef in preset.kl_coefs]
    others = [run.rl_artefact(size, pairs, algorithm=algorithm)
              for algorithm in preset.rl_algorithms[1:]
              for size, pairs in reproduce_rl_proxies(preset, algorithm)]
    leaves = bon + rl + penalty + others
    if command == "findings" or preset.follow_ups:
        leaves += dpo + ensembles
    if command == "reproduce" and preset.second_policy is not None:
        second = run.with_policy(preset.second_policy)
        leaves += [artefact for size, pairs in policy_size_proxies(preset) for artefact in
                   (second.bon_artefact(size, pairs, ns), second.rl_artefact(size, pairs))]
    return leaves


@contextmanager
def _training(run: Run, artefact: Artefact):
    try:
        yield
    except Exception as err:
        raise StudyFailed(f"training {artefact.name} (seed {run.seed}) failed: "
                          f"{type(err).__name__}: {err}") from err


def prepare(runs: list[Run], command: str, kl_coef: float | None = None,
            jobs: int = 1, algorithms: tuple = ("ppo",)) -> None:
    """Train and cache every artefact `command` needs at each seed (`needs`); write no file.
    Running the command afterwards only loads.

    With `jobs` 1 every artefact is computed here, in this process, each after its inputs:
    `Cache.get` calls the artefact's function in `runs/compute.py`, which calls the training
    loop, so a breakpoint in any of them fires. With `jobs` > 1, `jobs` worker processes train
    the seeds and cells side by side (runs.parallel), with the same bits as in one process."""
    leaves = partial(needs, command=command, kl_coef=kl_coef, algorithms=tuple(algorithms))
    if jobs > 1:
        train_in_parallel(runs, leaves, jobs, on_error=_training)
        return
    for run, artefact in artefact_graph(runs, leaves).values():
        with _training(run, artefact):
            run.cache.get(artefact, run.seed)
