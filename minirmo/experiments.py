"""The paper's experiments over a preset, with every trained model and sample pool cached on disk.

A *preset* fixes everything an experiment needs: the world, the policy and its SFT, the gold
RM, the grid of proxy RMs (sizes × numbers of comparisons) and the best-of-n pool size.
``tiny`` runs in a couple of minutes on a laptop CPU; ``paper`` is the full sweep.

`Run` owns an output folder. Every artefact (SFT policy, gold RM, the proxies' comparisons,
each proxy, the best-of-n pool, each RL run) is computed on first use and saved under
``DIR/cache/`` with an atomic rename, so an interrupted sweep loses at most the model it was
training, and a second run retrains nothing.
Each artefact draws its randomness from its own generator, seeded by the run's seed and the
artefact's name: the numbers do not depend on the order things were computed in.
"""

import copy
import csv
import json
import math
import os
import zlib
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch
from tqdm.auto import tqdm

from minirmo.bon import bon_estimate
from minirmo.kl import bon_kl
from minirmo.policy import PolicyConfig, SFTConfig, build_policy, sample_pool, sft
from minirmo.ppo import PPOConfig, train_ppo
from minirmo.reward import (
    BTConfig,
    GoldConfig,
    RewardModel,
    RMConfig,
    gold_comparisons,
    initial_samples,
    train_gold,
    train_proxy,
)
from minirmo.world import World, WorldConfig


@dataclass
class Preset:
    name: str
    proxy_sizes: list  # RMConfig of every proxy size, smallest first
    proxy_data: list  # numbers of comparisons, smallest first
    bon_pool: int  # N: samples per prompt in the best-of-n pool
    world: WorldConfig = field(default_factory=WorldConfig)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    sft: SFTConfig = field(default_factory=SFTConfig)
    gold: GoldConfig = field(default_factory=GoldConfig)
    proxy_train: BTConfig = field(default_factory=BTConfig)
    label_noise: float = 0.0
    ppo: PPOConfig = field(default_factory=PPOConfig)
    calibration_samples: int = 4096  # initial-policy samples every RM is centred on
    # the policy-size study (the paper's Section 3.4) repeats the RM-size study with this one;
    # None skips the study
    large_policy: PolicyConfig | None = field(default_factory=lambda: PolicyConfig(3, 128))

    def __post_init__(self):
        if not self.proxy_sizes:
            raise ValueError("proxy_sizes must name at least one RMConfig")
        for name, values in (("proxy_data", self.proxy_data), ("bon_pool", [self.bon_pool]),
                             ("calibration_samples", [self.calibration_samples])):
            if not values or any(isinstance(v, bool) or not isinstance(v, int) or v < 2
                                 for v in values):
                raise ValueError(f"{name} must be integers >= 2, got {values!r}")
        if not 0 <= self.label_noise < 1:
            raise ValueError(f"label_noise must be in [0, 1), got {self.label_noise!r}")


PRESETS = {
    # used by the tests: seconds
    "test": Preset(
        "test", proxy_sizes=[RMConfig(1, 16, 2), RMConfig(2, 32)], proxy_data=[1000, 4000],
        bon_pool=1024, sft=SFTConfig(corpus_size=8_000),
        gold=GoldConfig(rm=RMConfig(2, 64), pairs=8_000, train=BTConfig(epochs=3)),
        ppo=PPOConfig(steps=24, batch_size=128), large_policy=PolicyConfig(3, 96)),
    # the quick demo: a few minutes on 2 CPU cores. PPO takes half-size batches at 3x the
    # default lr, so that 30 steps reach the overoptimized regime of the small proxies at a
    # third of the default's cost (at batch 128 and lr 1e-4 their gold was still rising at
    # step 40). It skips the policy-size study, which would take `reproduce` from about 3.5 to
    # 6.5 minutes; the test and paper presets run it.
    "tiny": Preset(
        "tiny", proxy_sizes=[RMConfig(1, 16, 2), RMConfig(2, 32), RMConfig(2, 64)],
        proxy_data=[2000, 8000], bon_pool=4096,
        ppo=PPOConfig(steps=30, batch_size=128, lr=3e-4), large_policy=None),
    # the full sweep: 8 sizes over 2.7 orders of magnitude, data across the threshold
    "paper": Preset(
        "paper",
        proxy_sizes=[RMConfig(1, 4, 1), RMConfig(1, 8, 2), RMConfig(1, 16, 2), RMConfig(2, 24, 2),
                     RMConfig(2, 32), RMConfig(2, 48), RMConfig(2, 64), RMConfig(3, 96)],
        proxy_data=[250, 500, 1000, 2000, 4000, 8000, 16000, 32000], bon_pool=16384,
        # lr 1e-3: at the default 3e-3 this 3-layer gold once stalled at 70% agreement
        gold=GoldConfig(rm=RMConfig(3, 96), pairs=40_000, train=BTConfig(epochs=4, lr=1e-3))),
}


