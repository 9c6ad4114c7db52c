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
import zlib
from dataclasses import replace
from pathlib import Path

import torch

from minirmo.bon import bon_estimate
from minirmo.dpo import train_dpo
from minirmo.ensemble import OBJECTIVES, Ensemble, EnsembleConfig, combine, flip_labels
from minirmo.policy import PolicyConfig, build_policy, sample_pool, sft
from minirmo.ppo import train_ppo
from minirmo.reward import (
    RewardModel,
    RMConfig,
    gold_comparisons,
    initial_samples,
    pair_loss_and_accuracy,
    train_gold,
    train_proxy,
)
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
        self.cache = cache or Cache(self.out / "cache", self.device)
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
    def policy_artefact(self) -> Artefact:
        def compute(g):
            model = build_policy(self.world, self.policy_config)
            sft(model, self.world, self.preset.sft, g, self.progress)
            return model.state_dict()

        def load(state):
            model = build_policy(self.world, self.policy_config)
            model.load_state_dict(state)
            return model.eval().requires_grad_(False)

        return Artefact("policy", compute, settings=(self.preset.world, self.policy_config,
                                                      self.preset.sft), load=load)

    def initial_artefact(self) -> Artefact:
        count = self.preset.calibration_samples
        return Artefact("initial", lambda g, policy: initial_samples(policy, self.world, g, count),
                        (self.policy_artefact(),), (count,))

    def _rm_load(self, config: RMConfig):
        def load(saved):
            rm = RewardModel(self.world, config)
            rm.load_state_dict(saved["state"])
            return rm.eval().requires_grad_(False), saved["report"]
        return load

    def gold_artefact(self) -> Artefact:
        cfg = self.preset.gold
        judge_gold = Artefact(
            "gold", lambda g, policy, initial: _saved(*train_gold(
                self.world, policy, initial, cfg, g, self.progress)),
            (self.judge.policy_artefact(), self.judge.initial_artefact()), (cfg,),
            self._rm_load(cfg.rm))
        if self.judge is self:
            return judge_gold

        def recentre(g, gold, initial):  # see with_policy
            rm, report = gold
            rm.calibrate(initial)
            return _saved(rm, report)
        return Artefact("gold_recentred", recentre, (judge_gold, self.initial_artefact()),
                        load=self._rm_load(cfg.rm))

    def _gold_labelled(self, name: str, count: int) -> Artefact:
        """`count` pairs of initial-policy samples labelled by the gold RM (`gold_comparisons`)."""
        noise = self.preset.label_noise
        return Artefact(name, lambda g, policy, gold: gold_comparisons(
            policy, self.world, gold[0], count, noise, g),
            (self.policy_artefact(), self.gold_artefact()), (count, noise))

    def comparisons_artefact(self) -> Artefact:
        return self._gold_labelled("comparisons", max(self.preset.proxy_data))

    def test_comparisons_artefact(self) -> Artefact:
        return self._gold_labelled("test_comparisons", self.preset.test_pairs)

    def proxy_artefact(self, size: RMConfig, pairs: int) -> Artefact:
        most = max(self.preset.proxy_data)
        if not 2 <= pairs <= most:  # one to hold out for validation, one to train on
            raise ValueError(f"pairs: must be between 2 and {most:,} (the preset's most "
                             f"comparisons), got {pairs!r}")

        recipe = self.preset.proxy_recipe(size)

        def compute(g, comparisons, initial):
            chosen, rejected = comparisons
            return _saved(*train_proxy(self.world, size, chosen[:pairs], rejected[:pairs],
                                       initial, recipe, g, self.progress))

        return Artefact(f"proxy_L{size.n_layer}_d{size.n_embd}_n{pairs}", compute,
                        (self.comparisons_artefact(), self.initial_artefact()),
                        (recipe, size, pairs), self._rm_load(size))

    def proxy_test_artefact(self, size: RMConfig, pairs: int) -> Artefact:
        return Artefact(f"test_L{size.n_layer}_d{size.n_embd}_n{pairs}",
                        lambda g, proxy, test: pair_loss_and_accuracy(proxy[0], *test),
                        (self.proxy_artefact(size, pairs), self.test_comparisons_artefact()))

    def pool_artefact(self) -> Artefact:
        N = self.preset.bon_pool
        return Artefact("pool", lambda g, policy: sample_pool(
            policy, self.world, N, generator=g, progress=self.progress),
            (self.policy_artefact(),), (N,))

    def pool_gold_artefact(self) -> Artefact:
        """The gold RM's scores of the pool, (prompts, N): scored once for every proxy."""
        return Artefact("pool_gold", lambda g, pool, gold: gold[0].score(pool),
                        (self.pool_artefact(), self.gold_artefact()))

    def bon_artefact(self, size: RMConfig, pairs: int, ns: tuple) -> Artefact:
        """Best-of-n against one proxy: the pool scored by the proxy and the gold RM, and the
        unbiased estimator at each n of `ns` -> {"proxy": (len(ns),), "gold": (len(ns),)}."""
        def compute(g, pool, proxy, gold_scores):
            proxy_scores, gold_scores = bon_estimate(proxy[0].score(pool), gold_scores, ns)
            return {"proxy": proxy_scores, "gold": gold_scores}
        return Artefact(f"bon_L{size.n_layer}_d{size.n_embd}_n{pairs}", compute,
                        (self.pool_artefact(), self.proxy_artefact(size, pairs),
                         self.pool_gold_artefact()), (tuple(ns),))

    def rl_artefact(self, size: RMConfig, pairs: int, kl_coef: float = 0.0) -> Artefact:
        config = replace(self.preset.ppo, kl_coef=kl_coef)
        return Artefact(
            f"rl_L{size.n_layer}_d{size.n_embd}_n{pairs}_kl{kl_coef:g}",
            lambda g, policy, proxy, gold: train_ppo(
                policy.requires_grad_(True), proxy[0].score, self.world, config, gold[0].score,
                g, self.progress),
            (self.policy_artefact(), self.proxy_artefact(size, pairs), self.gold_artefact()),
            (config,))

    # ------------------------------------------------------------------ ensembles (ensemble.py)
    def label_draws_artefact(self) -> Artefact:
        """One uniform draw per comparison, (most,): noise level p flips the pairs whose draw
        is < p (`ensemble.flip_labels`), so every level flips a subset of a higher one's."""
        return Artefact("label_draws", lambda g, comparisons: torch.rand(
            len(comparisons[0]), generator=g).to(self.device), (self.comparisons_artefact(),))

    def member_artefact(self, size: RMConfig, pairs: int, noise: float, member: int) -> Artefact:
        """Ensemble member `member`: a proxy of `size` on the first `pairs` comparisons with a
        fraction `noise` of their labels flipped, standardised on the initial samples. Its
        random seed depends on (seed, size, pairs, member) but not on `noise`, so a member at
        25% noise starts from the same weights and sees the same batches as at 0%."""
        recipe = self.preset.proxy_recipe(size)

        def compute(g, comparisons, draws, initial):
            chosen, rejected = flip_labels(comparisons[0][:pairs], comparisons[1][:pairs],
                                           draws[:pairs], noise)
            member_seed = zlib.crc32(f"{self.seed}/member{member}/{size}/{pairs}".encode())
            torch.manual_seed(member_seed)  # the member's weights (we are in the cache's fork)
            rm, report = train_proxy(self.world, size, chosen, rejected, initial, recipe,
                                     torch.Generator().manual_seed(member_seed), self.progress)
            rm.calibrate(initial, unit_variance=True)
            return _saved(rm, report)

        return Artefact(f"member{member}_L{size.n_layer}_d{size.n_embd}_n{pairs}_noise{noise:g}",
                        compute, (self.comparisons_artefact(), self.label_draws_artefact(),
                                  self.initial_artefact()),
                        (recipe, size, pairs, noise), self._rm_load(size))

    def ensemble_bon_artefact(self, config: EnsembleConfig, noise: float, ns: tuple) -> Artefact:
        """Best-of-n against each member alone and against each objective of all members:
        {"members": [{"proxy", "gold"}, ...], objective: {"proxy", "gold"}, ...}, each curve
        (len(ns),)."""
        def compute(g, pool, gold_scores, *members):
            scores = torch.stack([rm.score(pool) for rm, _ in members])  # (k, prompts, N)
            curves = {"members": []}
            for member_scores in scores:
                proxy, gold = bon_estimate(member_scores, gold_scores, ns)
                curves["members"].append({"proxy": proxy, "gold": gold})
            for objective in OBJECTIVES:
                proxy, gold = bon_estimate(combine(scores, objective, config.uwo_lambda),
                                           gold_scores, ns)
                curves[objective] = {"proxy": proxy, "gold": gold}
            return curves

        size, pairs = config.size, config.pairs
        return Artefact(f"ensemble_bon_L{size.n_layer}_d{size.n_embd}_n{pairs}_noise{noise:g}",
                        compute, (self.pool_artefact(), self.pool_gold_artefact(),
                                  *self.member_artefacts(config, noise)),
                        (config.uwo_lambda, tuple(ns)))

    def ensemble_rl_artefact(self, config: EnsembleConfig, noise: float,
                             objective: str) -> Artefact:
        """PPO against one objective of the ensemble, or against member 0 alone ("single")."""
        def compute(g, policy, gold, *members):
            rms = [rm for rm, _ in members]
            reward = rms[0].score if objective == "single" else Ensemble(
                rms, objective, config.uwo_lambda).score
            return train_ppo(policy.requires_grad_(True), reward, self.world, ppo,
                             gold[0].score, g, self.progress)

        ppo = replace(self.preset.ppo, kl_coef=config.kl_coef)
        members = self.member_artefacts(config, noise)
        size, pairs = config.size, config.pairs
        return Artefact(
            f"ensemble_rl_{objective}_L{size.n_layer}_d{size.n_embd}_n{pairs}_noise{noise:g}",
            compute, (self.policy_artefact(), self.gold_artefact(),
                      *(members[:1] if objective == "single" else members)),
            (ppo, config.uwo_lambda if objective == "uwo" else None))

    def member_artefacts(self, config: EnsembleConfig, noise: float) -> list[Artefact]:
        return [self.member_artefact(config.size, config.pairs, noise, k)
                for k in range(config.members)]

    # ------------------------------------------------------------------ direct alignment
    def dpo_artefact(self, loss: str, beta: float, pairs: int) -> Artefact:
        """DPO or IPO at `beta` from the initial policy, on the first `pairs` of the proxies'
        comparisons, judged by the gold RM at each checkpoint (see dpo.train_dpo)."""
        most = max(self.preset.proxy_data)
        if not 2 <= pairs <= most:
            raise ValueError(f"pairs: must be between 2 and {most:,} (the preset's most "
                             f"comparisons), got {pairs!r}")
        config = replace(self.preset.dpo, loss=loss, beta=beta)  # validates both

        def compute(g, policy, comparisons, gold):
            chosen, rejected = comparisons
            return train_dpo(policy, chosen[:pairs], rejected[:pairs], self.world, config,
                             gold[0].score, g, self.progress)

        return Artefact(f"dpo_{loss}_beta{beta:g}_n{pairs}", compute,
                        (self.policy_artefact(), self.comparisons_artefact(),
                         self.gold_artefact()), (config, pairs))

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

    def gold(self):
        """The gold RM and its training report (validation accuracy = agreement with utility)."""
        return self.get(self.gold_artefact())

    def initial_gold(self) -> float:
        """Mean gold score of this run's initial policy, in the judge's units (0 for the judge)."""
        gold, judge_gold = self.gold()[0], self.judge.gold()[0]
        return ((gold.shift - judge_gold.shift) * gold.scale).item()

    def comparisons(self):
        """The proxies' data: (chosen, rejected), each (most, seq_len), where `most` is the
        preset's largest number of comparisons, labelled by the gold RM (`gold_comparisons`).
        A proxy trained on n comparisons gets the first n."""
        return self.get(self.comparisons_artefact())

    def test_comparisons(self):
        """Comparisons drawn and labelled as `comparisons` are, but apart from them, so that no
        proxy trained on them: (chosen, rejected), each (test_pairs, seq_len)."""
        return self.get(self.test_comparisons_artefact())

    def proxy(self, size: RMConfig, pairs: int):
        """The proxy of this size trained on the first `pairs` comparisons, and its report."""
        return self.get(self.proxy_artefact(size, pairs))

    def proxy_test(self, size: RMConfig, pairs: int) -> dict:
        """The proxy's loss and accuracy on the test comparisons (`pair_loss_and_accuracy`)."""
        return self.get(self.proxy_test_artefact(size, pairs))

    def pool(self) -> torch.Tensor:
        """The best-of-n pool: N initial-policy samples per prompt, (prompts, N, seq_len)."""
        return self.get(self.pool_artefact())

    def bon(self, size: RMConfig, pairs: int, ns) -> dict:
        """Best-of-n proxy and gold scores against one proxy at each n of `ns` (see bon.py)."""
        return self.get(self.bon_artefact(size, pairs, tuple(ns)))

    def rl(self, size: RMConfig, pairs: int, kl_coef: float = 0.0) -> list[dict]:
        """PPO against one proxy from the initial policy; the per-step records (see ppo.py)."""
        return self.get(self.rl_artefact(size, pairs, kl_coef))

    def proxies(self):
        """Every (size, pairs) of the preset's grid, smallest size and data first."""
        return [(s, n) for s in self.preset.proxy_sizes for n in self.preset.proxy_data]

    def bon_proxies(self):
        """The (size, pairs) best-of-n runs against (`Preset.bon_full_grid`), in grid order."""
        sizes, most = self.preset.proxy_sizes, self.preset.proxy_data[-1]
        return [(s, n) for s, n in self.proxies()
                if self.preset.bon_full_grid or n == most or s in (sizes[0], sizes[-1])]


def _saved(rm: RewardModel, report: dict) -> dict:
    return {"state": rm.state_dict(), "report": report}
