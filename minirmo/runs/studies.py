"""The studies: each runs one experiment over several seeds and returns plain rows.

Every row carries `seed`, `method` ("bon"; "rl" for PPO; "rloo", "grpo") and the identity of
the proxy it optimized (`rm_params`, `rm_data`; the KL-penalty and policy-size studies add
`kl_coef`, `policy_params`), so rows of many seeds and proxies can be written to one CSV and
grouped again by `analysis`. A study trains whatever it needs through the runs' cache.
"""

import csv
import json
import math
import os
from dataclasses import asdict
from pathlib import Path

import torch
from tqdm.auto import tqdm

from minirmo.ensemble import OBJECTIVES
from minirmo.kl import bon_kl
from minirmo.runs.cache import Cache
from minirmo.runs.presets import Preset
from minirmo.runs.run import Run, check_device


def seed_runs(preset: Preset, out, device: str = "cpu", seeds=None,
              progress: bool = True) -> list[Run]:
    """One `Run` per seed (default: the preset's `default_seeds`), sharing one cache."""
    seeds = preset.default_seeds if seeds is None else list(seeds)
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds: give at least one seed, each once, got {seeds!r}")
    cache = Cache(Path(out) / "cache", check_device(device), progress)
    return [Run(preset, out, device, seed, progress, cache) for seed in seeds]


def log_spaced_ns(N: int, points: int = 24) -> list[int]:
    """About `points` distinct integers from 1 to N, evenly spaced in log n (N included)."""
    ns = {round(math.exp(math.log(N) * k / (points - 1))) for k in range(points)}
    return sorted(ns | {1, N})


def rm_rows(runs: list[Run]) -> list[dict]:
    """Size, data and validation loss/accuracy of the gold RM and every proxy, per seed; for
    the proxies also `test_loss` and `test_acc`, on the seed's test comparisons (the same
    held-out pairs for every proxy, `Run.test_comparisons`)."""
    rows = []
    for run in runs:
        gold, report = run.gold()
        rows.append({"seed": run.seed, "rm": "gold", "rm_params": gold.n_params,
                     "rm_data": report["pairs"], "val_loss": report["val_loss"],
                     "val_acc": report["val_acc"]})
        for size, pairs in tqdm(run.proxies(), desc=f"proxy RMs, seed {run.seed}",
                                disable=not run.progress):
            rm, report = run.proxy(size, pairs)
            test = run.proxy_test(size, pairs)
            rows.append({"seed": run.seed, "rm": "proxy", "rm_params": rm.n_params,
                         "rm_data": pairs, "val_loss": report["val_loss"],
                         "val_acc": report["val_acc"], "test_loss": test["loss"],
                         "test_acc": test["accuracy"]})
    return rows


def bon_rows(runs: list[Run], proxies=None) -> list[dict]:
    """Best-of-n against every proxy (default: `Run.bon_proxies`), per seed.

    For each proxy, one pool of N initial-policy samples per prompt is scored by the proxy and
    by the gold RM, and the unbiased estimator gives the proxy and gold score of best-of-n for
    log-spaced n ≤ N. `kl` is the analytic best-of-n KL, log n − (n − 1)/n, the paper's
    x-axis; `kl_exact` the exact KL with each prompt's pool as the reference distribution
    (`bon.pool_bon_kl`), `distinct` the share of distinct responses in the pools, and
    `kl_beirami` Beirami et al.'s estimate from the initial policy's probability of the kept
    response (`bon.pool_beirami_kl`).
    """
    rows = []
    for run in runs:
        ns = log_spaced_ns(run.preset.bon_pool)
        kl = bon_kl(ns)
        for size, pairs in tqdm(proxies or run.bon_proxies(), desc=f"best-of-n, seed {run.seed}",
                                disable=not run.progress):
            params, curve = run.proxy(size, pairs).model.n_params, run.bon(size, pairs, ns)
            rows += [{"seed": run.seed, "method": "bon", "rm_params": params, "rm_data": pairs,
                      "n": n, "kl": float(k), "proxy": float(p), "gold": float(g),
                      "kl_exact": float(e), "distinct": curve["distinct"],
                      "kl_beirami": float(b)}
                     for n, k, p, g, e, b in zip(ns, kl, curve["proxy"], curve["gold"],
                                                 curve["kl_exact"], curve["kl_beirami"],
                                                 strict=True)]
    return rows