# Part of every cache file's name: bump it when a change to the code changes what an artefact
# holds, so that an old cache folder is never silently reused.
CACHE_VERSION = 2


def get_preset(name: str) -> Preset:
    if name not in PRESETS:
        raise ValueError(f"preset: unknown preset {name!r}; choose one of {sorted(PRESETS)}")
    return PRESETS[name]


def check_device(device: str) -> torch.device:
    """`device` as a torch.device, or a ValueError naming it when it is not there."""
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise ValueError(f"device: {device!r} is not a device (try 'cpu' or 'cuda')") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device: {device!r} requested but CUDA is not available here")
    if dev.type == "cuda" and (dev.index or 0) >= torch.cuda.device_count():
        raise ValueError(f"device: {device!r} does not exist: this machine has "
                         f"{torch.cuda.device_count()} CUDA device(s)")
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"device: {device!r} is not supported (use 'cpu' or 'cuda')")
    return dev


def log_spaced_ns(N: int, points: int = 24) -> list[int]:
    """About `points` distinct integers from 1 to N, evenly spaced in log n (N included)."""
    ns = {round(math.exp(math.log(N) * k / (points - 1))) for k in range(points)}
    return sorted(ns | {1, N})


class Run:
    """One output folder: cached models and pools for `preset`, on `device`, with `seed`."""

    def __init__(self, preset: Preset, out: str | Path, device: str = "cpu", seed: int = 0,
                 progress: bool = True):
        self.preset, self.seed, self.progress = preset, seed, progress
        self.device = check_device(device)
        self.out = Path(out)
        self.cache = self.out / "cache"
        self.cache.mkdir(parents=True, exist_ok=True)
        self.world = World(preset.world, self.device)
        self.policy_config = preset.policy
        self.judge = self  # the run whose gold RM is the truth (another one after with_policy)
        self._memo = {}
        with open(self.out / "config.json", "w") as f:
            json.dump({"preset": asdict(preset), "device": str(self.device), "seed": seed},
                      f, indent=2, default=str)

    def generator(self, name: str) -> torch.Generator:
        """A CPU generator for artefact `name`, also seeding torch's global RNG (model init)."""
        seed = zlib.crc32(f"{self.seed}/{name}".encode())
        torch.manual_seed(seed)
        return torch.Generator().manual_seed(seed)

    def _cached(self, name: str, compute, recipe=()):
        """Load `name` from the cache, or compute it, save it atomically, and return it.

        `recipe` is everything the artefact depends on; its hash is part of the file name, so
        changing a preset never silently reuses a model trained under other settings.
        """
        name = f"{name}-{zlib.crc32(repr((CACHE_VERSION, recipe)).encode()):08x}"
        if name in self._memo:
            return self._memo[name]
        path = self.cache / f"{name}.pt"
        if path.exists():
            value = torch.load(path, map_location=self.device, weights_only=True)
        else:
            value = compute(self.generator(name))
            tmp = path.with_suffix(".tmp")
            torch.save(value, tmp)
            os.replace(tmp, path)
        self._memo[name] = value
        return value

    def with_policy(self, config: PolicyConfig) -> "Run":
        """This run with another initial policy, judged by this run's gold RM.

        Everything that depends on the policy (its SFT, the proxies trained on its samples, the
        pool, RL) gets cache names of its own. The gold RM stays this run's, re-centred so that
        the new initial policy scores 0 on average; its scale, and so its units, are unchanged.
        """
        sibling = copy.copy(self)
        sibling.policy_config = config
        return sibling

    # ------------------------------------------------------------------ artefacts
    def policy(self):
        """The SFT policy (the paper's initial policy), frozen."""
        def compute(g):
            model = build_policy(self.world, self.policy_config)
            sft(model, self.world, self.preset.sft, g, self.progress)
            return model.state_dict()
        model = build_policy(self.world, self.policy_config)
        model.load_state_dict(self._cached("policy", compute, self.policy_recipe))
        return model.eval().requires_grad_(False)

    @property
    def policy_recipe(self):
        return (self.preset.world, self.policy_config, self.preset.sft)

    def initial(self) -> torch.Tensor:
        """Initial-policy samples (calibration_samples, seq_len): every RM is centred on them."""
        return self._cached("initial", lambda g: initial_samples(
            self.policy(), self.world, g, self.preset.calibration_samples),
            (self.policy_recipe, self.preset.calibration_samples))

    def _rm(self, name: str, config: RMConfig, train, recipe):
        """Load or train a reward model; returns (model, report)."""
        def compute(g):
            rm, report = train(g)
            return {"state": rm.state_dict(), "report": report}
        saved = self._cached(name, compute, recipe)
        rm = RewardModel(self.world, config)
        rm.load_state_dict(saved["state"])
        return rm.eval().requires_grad_(False), saved["report"]

    @property
    def gold_recipe(self):
        judge = self.judge
        return (judge.policy_recipe, judge.preset.calibration_samples, judge.preset.gold)

    def gold(self):
        """The gold RM and its training report (validation accuracy = agreement with utility)."""
        cfg, judge = self.preset.gold, self.judge
        rm, report = self._rm("gold", cfg.rm, lambda g: train_gold(
            self.world, judge.policy(), judge.initial(), cfg, g, self.progress),
            self.gold_recipe)
        if judge is not self:  # re-centre on this run's initial policy (see with_policy)
            rm.calibrate(self.initial())
        return rm, report

    def initial_gold(self) -> float:
        """Mean gold score of this run's initial policy, in the judge's units (0 for the judge)."""
        gold, judge_gold = self.gold()[0], self.judge.gold()[0]
        return ((gold.shift - judge_gold.shift) * gold.scale).item()

    @property
    def comparisons_recipe(self):
        preset = self.preset
        return (self.policy_recipe, self.gold_recipe, max(preset.proxy_data), preset.label_noise)

    def comparisons(self):
        """The proxies' data: (chosen, rejected), each (most, seq_len), where `most` is the
        preset's largest number of comparisons, labelled by the gold RM (`gold_comparisons`).

        A proxy trained on n comparisons gets the first n, so every size sees the same data and
        a smaller data set is the start of a larger one: differences between proxies come from
        size and amount of data, not from which samples they happened to draw.
        """
        most, noise = max(self.preset.proxy_data), self.preset.label_noise
        return self._cached("comparisons", lambda g: gold_comparisons(
            self.policy(), self.world, self.gold()[0], most, noise, g), self.comparisons_recipe)

    def proxy_recipe(self, size: RMConfig, pairs: int):
        return (self.comparisons_recipe, self.preset.proxy_train, size, pairs)

    def proxy(self, size: RMConfig, pairs: int):
        """The proxy of this size trained on the first `pairs` comparisons, and its report."""
        most = max(self.preset.proxy_data)
        if not 2 <= pairs <= most:  # one to hold out for validation, one to train on
            raise ValueError(f"pairs: must be between 2 and {most:,} (the preset's most "
                             f"comparisons), got {pairs!r}")

        def train(g):
            chosen, rejected = self.comparisons()
            return train_proxy(self.world, size, chosen[:pairs], rejected[:pairs],
                               self.initial(), self.preset.proxy_train, g, self.progress)

        name = f"proxy_L{size.n_layer}_d{size.n_embd}_n{pairs}"
        return self._rm(name, size, train, self.proxy_recipe(size, pairs))

    def pool(self) -> torch.Tensor:
        """The best-of-n pool: N initial-policy samples per prompt, (prompts, N, seq_len)."""
        return self._cached("pool", lambda g: sample_pool(
            self.policy(), self.world, self.preset.bon_pool, generator=g,
            progress=self.progress), (self.policy_recipe, self.preset.bon_pool))

    def rl(self, size: RMConfig, pairs: int, kl_coef: float = 0.0) -> list[dict]:
        """PPO against one proxy from the initial policy; the per-step records (see ppo.py)."""
        config = replace(self.preset.ppo, kl_coef=kl_coef)
        proxy, gold = self.proxy(size, pairs)[0], self.gold()[0]
        name = f"rl_L{size.n_layer}_d{size.n_embd}_n{pairs}_kl{kl_coef:g}"
        return self._cached(name, lambda g: train_ppo(
            self.policy().requires_grad_(True), proxy.score, self.world, config, gold.score,
            g, self.progress), (self.proxy_recipe(size, pairs), self.gold_recipe, config))

    def proxies(self):
        """Every (size, pairs) of the preset's grid, smallest size and data first."""
        return [(s, n) for s in self.preset.proxy_sizes for n in self.preset.proxy_data]


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


