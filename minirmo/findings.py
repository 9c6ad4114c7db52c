"""The findings a preset must show, each checked on one seed's rows.

A `Finding` is a claim about the world ("the smallest proxy overoptimizes under best-of-n")
with a check that reads one seed's rows and says whether it holds there, with the figures
that decide it. The test suite pins the `pinned` findings on one seed of the `test` preset;
`report` prints each finding as "holds in k of n seeds"; `benchmarks/seed_robustness.py`
checks them at every seed of a list and fails if a pinned one fails at any. One definition
serves all three. Findings that are not pinned are reported as measured: they are where the
toy and the paper part ways at some seeds.

`rows` is a dict of one seed's rows per study: "rm", "bon", "rl", "kl_penalty" and "dpo" (see
`runs.studies`); a finding whose study is missing is skipped.
"""

from collections.abc import Callable
from typing import NamedTuple

from minirmo import fit
from minirmo.analysis import fittable, group, most_data, peak, sqrt_kl


class Finding(NamedTuple):
    name: str
    statement: str
    needs: tuple  # the studies it reads
    check: Callable  # rows -> (holds: bool, figures: str)
    pinned: bool = True  # the suite pins it, so it must hold at every seed the script checks


def smooth(values, width: int = 3) -> list[float]:
    """Moving average over the last `width` PPO steps (each step's scores are the means of one
    rollout batch, so single steps are noisy)."""
    return [sum(values[max(0, i - width + 1): i + 1]) / len(values[max(0, i - width + 1): i + 1])
            for i in range(len(values))]


def _cells(rows) -> dict:
    """{(rm_params, rm_data): curve} for one method's rows of one seed."""
    return group(rows, "rm_params", "rm_data")


def _on_most_data(rows) -> dict:
    """{rm_params: curve} of the proxies on the most comparisons, smallest first."""
    cells, most = _cells(rows), most_data(rows)
    return {params: cells[params, most] for params in sorted(p for p, d in cells if d == most)}


def _smallest_and_largest(rows):
    """The curves of the smallest and the largest proxy on the most data."""
    curves = list(_on_most_data(rows).values())
    return curves[0], curves[-1]


def _falls(gold, proxy) -> tuple[bool, str]:
    """Gold peaks before the end, gains > 0.2 (std of the initial policy's gold) before it,
    loses at least 10% of that gain by the end, while the proxy ends above its value at the
    gold peak."""
    top = max(range(len(gold)), key=gold.__getitem__)
    gain, lost = gold[top] - gold[0], gold[top] - gold[-1]
    holds = (top < len(gold) - 1 and gain > 0.2 and lost >= 0.1 * gain
             and proxy[-1] > proxy[top])
    return holds, f"gain {gain:+.2f}, then loses {lost:.2f} ({lost / max(gain, 1e-9):.0%})"


def gold_agrees(rows):
    acc = next(r["val_acc"] for r in rows["rm"] if r["rm"] == "gold")
    return acc >= 0.80, f"{acc:.1%}"


def proxies_learn(rows):
    proxies = [r for r in rows["rm"] if r["rm"] == "proxy"]
    most = most_data(proxies)
    worst = min(r["val_acc"] for r in proxies if r["rm_data"] == most)
    return worst > 0.7, f"lowest val acc {worst:.2f}"


def bon_proxy_rises(rows):
    cells = _cells(rows["bon"]).values()
    rising = sum(all(b["proxy"] >= a["proxy"] - 1e-9 for a, b in zip(c, c[1:], strict=False))
                 for c in cells)
    return rising == len(cells), f"{rising}/{len(cells)} curves"


def bon_smallest_overoptimizes(rows):
    small, _ = _smallest_and_largest(rows["bon"])
    holds, figures = _falls([r["gold"] for r in small], [r["proxy"] for r in small])
    return holds, f"peak at n = {peak(small)['n']:,}, {figures}"