def _rl_proxies(run: Run, proxies):
    return proxies or [(size, run.preset.proxy_data[-1]) for size in run.preset.proxy_sizes]


def reproduce_rl_proxies(preset: Preset, algorithm: str) -> list[tuple]:
    """The proxies `reproduce` runs `algorithm` against, all on the most data: PPO against
    every size; RLOO and GRPO against the smallest and the largest only, which keeps the tiny
    demo's 4 seeds within the time they took before (`minirmo rl --algorithm` runs every size)."""
    sizes = preset.proxy_sizes
    ends = sizes if algorithm == "ppo" or len(sizes) == 1 else [sizes[0], sizes[-1]]
    return [(size, preset.proxy_data[-1]) for size in ends]


def rl_method(algorithm: str) -> str:
    """The `method` of an RL algorithm's rows: "rl" for PPO (the paper's RL, as in every
    study, fits.csv and the laws), the algorithm's own name for "rloo" and "grpo"."""
    return "rl" if algorithm == "ppo" else algorithm


def rl_rows(runs: list[Run], proxies=None, kl_coef: float | None = None,
            algorithm: str = "ppo") -> list[dict]:
    """PPO (or `algorithm`: "rloo", "grpo") against every proxy (default: every size on the
    most data), per seed.

    Each row is one step: the sampled KL(π ‖ π_init) of that step's rollout and the mean
    proxy and gold scores of the same samples (relative to the initial policy), then the
    step's diagnostics (length, entropy, clip fraction, ...; see ppo.train_ppo; they differ
    between algorithms).
    """
    rows = []
    for run in runs:
        for size, pairs in tqdm(_rl_proxies(run, proxies), desc=f"RL, seed {run.seed}",
                                disable=not run.progress):
            params = run.proxy(size, pairs).model.n_params
            rows += [{"seed": run.seed, "method": rl_method(algorithm), "rm_params": params,
                      "rm_data": pairs}
                     | {k: record[k] for k in ("step", "kl", "proxy", "gold")}
                     | {k: v for k, v in record.items() if k != "samples"}
                     for record in run.rl(size, pairs, kl_coef, algorithm)]
    return rows


def rl_samples(runs: list[Run], proxies=None, kl_coef: float | None = None,
               algorithm: str = "ppo") -> list[str]:
    """The decoded samples RL logged, one line each, labelled with seed, proxy and step."""
    lines = []
    for run in runs:
        for size, pairs in _rl_proxies(run, proxies):
            params = run.proxy(size, pairs).model.n_params
            lines += [f"{algorithm}, seed {run.seed}, {params:,} params, {pairs} pairs, step "
                      f"{r['step']} (KL {r['kl']:.1f}): {text}"
                      for r in run.rl(size, pairs, kl_coef, algorithm)
                      for text in r.get("samples", [])]
    return lines


def kl_penalty_rows(runs: list[Run]) -> list[dict]:
    """RL against the smallest proxy on the most data at each of the preset's KL
    coefficients (`Preset.kl_coefs`), per seed."""
    preset = runs[0].preset
    proxy = [(preset.proxy_sizes[0], preset.proxy_data[-1])]
    return [row for coef in preset.kl_coefs for row in rl_rows(runs, proxy, kl_coef=coef)]