def rm_table(run: Run) -> list[dict]:
    """Size, data and validation loss/accuracy of the gold RM and every proxy (trains if needed)."""
    gold, report = run.gold()
    rows = [{"rm": "gold", "rm_params": gold.n_params, "rm_data": report["pairs"],
             "val_loss": report["val_loss"], "val_acc": report["val_acc"]}]
    for size, pairs in tqdm(run.proxies(), desc="proxy RMs", disable=not run.progress):
        rm, report = run.proxy(size, pairs)
        rows.append({"rm": "proxy", "rm_params": rm.n_params, "rm_data": pairs,
                     "val_loss": report["val_loss"], "val_acc": report["val_acc"]})
    write_csv(run.out / "rm.csv", rows)
    return rows


def describe_gold(rm_rows: list[dict]) -> str:
    """One line on the gold RM from `rm_table`'s rows: its size and how well it stands in for
    the hidden utility (every finding is measured in its units, so read this first)."""
    gold = rm_rows[0]
    return (f"gold RM: {gold['rm_params']:,} params, agrees with the hidden utility on "
            f"{gold['val_acc']:.1%} of held-out broad pairs")


def bon_experiment(run: Run, proxies=None, csv_name: str | None = "bon.csv") -> list[dict]:
    """Best-of-n against every proxy (default: the preset's whole grid); writes `csv_name`
    (unless None).

    For each proxy, one pool of N initial-policy samples per prompt is scored by the proxy and
    by the gold RM, and the unbiased estimator gives the proxy and gold score of best-of-n for
    log-spaced n ≤ N. KL is the analytic best-of-n KL, log n − (n − 1)/n.
    """
    pool = run.pool()
    gold_scores = run.gold()[0].score(pool)  # (prompts, N)
    ns = log_spaced_ns(pool.shape[1])
    kl = bon_kl(ns)
    rows = []
    for size, pairs in tqdm(proxies or run.proxies(), desc="best-of-n", disable=not run.progress):
        rm, _ = run.proxy(size, pairs)
        proxy, gold = bon_estimate(rm.score(pool), gold_scores, ns)
        rows += [{"rm_params": rm.n_params, "rm_data": pairs, "n": n, "kl": float(k),
                  "proxy": float(p), "gold": float(g)}
                 for n, k, p, g in zip(ns, kl, proxy, gold, strict=True)]
    if csv_name:
        write_csv(run.out / csv_name, rows)
    return rows


