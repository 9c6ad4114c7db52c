"""From rows to findings: grouping, seed means with bands, fits per seed and on the seed mean,
scaling with RM size, extrapolation and KL growth.

Rows come from `runs.studies` (every row carries `seed`, `method` and the proxy's identity);
nothing here trains or draws. A *curve* is one method against one proxy at one seed, in order
of n (best-of-n) or PPO step (RL). Across seeds, a curve is summarized by its **seed mean** at
each n or step, with the **min–max band** over seeds (with 3–5 seeds a min–max band is what
the data can honestly show; a t-interval on 3 points would be wider than the spread). A number
measured per seed is reported as an `Interval`: mean, min and max over seeds.
"""

import re
from typing import NamedTuple

import numpy as np

from minirmo import fit

CURVE = ("method", "rm_params", "rm_data")  # what identifies a curve, besides its seed
RL_METHODS = ("rl", "rloo", "grpo")  # PPO's rows are "rl" (runs.studies.rl_method)
FORMS = {"bon": (fit.fit_bon, fit.bon_form, fit.bon_peak)} | {
    method: (fit.fit_rl, fit.rl_form, fit.rl_peak) for method in RL_METHODS}
MEAN = "mean"  # the `seed` of a seed-mean row or fit


def group(rows, *keys) -> dict:
    """Rows grouped by the values of `keys`: {(v1, v2, ...): [row, ...]} in first-seen order."""
    groups = {}
    for row in rows:
        groups.setdefault(tuple(row[k] for k in keys), []).append(row)
    return groups


def step_column(method: str) -> str:
    """The column that orders a curve: n for best-of-n, the step for RL (any algorithm) and
    DPO."""
    return "n" if method == "bon" else "step"


def sqrt_kl(curve) -> np.ndarray:
    """d = sqrt(KL) of a curve's rows; a sampled (k1) KL can dip below 0, read as 0."""
    return np.sqrt(np.clip([r["kl"] for r in curve], 0, None))


class Interval(NamedTuple):
    """A number measured at each of several seeds: its mean, min and max over them."""

    mean: float
    lo: float
    hi: float
    seeds: int

    @classmethod
    def of(cls, values) -> "Interval":
        values = np.asarray(values, dtype=float)
        return cls(float(values.mean()), float(values.min()), float(values.max()), len(values))

    @classmethod
    def of_geometric(cls, values) -> "Interval":
        """Like `of`, with the geometric mean: for n of best-of-n, spread over decades."""
        values = np.asarray(values, dtype=float)
        return cls(float(np.exp(np.log(values).mean())), float(values.min()),
                   float(values.max()), len(values))

    def __format__(self, spec: str) -> str:
        """'mean [lo, hi]' with the number format of `spec` (a leading width pads the whole);
        a single seed prints its number alone."""
        align, width, number = re.fullmatch(r"([<>^]?)(\d*)(.*)", spec).groups()
        text = format(self.mean, number)
        if self.seeds > 1:
            text += f" [{self.lo:{number}}, {self.hi:{number}}]"
        return format(text, f"{align or '>'}{width}")


# --- seed means -------------------------------------------------------------------------------


def seed_mean(rows, keys=CURVE, columns=("kl", "proxy", "gold")) -> list[dict]:
    """One row per curve and n (or step): each of `columns` averaged over the seeds, with its
    min and max over seeds as `gold_lo`, `gold_hi`, ..., and `seed` = "mean". Rows without a
    `method` (rm.csv's) are grouped by `keys` alone."""
    out = []
    for key, curve_rows in group(rows, *keys).items():
        method = curve_rows[0].get("method")
        at_x = group(curve_rows, step_column(method)) if method else {(): curve_rows}
        for value, at in at_x.items():
            row = dict(zip(keys, key, strict=True)) | {"seed": MEAN, "seeds": len(at)}
            if method:
                row[step_column(method)] = value[0]
            for column in columns:
                values = [r[column] for r in at]
                row |= {column: float(np.mean(values)), f"{column}_lo": min(values),
                        f"{column}_hi": max(values)}
            out.append(row)
    return out


def seed_mean_at_kl(rows, keys=CURVE, points: int = 40) -> list[dict]:
    """RL curves averaged over seeds at common KL, not at common step: each seed's gold,
    linear in d = sqrt(KL) between its steps, is read at `points` values of d from 0 to the
    largest d that every seed reached; one row per point, with `kl`, the seed-mean `gold`,
    its min and max over seeds (`gold_lo`, `gold_hi`) and `seeds`. Seeds spend KL at different
    rates, so `seed_mean`'s mean KL at each step can go back and forth and its curve zigzag;
    this one's KL only increases. (Fits stay on `seed_mean`'s curves, one point per step.)"""
    out = []
    for key, curve_rows in group(rows, *keys).items():
        per_seed = []
        for seed_rows in group(curve_rows, "seed").values():
            d = sqrt_kl(seed_rows)
            order = np.argsort(d, kind="stable")  # a sampled KL can dip between steps
            per_seed.append((d[order], np.array([r["gold"] for r in seed_rows])[order]))
        grid = np.linspace(0.0, min(d[-1] for d, _ in per_seed), points)  # (points,)
        gold = np.array([np.interp(grid, d, g) for d, g in per_seed])  # (seeds, points)
        for i, x in enumerate(grid):
            out.append(dict(zip(keys, key, strict=True)) | {
                "seed": MEAN, "seeds": len(per_seed), "kl": float(x * x),
                "gold": float(gold[:, i].mean()), "gold_lo": float(gold[:, i].min()),
                "gold_hi": float(gold[:, i].max())})
    return out


