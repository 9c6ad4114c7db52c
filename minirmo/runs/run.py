"""`Run`: the artefact graph of one preset at one seed, in one output folder.

    policy ─┬─> initial ─┬─> gold ─> comparisons ─> proxy(size, pairs) ─┬─> rl(size, pairs)
            │            └─────────────────────────────┘                   └─> bon(size, pairs)
            └─> pool (N samples per prompt) ─────────────────────────────────────┘
    (rl also reads the policy and the gold RM; bon the pool and its gold scores)
    policy, comparisons, gold ─> dpo(loss, beta, pairs)   direct alignment: no proxy RM

Every node is an `Artefact` (cache.py): asked for, it is loaded from ``OUT/cache/seed{S}/``
or computed from its inputs and saved. The proxies of every size train on one shared, nested
set of gold-labelled comparisons (a proxy on n pairs gets the first n), and every RM is
centred on one set of initial-policy samples, so differences between proxies come from their
size and data, not from which samples each drew.
"""

import copy
from dataclasses import replace
from functools import partial
from pathlib import Path

import torch

from minirmo.ensemble import EnsembleConfig
from minirmo.policy import PolicyConfig
from minirmo.pretrain import pretrain_backbone, verdict_corpus
from minirmo.reward import RMConfig, initial_samples
from minirmo.runs import compute
from minirmo.runs.cache import Artefact, Cache
from minirmo.runs.presets import Preset
from minirmo.world import World


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


def check_seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed: must be an integer >= 0, got {seed!r}")
    return seed