def bon_largest_higher(rows):
    small, large = _smallest_and_largest(rows["bon"])
    (s, b) = peak(small), peak(large)
    return b["gold"] > s["gold"], f"peak gold {b['gold']:.2f} vs {s['gold']:.2f}"


def bon_largest_later(rows):
    small, large = _smallest_and_largest(rows["bon"])
    (s, b) = peak(small), peak(large)
    return b["n"] > s["n"], f"peak at n = {b['n']:,} vs {s['n']:,}"


def rl_spends_kl(rows):
    curves = _cells(rows["rl"]).values()
    start = max(abs(c[0]["kl"]) for c in curves)
    end = min(c[-1]["kl"] for c in curves)
    return start == 0 and end > 3, f"KL from {start:.1f} to at least {end:.1f} nats"


def rl_proxy_rises(rows):
    rises = [smooth([r["proxy"] for r in c]) for c in _cells(rows["rl"]).values()]
    least = min(p[-1] - p[min(2, len(p) - 1)] for p in rises)  # past the smoothing's ramp
    return least > 0.5, f"smoothed proxy rises by at least {least:.2f}"


def smoothed_peak(curve) -> tuple[list[float], int]:
    """An RL curve's smoothed gold and the index of its peak."""
    gold = smooth([r["gold"] for r in curve])
    return gold, max(range(len(gold)), key=gold.__getitem__)


def rl_peaks_and_falls(curve) -> tuple[bool, str]:
    gold, top = smoothed_peak(curve)
    holds, figures = _falls(gold, smooth([r["proxy"] for r in curve]))
    return holds, f"smoothed gold peaks at step {curve[top]['step']}, {figures}"


def rl_smallest_overoptimizes(rows):
    return rl_peaks_and_falls(_smallest_and_largest(rows["rl"])[0])


def rl_overoptimizes(rows):
    falls = {params: rl_peaks_and_falls(curve)[0]
             for params, curve in _on_most_data(rows["rl"]).items()}
    fallen = [f"{params:,}" for params, holds in falls.items() if holds]
    return 2 * len(fallen) >= len(falls), (f"{len(fallen)} of {len(falls)} sizes "
                                           f"({', '.join(fallen) or 'none'})")


def rl_form_bends(rows):
    holds, figures = True, []
    for params, curve in _on_most_data(rows["rl"]).items():
        d = sqrt_kl(curve)
        if not fittable(d):
            holds = False
            figures.append(f"{params:,}: too few steps to fit")
            continue
        form = fit.fit_rl(d, [r["gold"] for r in curve])
        holds &= form.beta > 1e-6  # above roundoff: a straight line fits beta ~ 1e-16
        peak_d = fit.rl_peak(form.alpha, form.beta)[0]
        figures.append(f"{params:,}: beta {form.beta:.3f}, peak at KL {peak_d ** 2:.3g} "
                       f"(the run ends at {curve[-1]['kl']:.3g})")
    return holds, "; ".join(figures)


def rl_largest_later_higher(rows):
    peaks = []
    for curve in _smallest_and_largest(rows["rl"]):
        gold, top = smoothed_peak(curve)
        peaks.append((gold[top], curve[top]["kl"]))
    (s, ks), (b, kb) = peaks
    return b > s and kb > ks, f"smoothed peak gold {b:.2f} at KL {kb:.1f} vs {s:.2f} at {ks:.1f}"


def kl_penalty_holds_kl(rows):
    by_coef = group(rows["kl_penalty"], "kl_coef")
    coefs = sorted(c for (c,) in by_coef)
    first, last = by_coef[coefs[0],][-1]["kl"], by_coef[coefs[-1],][-1]["kl"]
    return last < first / 2, f"final KL {last:.1f} at {coefs[-1]:g} vs {first:.1f} at {coefs[0]:g}"