def curves(rows, keys=CURVE) -> dict:
    """{(key..., seed): rows in order} for every curve in `rows` (seed-mean rows included)."""
    return group(rows, *keys, "seed")


# --- fits -------------------------------------------------------------------------------------


def fit_curve(curve, method: str) -> fit.Fit:
    """The method's functional form fitted to gold against d = sqrt(KL)."""
    return FORMS[method][0](sqrt_kl(curve), [r["gold"] for r in curve])


def fit_rows(rows, keys=CURVE) -> list[dict]:
    """fits.csv: the form fitted to every curve of every seed, then to every seed-mean curve
    (`seed` = "mean"), with its fitted peak d* = sqrt(KL*) and gold R*. A curve with fewer than
    two distinct points past d = 0 (a run of one or two PPO steps) has nothing to fit: no row."""
    out = []
    for key, curve in curves(rows + seed_mean(rows, keys), keys).items():
        identity = dict(zip((*keys, "seed"), key, strict=True))
        if len({d for d in sqrt_kl(curve) if d > 0}) < 2:
            continue
        result = fit_curve(curve, identity["method"])
        d_star, r_star = FORMS[identity["method"]][2](result.alpha, result.beta)
        out.append({"method": identity["method"], "seed": identity["seed"]} | identity
                   | {"alpha": result.alpha, "beta": result.beta, "r2": result.r2,
                      "peak_d": d_star, "peak_gold": r_star})
    return out


def most_data(rows) -> int:
    return max(r["rm_data"] for r in rows)


class Scaling(NamedTuple):
    """How one coefficient moves with log10(RM params) on the most data: the line fitted to
    the seed-mean curves' coefficients, and the slope fitted at each seed."""

    line: fit.ScalingFit
    slope: Interval
    spearman: float  # rank correlation of the seed-mean coefficient with RM size


def spearman(x, y) -> float:
    """Spearman's rank correlation (no ties expected: RM sizes are distinct)."""
    rx, ry = np.argsort(np.argsort(x)), np.argsort(np.argsort(y))
    return float(np.corrcoef(rx, ry)[0, 1])


def scaling(fits) -> dict:
    """{"alpha_bon": Scaling, ...} for each method and coefficient, on the most data."""
    out = {}
    for method in ("bon", "rl"):
        rows = [r for r in fits if r["method"] == method]
        if not rows:
            continue
        rows = [r for r in rows if r["rm_data"] == most_data(rows)]
        by_seed = group(rows, "seed")
        if len({r["rm_params"] for r in rows}) < 2:
            continue
        mean_rows = sorted(by_seed[(MEAN,)], key=lambda r: r["rm_params"])
        for coef in ("alpha", "beta"):
            def line(seed_rows, coef=coef):
                return fit.fit_scaling([r["rm_params"] for r in seed_rows],
                                       [r[coef] for r in seed_rows])
            per_seed = [line(r).slope for (s,), r in by_seed.items() if s != MEAN]
            out[f"{coef}_{method}"] = Scaling(
                line(mean_rows), Interval.of(per_seed),
                spearman([r["rm_params"] for r in mean_rows], [r[coef] for r in mean_rows]))
    return out


# --- extrapolation and KL growth ----------------------------------------------------------------


def extrapolation_rows(bon, fraction: float = 1 / 16) -> list[dict]:
    """Fit the best-of-n form on n ≤ fraction·N and compare its prediction at n = N, for every
    curve of every seed and every seed-mean curve; `peak_gain` is the curve's best gold."""
    out = []
    for (_, params, data, seed), curve in curves(bon + seed_mean(bon)).items():
        N = curve[-1]["n"]
        early = [r for r in curve if r["n"] <= fraction * N]
        alpha, beta = fit_curve(early, "bon")
        predicted = float(fit.bon_form(np.sqrt(curve[-1]["kl"]), alpha, beta))
        out.append({"seed": seed, "rm_params": params, "rm_data": data, "alpha": alpha,
                    "beta": beta, "fit_up_to_n": early[-1]["n"], "n": N,
                    "predicted_gold": predicted,
                    "observed_gold": curve[-1]["gold"], "error": predicted - curve[-1]["gold"],
                    "peak_gain": max(r["gold"] for r in curve)})
    return out