class Run:
    """One seed of `preset` in the folder `out`, on `device`.

    Several runs (other seeds, other presets) can share one folder: every artefact's file name
    carries the hash of its recipe and sits under its seed's folder.
    """

    def __init__(self, preset: Preset, out: str | Path, device: str = "cpu", seed: int = 0,
                 progress: bool = True, cache: Cache | None = None):
        self.preset, self.seed, self.progress = preset, check_seed(seed), progress
        self.device = check_device(device)
        self.out = Path(out)
        self.cache = cache or Cache(self.out / "cache", self.device, progress)
        self.world = World(preset.world, self.device)
        self.policy_config = preset.policy
        self.judge = self  # the run whose gold RM is the truth (another one after with_policy)

    def get(self, artefact: Artefact):
        return self.cache.get(artefact, self.seed)

    def with_policy(self, config: PolicyConfig) -> "Run":
        """This run with another initial policy, judged by this run's gold RM.

        Everything that depends on the policy (its SFT, the proxies trained on its samples, the
        pool, RL) gets keys of its own. The gold RM stays this run's, re-centred so that the
        new initial policy scores 0 on average; its scale, and so its units, are unchanged.
        """
        sibling = copy.copy(self)
        sibling.policy_config = config
        return sibling

    # ------------------------------------------------------------------ the artefact graph
    # Each method names one artefact: its compute function (compute.py), its inputs and the
    # settings it reads. Nothing is computed here; `get` (the cache) does that.
    def policy_artefact(self) -> Artefact:
        return Artefact("policy", compute.policy, settings=dict(
            world=self.world, config=self.policy_config, sft_config=self.preset.sft),
            load=partial(compute.load_policy, world=self.world, config=self.policy_config))

    def initial_artefact(self) -> Artefact:
        return Artefact("initial", initial_samples, dict(policy=self.policy_artefact()),
                        dict(world=self.world, count=self.preset.calibration_samples))

    def gold_artefact(self) -> Artefact:
        cfg, load = self.preset.gold, partial(compute.load_rm, world=self.world,
                                              config=self.preset.gold.rm)
        judge_gold = Artefact("gold", compute.gold, dict(
            policy=self.judge.policy_artefact(), initial=self.judge.initial_artefact()),
            dict(world=self.world, config=cfg), load)
        if self.judge is self:
            return judge_gold
        return Artefact("gold_recentred", compute.gold_recentred, dict(
            gold=judge_gold, initial=self.initial_artefact()), load=load)  # see with_policy

    def _gold_labelled(self, name: str, count: int) -> Artefact:
        return Artefact(name, compute.gold_labelled, dict(
            policy=self.policy_artefact(), gold=self.gold_artefact()),
            dict(world=self.world, count=count, noise=self.preset.label_noise),
            compute.load_comparisons)

    def comparisons_artefact(self) -> Artefact:
        return self._gold_labelled("comparisons", max(self.preset.proxy_data))

    def test_comparisons_artefact(self) -> Artefact:
        return self._gold_labelled("test_comparisons", self.preset.test_pairs)

    def verdicts_artefact(self) -> Artefact:
        """The cheap pretraining corpus of reviews and their readers' ratings (pretrain.py)."""
        return Artefact("verdicts", verdict_corpus,
                        settings=dict(world=self.world, config=self.preset.pretrain))

    def backbone_artefact(self, size: RMConfig, member: int | None = None) -> Artefact:
        """A backbone of `size` pretrained on the verdicts: every proxy of that size starts
        from it, whatever its number of comparisons. Ensemble member k starts from a backbone
        of its own (`member`), pretrained from another seed on the same corpus, so that the
        members differ by their pretraining, as Coste et al.'s do."""
        name = f"backbone_L{size.n_layer}_d{size.n_embd}"
        return Artefact(name if member is None else f"member{member}_{name}", pretrain_backbone,
                        dict(corpus=self.verdicts_artefact()),
                        dict(world=self.world, size=size, config=self.preset.pretrain))

    def proxy_artefact(self, size: RMConfig, pairs: int) -> Artefact:
        self._check_pairs(pairs)
        inputs = dict(comparisons=self.comparisons_artefact(), initial=self.initial_artefact())
        if self.preset.pretrain is not None:
            inputs["backbone"] = self.backbone_artefact(size)
        return Artefact(
            f"proxy_L{size.n_layer}_d{size.n_embd}_n{pairs}", compute.proxy, inputs,
            dict(world=self.world, size=size, pairs=pairs,
                 recipe=self.preset.proxy_recipe(size)),
            partial(compute.load_rm, world=self.world, config=size))

    def proxy_test_artefact(self, size: RMConfig, pairs: int) -> Artefact:
        return Artefact(f"test_L{size.n_layer}_d{size.n_embd}_n{pairs}", compute.proxy_test,
                        dict(proxy=self.proxy_artefact(size, pairs),
                             test=self.test_comparisons_artefact()))

    def pool_artefact(self) -> Artefact:
        return Artefact("pool", compute.pool, dict(policy=self.policy_artefact()),
                        dict(world=self.world, per_prompt=self.preset.bon_pool))

    def pool_gold_artefact(self) -> Artefact:
        return Artefact("pool_gold", compute.pool_gold,
                        dict(pool=self.pool_artefact(), gold=self.gold_artefact()))

    def pool_logp_artefact(self) -> Artefact:
        return Artefact("pool_logp", compute.pool_logp,
                        dict(pool=self.pool_artefact(), policy=self.policy_artefact()),
                        dict(world=self.world))

    def bon_artefact(self, size: RMConfig, pairs: int, ns: tuple) -> Artefact:
        return Artefact(f"bon_L{size.n_layer}_d{size.n_embd}_n{pairs}", compute.bon, dict(
            pool=self.pool_artefact(), proxy=self.proxy_artefact(size, pairs),
            pool_gold=self.pool_gold_artefact(), pool_logp=self.pool_logp_artefact()),
            dict(ns=tuple(ns)))

    def rl_artefact(self, size: RMConfig, pairs: int, kl_coef: float | None = None,
                    algorithm: str = "ppo") -> Artefact:
        """RL against one proxy (PPO, or `algorithm` "rloo" or "grpo"), at the preset's KL
        coefficient of that algorithm unless `kl_coef` is given."""
        config = self.preset.rl_config(algorithm)
        config = config if kl_coef is None else replace(config, kl_coef=kl_coef)
        prefix = "rl" if algorithm == "ppo" else algorithm
        return Artefact(f"{prefix}_L{size.n_layer}_d{size.n_embd}_n{pairs}_kl{config.kl_coef:g}",
                        compute.rl, dict(policy=self.policy_artefact(),
                                         proxies=(self.proxy_artefact(size, pairs),),
                                         gold=self.gold_artefact()),
                        dict(world=self.world, config=config))

    # ------------------------------------------------------------------ ensembles (ensemble.py)
    def label_draws_artefact(self) -> Artefact:
        return Artefact("label_draws", compute.label_draws,
                        dict(comparisons=self.comparisons_artefact()))

    def member_artefact(self, size: RMConfig, pairs: int, noise: float, member: int) -> Artefact:
        """Ensemble member `member` at label noise `noise`. It draws the randomness of the same
        member without noise, so a member at 25% noise starts from the same weights and sees
        the same batches as at 0%, and the levels differ only in the flipped labels."""
        self._check_pairs(pairs)
        name = f"member{member}_L{size.n_layer}_d{size.n_embd}_n{pairs}"
        inputs = dict(comparisons=self.comparisons_artefact(), draws=self.label_draws_artefact(),
                      initial=self.initial_artefact())
        if self.preset.pretrain is not None:
            inputs["backbone"] = self.backbone_artefact(size, member)
        return Artefact(
            f"{name}_noise{noise:g}", compute.member, inputs,
            dict(world=self.world, size=size, pairs=pairs, noise=noise,
                 recipe=self.preset.proxy_recipe(size)),
            partial(compute.load_rm, world=self.world, config=size), rng_name=name)

    def member_artefacts(self, config: EnsembleConfig, noise: float) -> tuple:
        return tuple(self.member_artefact(config.size, config.pairs, noise, k)
                     for k in range(config.members))

    def ensemble_bon_artefact(self, config: EnsembleConfig, noise: float, ns: tuple) -> Artefact:
        size, pairs = config.size, config.pairs
        return Artefact(f"ensemble_bon_L{size.n_layer}_d{size.n_embd}_n{pairs}_noise{noise:g}",
                        compute.ensemble_bon, dict(
                            pool=self.pool_artefact(), pool_gold=self.pool_gold_artefact(),
                            members=self.member_artefacts(config, noise)),
                        dict(uwo_lambda=config.uwo_lambda, ns=tuple(ns)))

    def ensemble_rl_artefact(self, config: EnsembleConfig, noise: float,
                             objective: str) -> Artefact:
        """PPO against one objective of the ensemble, or against member 0 alone ("single"),
        with the ensemble study's KL coefficient."""
        members = self.member_artefacts(config, noise)
        settings = dict(world=self.world, config=replace(self.preset.ppo,
                                                         kl_coef=config.kl_coef),
                        objective=objective)
        if objective == "uwo":
            settings["uwo_lambda"] = config.uwo_lambda
        size, pairs = config.size, config.pairs
        return Artefact(
            f"ensemble_rl_{objective}_L{size.n_layer}_d{size.n_embd}_n{pairs}_noise{noise:g}",
            compute.rl, dict(policy=self.policy_artefact(),
                             proxies=members[:1] if objective == "single" else members,
                             gold=self.gold_artefact()), settings)

    # ------------------------------------------------------------------ direct alignment
    def dpo_artefact(self, loss: str, beta: float, pairs: int) -> Artefact:
        """DPO or IPO at `beta` from the initial policy, on the first `pairs` comparisons."""
        self._check_pairs(pairs)
        config = replace(self.preset.dpo, loss=loss, beta=beta)  # validates both
        return Artefact(f"dpo_{loss}_beta{beta:g}_n{pairs}", compute.dpo, dict(
            policy=self.policy_artefact(), comparisons=self.comparisons_artefact(),
            gold=self.gold_artefact()), dict(world=self.world, config=config, pairs=pairs))

    def _check_pairs(self, pairs: int) -> None:
        most = max(self.preset.proxy_data)
        if not 2 <= pairs <= most:  # one to hold out for validation, one to train on
            raise ValueError(f"pairs: must be between 2 and {most:,} (the preset's most "
                             f"comparisons), got {pairs!r}")

    # ------------------------------------------------------------------ what users ask for
    def dpo(self, loss: str, beta: float, pairs: int) -> list[dict]:
        """Direct alignment from the initial policy; the per-checkpoint records (dpo.py)."""
        return self.get(self.dpo_artefact(loss, beta, pairs))

    # ------------------------------------------------------------------ what users ask for
    def policy(self):
        """The SFT policy (the paper's initial policy), frozen; a fresh copy on every call."""
        return self.get(self.policy_artefact())

    def initial(self) -> torch.Tensor:
        """Initial-policy samples (calibration_samples, seq_len): every RM is centred on them."""
        return self.get(self.initial_artefact())

    def gold(self) -> compute.TrainedRM:
        """The gold RM and its training report (validation accuracy = agreement with utility)."""
        return self.get(self.gold_artefact())

    def initial_gold(self) -> float:
        """Mean gold score of this run's initial policy, in the judge's units (0 for the judge)."""
        gold, judge_gold = self.gold().model, self.judge.gold().model
        return ((gold.shift - judge_gold.shift) * gold.scale).item()

    def comparisons(self) -> compute.Comparisons:
        """The proxies' data: (chosen, rejected), each (most, seq_len), where `most` is the
        preset's largest number of comparisons, labelled by the gold RM (`gold_comparisons`).
        A proxy trained on n comparisons gets the first n."""
        return self.get(self.comparisons_artefact())

    def test_comparisons(self) -> compute.Comparisons:
        """Comparisons drawn and labelled as `comparisons` are, but apart from them, so that no
        proxy trained on them: (chosen, rejected), each (test_pairs, seq_len)."""
        return self.get(self.test_comparisons_artefact())

    def proxy(self, size: RMConfig, pairs: int) -> compute.TrainedRM:
        """The proxy of this size trained on the first `pairs` comparisons, and its report."""
        return self.get(self.proxy_artefact(size, pairs))

    def proxy_test(self, size: RMConfig, pairs: int) -> dict:
        """The proxy's loss and accuracy on the test comparisons (`pair_loss_and_accuracy`)."""
        return self.get(self.proxy_test_artefact(size, pairs))

    def pool(self) -> torch.Tensor:
        """The best-of-n pool: N initial-policy samples per prompt, (prompts, N, seq_len)."""
        return self.get(self.pool_artefact())

    def pool_gold(self) -> torch.Tensor:
        """The gold RM's scores of the pool, (prompts, N), scored once and cached."""
        return self.get(self.pool_gold_artefact())

    def bon(self, size: RMConfig, pairs: int, ns) -> dict:
        """Best-of-n against one proxy at each n of `ns`: proxy and gold scores, and the KL
        on the pool, exact and Beirami et al.'s estimate (see compute.bon)."""
        return self.get(self.bon_artefact(size, pairs, tuple(ns)))

    def rl(self, size: RMConfig, pairs: int, kl_coef: float | None = None,
           algorithm: str = "ppo") -> list[dict]:
        """PPO (or `algorithm`) against one proxy from the initial policy, at the preset's KL
        coefficient unless `kl_coef` is given; the per-step records (see ppo.py)."""
        return self.get(self.rl_artefact(size, pairs, kl_coef, algorithm))

    def proxies(self):
        """Every (size, pairs) of the preset's grid, smallest size and data first."""
        return [(s, n) for s in self.preset.proxy_sizes for n in self.preset.proxy_data]

    def bon_proxies(self):
        """The (size, pairs) best-of-n runs against (`Preset.bon_full_grid`), in grid order."""
        sizes, most = self.preset.proxy_sizes, self.preset.proxy_data[-1]
        return [(s, n) for s, n in self.proxies()
                if self.preset.bon_full_grid or n == most or s in (sizes[0], sizes[-1])]