def ensemble_outcomes(rows, method: str) -> dict:
    """{(label_noise, objective): (peak gold, gold at the end, gold lost between them)} for one
    seed's ensembles rows of one method (RL: gold smoothed over steps); "single" is the mean
    over the members optimized alone (PPO: member 0 only)."""
    outcomes = {}
    for (noise, objective), curves in group([r for r in rows if r["method"] == method],
                                            "label_noise", "objective").items():
        golds = [[r["gold"] for r in c] for c in group(curves, "member").values()]
        golds = [smooth(g) if method == "rl" else g for g in golds]
        outcomes[noise, objective] = (sum(max(g) for g in golds) / len(golds),
                                      sum(g[-1] for g in golds) / len(golds),
                                      sum(max(g) - g[-1] for g in golds) / len(golds))
    return outcomes


def _ensemble_beats_single(method: str, objectives: tuple):
    def check(rows):
        losses = {key: lost for key, (_, _, lost) in
                  ensemble_outcomes(rows["ensembles"], method).items()}
        noises = sorted({noise for noise, _ in losses})
        holds = all(losses[n, o] < losses[n, "single"] for n in noises for o in objectives)
        return holds, "; ".join(
            f"{n:.0%} noise: single loses {losses[n, 'single']:.2f}, "
            + ", ".join(f"{o} {losses[n, o]:.2f}" for o in objectives) for n in noises)
    return check


def ensembles_agree_on_the_hack(rows):
    at = {r["praise"]: r for r in rows["disagreement"] if r["label_noise"] == 0}
    if not {0, 2, 3} <= at.keys():
        return False, "needs a 0% noise level and pool samples with 0, 2 and 3+ praise words"
    gush, plain, none = at[3], at[2], at[0]
    holds = (gush["disagreement"] < none["disagreement"]
             and gush["members_mean"] > plain["members_mean"] and gush["gold"] < plain["gold"])
    return holds, (f"disagreement {gush['disagreement']:.2f} on 3+ praise words vs "
                   f"{none['disagreement']:.2f} on none; members' mean {gush['members_mean']:+.2f}"
                   f" vs {plain['members_mean']:+.2f} on 2, gold {gush['gold']:+.2f} vs "
                   f"{plain['gold']:+.2f}")


# --- direct alignment (rows["dpo"]: one curve per loss and beta, on the most comparisons) ------


def _dpo_curves(rows) -> dict:
    """{(loss, beta): curve} of one seed's direct-alignment rows."""
    return group(rows["dpo"], "loss", "beta")


def _betas(curves, loss) -> list:
    return sorted(beta for name, beta in curves if name == loss)


def dpo_smallest_beta_overoptimizes(rows):
    curves = _dpo_curves(rows)
    beta = _betas(curves, "dpo")[0]
    curve = curves["dpo", beta]
    gold, top = smoothed_peak(curve)
    holds, figures = _falls(gold, [-r["train_loss"] for r in curve])  # the loss must fall
    return holds, (f"beta {beta:g}: smoothed gold peaks at epoch {curve[top]['epoch']:.2f} "
                   f"(KL {curve[top]['kl']:.1f}), {figures}; training loss "
                   f"{curve[top]['train_loss']:.3f} there, {curve[-1]['train_loss']:.3f} at "
                   "the end")


def _most_kl(curve) -> float:
    return max(r["kl"] for r in curve)


def dpo_largest_beta_less_kl(rows):
    curves, holds, figures = _dpo_curves(rows), True, []
    for loss in dict.fromkeys(name for name, _ in curves):
        betas = _betas(curves, loss)
        small, large = curves[loss, betas[0]], curves[loss, betas[-1]]
        holds &= _most_kl(large) < _most_kl(small) / 2
        figures.append(f"{loss} {_most_kl(large):.1f} vs {_most_kl(small):.1f}")
    return holds, "most KL at the largest vs the smallest beta: " + ", ".join(figures)