def rl_experiment(run: Run, proxies=None, kl_coef: float = 0.0,
                  csv_name: str | None = "rl.csv") -> list[dict]:
    """PPO against every proxy (default: every size on the most data); writes `csv_name`
    (unless None) and the decoded samples beside it.

    Each row is one PPO step: the sampled KL(π ‖ π_init) of that step's rollout and the mean
    proxy and gold scores of the same samples (relative to the initial policy), plus the
    step's diagnostics (length, entropy, clip fraction, ...).
    """
    most = run.preset.proxy_data[-1]
    rows, samples = [], []
    for size, pairs in tqdm(proxies or [(s, most) for s in run.preset.proxy_sizes], desc="RL",
                            disable=not run.progress):
        rm, _ = run.proxy(size, pairs)
        for record in run.rl(size, pairs, kl_coef):
            rows.append({"rm_params": rm.n_params, "rm_data": pairs, "step": record["step"],
                         "kl": record["kl"], "proxy": record["proxy"], "gold": record["gold"]}
                        | {k: v for k, v in record.items() if k != "samples"})
            samples += [f"{rm.n_params:,} params, {pairs} pairs, step {record['step']} "
                        f"(KL {record['kl']:.1f}): {text}" for text in record.get("samples", [])]
    if csv_name:
        write_csv(run.out / csv_name, rows)
        (run.out / "rl_samples.txt").write_text("\n".join(samples) + "\n")
    return rows