def policy_size_proxies(preset: Preset) -> list[tuple]:
    """The policy-size study's proxy: the middle size on the most data. Against the smallest
    proxy best-of-n peaks at n of about 15 from either policy, so that proxy's ceiling, not the
    policy, sets what each gains (docs/presets.md). (Each size costs a proxy trained on the
    second policy's samples and a PPO run of that policy.)"""
    return [(preset.proxy_sizes[len(preset.proxy_sizes) // 2], preset.proxy_data[-1])]


def policy_size_rows(runs: list[Run], bon: list[dict], rl: list[dict]) -> list[dict]:
    """Best-of-n and RL against the middle proxy size on the most data, for the preset's
    policy and for its second policy (`Preset.second_policy`, smaller or larger), both judged
    by the same gold RM (the paper's Section 3.4). The preset's own policy reuses the rows `bon`
    and `rl` already hold. (One size, not all: see `policy_size_proxies`.)

    Each row is a bon or rl row with two more columns: `policy_params` and `gold_init` (the
    initial policy's mean gold score, 0 for the preset's policy). Gold stays relative to each
    initial policy, so the curves compare what optimization gains.
    """
    most, proxies = runs[0].preset.proxy_data[-1], policy_size_proxies(runs[0].preset)
    rows = []
    for run in runs:
        chosen = {run.proxy(size, pairs).model.n_params for size, pairs in proxies}
        front = {"policy_params": run.policy().num_parameters(), "gold_init": 0.0}
        rows += [front | row for row in bon + rl
                 if row["seed"] == run.seed and row["rm_data"] == most
                 and row["rm_params"] in chosen]
        second = run.with_policy(run.preset.second_policy)
        front = {"policy_params": second.policy().num_parameters(),
                 "gold_init": second.initial_gold()}
        rows += [front | row for row in bon_rows([second], proxies) + rl_rows([second], proxies)]
    return rows


def ensemble_rows(runs: list[Run]) -> list[dict]:
    """Best-of-n and PPO against proxy ensembles (`Preset.ensembles`, see ensemble.py), per
    seed and label-noise level.

    Rows of objective "single" optimize one member alone (`member` says which; PPO runs
    against member 0 only, best-of-n against each); rows of "mean", "wco" and "uwo" optimize
    that combination of all members. `proxy` is the optimized objective's own score.
    """
    config, rows = runs[0].preset.ensemble_study, []
    ns = log_spaced_ns(runs[0].preset.bon_pool)
    kl = bon_kl(ns)
    for run in runs:
        params = run.get(run.member_artefact(config.size, config.pairs, 0.0, 0)).model.n_params
        for noise in tqdm(config.label_noise, desc=f"ensembles, seed {run.seed}",
                          disable=not run.progress):
            front = {"seed": run.seed, "label_noise": noise}
            identity = {"rm_params": params, "rm_data": config.pairs}
            curves = run.get(run.ensemble_bon_artefact(config, noise, tuple(ns)))
            runs_of = [("single", 1, k, c) for k, c in enumerate(curves["members"])]
            runs_of += [(o, config.members, None, curves[o]) for o in OBJECTIVES]
            for objective, members, member, curve in runs_of:
                rows += [front | {"objective": objective, "members": members, "member": member}
                         | identity | {"method": "bon", "n": n, "step": None, "kl": float(k),
                                       "proxy": float(p), "gold": float(g)}
                         for n, k, p, g in zip(ns, kl, curve["proxy"], curve["gold"],
                                               strict=True)]
            for objective in ("single", *OBJECTIVES):
                members, member = (1, 0) if objective == "single" else (config.members, None)
                rows += [front | {"objective": objective, "members": members, "member": member}
                         | identity | {"method": "rl", "n": None}
                         | {k: record[k] for k in ("step", "kl", "proxy", "gold")}
                         for record in run.get(run.ensemble_rl_artefact(config, noise,
                                                                        objective))]
    return rows


def disagreement_rows(runs: list[Run], samples: int = 2048) -> list[dict]:
    """Where the ensemble's members disagree: `samples` pool samples (the same for every seed's
    members) grouped by their number of praise words (the world's trap; `praise` 3 means 3 or
    more), per seed and noise level: how many, their mean gold score, the members' mean score
    and the members' disagreement (std across members, averaged over the group)."""
    config, rows = runs[0].preset.ensemble_study, []
    for run in runs:
        pool = run.pool()  # (prompts, N, seq_len)
        flat = pool[:, : max(1, samples // len(pool))].reshape(-1, pool.shape[-1])  # (S, seq)
        praise = torch.isin(flat[:, run.world.prompt_len:], run.world.praise_ids).sum(1)
        praise = praise.clamp(max=3)  # (S,)
        gold = run.gold().model.score(flat)  # (S,)
        for noise in config.label_noise:
            scores = torch.stack([run.get(artefact).model.score(flat)
                                  for artefact in run.member_artefacts(config, noise)])
            for count in range(4):
                group_rows = praise == count
                if group_rows.any():
                    rows.append({"seed": run.seed, "label_noise": noise, "praise": count,
                                 "samples": int(group_rows.sum()),
                                 "gold": gold[group_rows].mean().item(),
                                 "members_mean": scores[:, group_rows].mean().item(),
                                 "disagreement": scores[:, group_rows].std(0).mean().item()})
    return rows


def dpo_rows(runs: list[Run]) -> list[dict]:
    """Direct alignment: each of the preset's losses (`dpo_losses`) at each of its betas
    (`dpo_betas`), trained on the most comparisons (those the proxies learn from), per seed.

    Each row is one checkpoint: `seed, loss, beta, rm_data, step, kl, gold, implicit_acc`
    (the sampled KL(π ‖ π_init) and mean gold score of fresh samples, and the implicit reward's
    held-out accuracy), then `epoch`, `val_loss` and `train_loss` (see dpo.train_dpo).
    """
    rows = []
    for run in runs:
        pairs, preset = run.preset.proxy_data[-1], run.preset
        settings = [(loss, beta) for loss in preset.dpo_losses for beta in preset.dpo_betas]
        for loss, beta in tqdm(settings, desc=f"direct alignment, seed {run.seed}",
                               disable=not run.progress):
            rows += [{"seed": run.seed, "loss": loss, "beta": beta, "rm_data": pairs}
                     | {k: record[k] for k in ("step", "kl", "gold", "implicit_acc")} | record
                     for record in run.dpo(loss, beta, pairs)]
    return rows


def dpo_frontier_rows(runs: list[Run]) -> list[dict]:
    """Best-of-n and RL against the largest proxy on the most data: the frontiers that direct
    alignment is drawn beside. That proxy learned from the same comparisons, and in the shipped
    presets it has the policy's own shape (2 layers, 64 wide), as DPO's implicit reward has."""
    proxy = [(runs[0].preset.proxy_sizes[-1], runs[0].preset.proxy_data[-1])]
    return bon_rows(runs, proxy) + rl_rows(runs, proxy)


def write_csv(path: Path, rows: list[dict]) -> None:
    """Write `rows` to `path` atomically; the columns are every key, in first-seen order, and a
    row without a column leaves it empty."""
    columns = list(dict.fromkeys(key for row in rows for key in row))
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, path)


def write_config(runs: list[Run]) -> None:
    """config.json: the preset, its `--set` overrides, the device and seeds the folder's CSVs
    and figures come from, and every seed the folder's cache holds models of."""
    run = runs[0]
    run.out.mkdir(parents=True, exist_ok=True)
    with open(run.out / "config.json", "w") as f:
        json.dump({"preset": run.preset.name, "overrides": list(run.preset.overrides),
                   "seeds": [r.seed for r in runs],
                   "cached_seeds": run.cache.seeds(), "device": str(run.device),
                   "preset_config": asdict(run.preset)}, f, indent=2, default=str)