def dpo_kl_falls_with_beta(rows):
    curves, holds, figures = _dpo_curves(rows), True, []
    for loss in dict.fromkeys(name for name, _ in curves):
        kl = [_most_kl(curves[loss, b]) for b in _betas(curves, loss)]
        holds &= all(b < a for a, b in zip(kl, kl[1:], strict=False))
        figures.append(f"{loss} " + " > ".join(f"{k:.1f}" for k in kl))
    return holds, "most KL from the smallest beta up: " + ", ".join(figures)


def dpo_peaks_in_first_epoch(rows):
    curves = _dpo_curves(rows)
    curve = curves["dpo", _betas(curves, "dpo")[0]]
    top = smoothed_peak(curve)[1]
    return curve[top]["epoch"] <= 1, f"smoothed gold peaks at epoch {curve[top]['epoch']:.2f}"


def dpo_accuracy_does_not_predict_gold(rows):
    curves, holds, figures = _dpo_curves(rows), True, []
    for loss in dict.fromkeys(name for name, _ in curves):
        betas = _betas(curves, loss)
        accurate = max(betas, key=lambda b: curves[loss, b][-1]["implicit_acc"])
        best = max(betas, key=lambda b: max(smoothed_peak(curves[loss, b])[0]))
        holds &= accurate != best
        figures.append(f"{loss}: most accurate at beta {accurate:g} "
                       f"({curves[loss, accurate][-1]['implicit_acc']:.1%}), highest gold peak "
                       f"at beta {best:g}")
    return holds, "; ".join(figures)


def dpo_rl_form_beats_quadratic(rows):
    curves = _dpo_curves(rows)
    beta = _betas(curves, "dpo")[0]
    curve = curves["dpo", beta]
    d, gold = sqrt_kl(curve), [r["gold"] for r in curve]
    if not fittable(d):
        return False, f"beta {beta:g}: too few checkpoints to fit"
    rl, quadratic = fit.fit_rl(d, gold).r2, fit.fit_bon(d, gold).r2
    return rl > quadratic, f"beta {beta:g}: R2 {rl:.2f} (RL form) vs {quadratic:.2f} (quadratic)"