def kl_exponent(curve) -> float:
    """k of KL ≈ c·step^k fitted to one RL curve (the KL of step s is measured after s
    updates, so step 0, at KL 0, is left out by fit_power); NaN for a curve with fewer than
    two such points (a run of one or two PPO steps)."""
    if sum(r["step"] > 0 and r["kl"] > 0 for r in curve) < 2:
        return float("nan")
    return fit.fit_power([r["step"] for r in curve], [r["kl"] for r in curve])[1]


def peak(curve) -> dict:
    """The row where a curve's gold is highest."""
    return max(curve, key=lambda r: r["gold"])


def per_seed(rows, measure, keys=CURVE, geometric: bool = False) -> dict:
    """{curve key: Interval of measure(curve) over the seeds}; seed-mean rows are ignored.
    With `geometric`, the centre is the geometric mean (for n, which spans decades)."""
    values = {}
    for key, curve in curves([r for r in rows if r["seed"] != MEAN], keys).items():
        values.setdefault(key[:-1], []).append(measure(curve))
    summarize = Interval.of_geometric if geometric else Interval.of
    return {key: summarize(v) for key, v in values.items()}


# --- direct alignment (DPO, IPO) ---------------------------------------------------------------

DPO_CURVE = ("loss", "beta", "rm_data")  # what identifies a direct-alignment curve
DPO_COLUMNS = ("epoch", "kl", "gold", "implicit_acc", "train_loss")


def dpo_seed_mean(rows) -> list[dict]:
    """`seed_mean` of dpo.csv's rows: one row per (loss, beta, data) and step."""
    mean = seed_mean([{"method": "dpo"} | r for r in rows], ("method", *DPO_CURVE), DPO_COLUMNS)
    return [{k: v for k, v in r.items() if k != "method"} for r in mean]


def fittable(d) -> bool:
    """Whether a curve has the two distinct d > 0 that a two-coefficient form needs (a run of
    a few steps may have only one checkpoint after step 0)."""
    d = np.asarray(d)
    return np.unique(d[d > 0]).size >= 2


def dpo_fit_rows(rows) -> list[dict]:
    """The RL form d(α − β log d) and, to compare, the quadratic d(α − β d) (the best-of-n
    form) fitted to gold against d = sqrt(KL) of every direct-alignment curve that is
    `fittable`, per seed and on the seed mean; with the RL form's peak. `fit_alpha` and
    `fit_beta` are the form's coefficients (`beta` stays the DPO/IPO β)."""
    out = []
    for key, curve in group(rows + dpo_seed_mean(rows), *DPO_CURVE, "seed").items():
        d, gold = sqrt_kl(curve), [r["gold"] for r in curve]
        if not fittable(d):
            continue
        rl, quadratic = fit.fit_rl(d, gold), fit.fit_bon(d, gold)
        peak_d, peak_gold = fit.rl_peak(rl.alpha, rl.beta)
        out.append(dict(zip((*DPO_CURVE, "seed"), key, strict=True))
                   | {"fit_alpha": rl.alpha, "fit_beta": rl.beta, "r2": rl.r2,
                      "r2_quadratic": quadratic.r2, "peak_d": peak_d, "peak_gold": peak_gold})
    return out


# --- the laws: what the paper preset is checked against ---------------------------------------


def past_peak(curve, drop: float = 0.05) -> bool:
    """Whether a curve has passed its gold peak: its last point sits at least `drop` of the
    peak gain below the peak."""
    best = peak(curve)["gold"]
    return curve[-1]["gold"] <= best - drop * max(best, 1e-9)


def gold_at_kl(curve, kl: float) -> float:
    """A curve's gold at `kl`, interpolated linearly in KL (held flat past its ends)."""
    return float(np.interp(kl, [r["kl"] for r in curve], [r["gold"] for r in curve]))


def penalty_gap(curves_by_coef: dict) -> dict:
    """{kl_coef: end gold of the penalized run − the unpenalized run's gold at the same KL}
    for one seed's KL-penalty runs ({coef: curve}); 0 means the penalty only stopped early."""
    free = curves_by_coef[0.0]
    return {coef: curve[-1]["gold"] - gold_at_kl(free, curve[-1]["kl"])
            for coef, curve in curves_by_coef.items() if coef > 0}


def loss_gap_by_data(rm_rows) -> dict:
    """{pairs: the largest |test loss − ln 2| over proxy sizes}, on the seed-mean losses."""
    losses = seed_mean([r for r in rm_rows if r["rm"] == "proxy"], ("rm", "rm_params", "rm_data"),
                       ("test_loss",))
    gaps = {}
    for r in losses:
        gaps[r["rm_data"]] = max(gaps.get(r["rm_data"], 0.0), abs(r["test_loss"] - np.log(2)))
    return dict(sorted(gaps.items()))