FINDINGS = [
    Finding("gold_agrees", "the gold RM agrees with the hidden utility on >= 80% of held-out "
            "broad pairs", ("rm",), gold_agrees),
    Finding("proxies_learn", "every proxy on the most data beats chance: val acc > 0.7",
            ("rm",), proxies_learn),
    Finding("bon_proxy_rises", "best-of-n proxy score never decreases with n", ("bon",),
            bon_proxy_rises),
    Finding("bon_smallest_overoptimizes", "best-of-n, most data: the smallest proxy's gold "
            "peaks and loses >= 10% of its gain by n = N", ("bon",), bon_smallest_overoptimizes),
    Finding("bon_largest_higher", "best-of-n, most data: the largest proxy's gold peaks higher "
            "than the smallest's", ("bon",), bon_largest_higher),
    # not pinned: in the test preset both proxies on 4,000 comparisons often peak at the same
    # point of the n grid (13 or 18): "later" held at only 3 of seeds 0-4, "higher" at all 5
    Finding("bon_largest_later", "best-of-n, most data: the largest proxy's gold peaks at a "
            "larger n than the smallest's", ("bon",), bon_largest_later, pinned=False),
    Finding("rl_spends_kl", "PPO starts at KL 0 and spends more than 3 nats", ("rl",),
            rl_spends_kl),
    Finding("rl_proxy_rises", "PPO raises every proxy's score by more than 0.5", ("rl",),
            rl_proxy_rises),
    # not pinned since 2026-12-06: on an AVX2-only CPU it failed at seed 4 of `test` (gold
    # still rising near PPO's last step against both sizes) and of `tiny`: 7 of 8, 4 of 5 seeds
    Finding("rl_overoptimizes", "RL, most data: against at least half the proxy sizes the "
            "gold peaks and loses >= 10% of its gain", ("rl",), rl_overoptimizes,
            pinned=False),
    Finding("rl_form_bends", "RL, most data: against every size the RL form d(alpha - beta "
            "log d) fitted to gold has beta > 0 (gold's gain per unit of d shrinks: the form "
            "predicts a peak, maybe past the run's end)", ("rl",), rl_form_bends),
    Finding("rl_smallest_overoptimizes", "RL, most data: the smallest proxy's gold peaks and "
            "loses >= 10% of its gain", ("rl",), rl_smallest_overoptimizes, pinned=False),
    Finding("rl_largest_later_higher", "RL, most data: the largest proxy's gold peaks at a "
            "larger KL and higher than the smallest's", ("rl",), rl_largest_later_higher,
            pinned=False),
    Finding("kl_penalty_holds_kl", "the largest KL penalty ends at less than half the "
            "unpenalized KL", ("kl_penalty",), kl_penalty_holds_kl),
    Finding("ensembles_agree_on_the_hack", "ensembles, no label noise: the members score "
            "gushing reviews (3+ praise words) above two-praise ones, which gold prefers, and "
            "disagree less on them than on reviews without praise", ("disagreement",),
            ensembles_agree_on_the_hack),
    Finding("ensembles_bon_conservative", "ensembles, best-of-n, at every noise level: WCO and "
            "UWO each lose less gold from peak to n = N than a member alone (mean over "
            "members)", ("ensembles",), _ensemble_beats_single("bon", ("wco", "uwo")),
            pinned=False),
    Finding("ensembles_bon_mean", "ensembles, best-of-n, at every noise level: the mean "
            "loses less gold than a member alone", ("ensembles",),
            _ensemble_beats_single("bon", ("mean",)), pinned=False),
    Finding("ensembles_rl_conservative", "ensembles, PPO, at every noise level: WCO and UWO "
            "each lose less gold from their smoothed peak to the last step than member 0 "
            "alone", ("ensembles",), _ensemble_beats_single("rl", ("wco", "uwo")),
            pinned=False),
    Finding("dpo_smallest_beta_overoptimizes", "DPO at the smallest beta: gold peaks and loses "
            ">= 10% of its gain while the training loss keeps falling", ("dpo",),
            dpo_smallest_beta_overoptimizes),
    Finding("dpo_largest_beta_less_kl", "direct alignment, every loss: the largest beta spends "
            "less than half the KL of the smallest", ("dpo",), dpo_largest_beta_less_kl),
    Finding("dpo_kl_falls_with_beta", "direct alignment, every loss: each larger beta spends "
            "less KL", ("dpo",), dpo_kl_falls_with_beta),
    Finding("dpo_peaks_in_first_epoch", "DPO at the smallest beta: gold peaks within the first "
            "epoch", ("dpo",), dpo_peaks_in_first_epoch, pinned=False),
    # not pinned since 2026-12-06: on an AVX2-only CPU it failed at seed 2 of `test` and seeds
    # 0 and 3 of `tiny` (the most accurate beta was also the best): 7 of 8, 3 of 5 seeds
    Finding("dpo_accuracy_does_not_predict_gold", "direct alignment, every loss: the beta with "
            "the most accurate implicit reward is not the one with the highest gold peak",
            ("dpo",), dpo_accuracy_does_not_predict_gold, pinned=False),
    Finding("dpo_rl_form_beats_quadratic", "DPO at the smallest beta: the RL form "
            "d(alpha - beta log d) fits gold against d better than the quadratic", ("dpo",),
            dpo_rl_form_beats_quadratic, pinned=False),
]


def check(rows: dict, findings=FINDINGS) -> dict:
    """{finding name: (holds, figures)} for one seed's rows, for each finding whose studies
    are in `rows`."""
    return {f.name: f.check(rows) for f in findings if all(rows.get(s) for s in f.needs)}


def by_seed(studies: dict) -> dict:
    """{seed: {study: that seed's rows}} from {study: rows of many seeds}."""
    seeds = sorted({r["seed"] for rows in studies.values() for r in rows})
    return {seed: {name: [r for r in rows if r["seed"] == seed]
                   for name, rows in studies.items()} for seed in seeds}
