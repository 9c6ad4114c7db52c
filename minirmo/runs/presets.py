"""Presets: everything an experiment needs, fixed in one dataclass, and the three shipped ones.

A *preset* fixes the world, the policy and its SFT, the gold RM, the grid of proxy RMs (sizes ×
numbers of comparisons), the best-of-n pool size, PPO, the direct-alignment sweep (DPO/IPO at
several β), and how many seeds a study runs by default. ``test`` runs in a few minutes (the
test suite uses it), ``tiny`` is the demo (a few minutes a seed on a laptop CPU), ``paper`` is
the full sweep. ``minirmo presets NAME`` prints every setting; ``--set FIELD=VALUE`` changes one
(overrides.py); docs/presets.md says why each shipped value is what it is.
"""

from dataclasses import dataclass, field, replace

from minirmo.critic_free import GRPOConfig, RLOOConfig
from minirmo.dpo import LOSSES, DPOConfig
from minirmo.ensemble import EnsembleConfig
from minirmo.policy import PolicyConfig, SFTConfig
from minirmo.ppo import PPOConfig
from minirmo.pretrain import PretrainConfig
from minirmo.reward import BTConfig, GoldConfig, RMConfig
from minirmo.world import WorldConfig

# The graded world: gushing and four more traps of other rarity and subtlety (world.TRAPS)
GRADED_WORLD = WorldConfig(extra_traps=("stacking", "spam", "stuffing", "rambling"),
                           taste_scale=0.3)


def _check_integers(name: str, values, least: int) -> None:
    if not values or any(isinstance(v, bool) or not isinstance(v, int) or v < least
                         for v in values):
        raise ValueError(f"{name} must be integers >= {least}, got {values!r}")


ALGORITHMS = ("ppo", "rloo", "grpo")  # the RL algorithms of `minirmo rl --algorithm`


@dataclass
class Preset:
    name: str
    proxy_sizes: list  # RMConfig of every proxy size, smallest first
    proxy_data: list  # numbers of comparisons, smallest first
    bon_pool: int  # N: samples per prompt in the best-of-n pool
    # best-of-n against every cell of the grid, or (False) against every size on the most data
    # and only the smallest and the largest size at every number of comparisons (what the data
    # study, Figure 2, draws); RM training (rm.csv, Figure 6) always covers the whole grid
    bon_full_grid: bool = True
    seeds: int = 3  # how many seeds (0, 1, ...) a command runs when given none
    world: WorldConfig = field(default_factory=WorldConfig)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    sft: SFTConfig = field(default_factory=SFTConfig)
    gold: GoldConfig = field(default_factory=GoldConfig)
    proxy_train: BTConfig = field(default_factory=BTConfig)
    # None: every proxy trains at proxy_train.lr. A width w: a proxy n_embd wide trains at
    # lr · w / n_embd, the muP rule for Adam (a wider net takes smaller steps), so that no size
    # is held back by a step size tuned for another (see `proxy_recipe`)
    proxy_lr_width: int | None = None
    label_noise: float = 0.0
    # None: every proxy starts from random weights. A PretrainConfig: each proxy size starts
    # from a backbone pretrained on a cheap corpus of reviews and their readers' ratings
    # (pretrain.py), one corpus per seed for every size
    pretrain: PretrainConfig | None = None
    ppo: PPOConfig = field(default_factory=PPOConfig)
    # RLOO and GRPO (critic_free.py), beside PPO in `minirmo rl --algorithm`: their steps,
    # batch and minibatch sizes are always ppo's; each has its own lr (docs/presets.md: how tuned)
    rloo: RLOOConfig = field(default_factory=RLOOConfig)
    grpo: GRPOConfig = field(default_factory=GRPOConfig)
    # the RL algorithms `reproduce` runs on the most comparisons: PPO first (the paper's RL,
    # against every size, and the only one the other studies run), then RLOO and GRPO beside
    # it, against the smallest and the largest proxy, where the preset's time allows (rl.csv,
    # the algorithms' table, rl_algorithms.png; `studies.reproduce_rl_proxies`)
    rl_algorithms: tuple = ("ppo",)
    calibration_samples: int = 4096  # initial-policy samples every RM is centred on
    # gold-labelled comparisons no proxy trains on, drawn once per seed: every proxy's test loss
    # and accuracy (rm.csv, Figure 6, the data threshold) are measured on the same pairs. (Each
    # proxy's own validation split is a tenth of its data: 25 pairs at 250 comparisons.)
    test_pairs: int = 2000
    kl_coefs: tuple = (0.0, 0.02, 0.05, 0.1)  # the KL-penalty study, unpenalized first
    # the policy-size study (the paper's Section 3.4) repeats the RM-size study from this
    # second initial policy, smaller or larger than `policy`; None skips the study
    second_policy: PolicyConfig | None = field(default_factory=lambda: PolicyConfig(3, 128))
    # the ensembles study (ensemble.py; `minirmo ensembles`); None skips it in `reproduce`
    ensembles: EnsembleConfig | None = field(default_factory=EnsembleConfig)
    # direct alignment (`minirmo dpo`): each loss at each beta, on the most comparisons
    dpo: DPOConfig = field(default_factory=DPOConfig)
    dpo_losses: tuple = ("dpo", "ipo")
    dpo_betas: tuple = (0.01, 0.1, 1.0)  # smallest first
    # whether `reproduce` also runs the follow-up studies (ensembles, direct alignment); their
    # own commands (`minirmo ensembles`, `minirmo dpo`) run them either way
    follow_ups: bool = True
    # the `--set FIELD=VALUE` overrides applied to the named preset (runs/overrides.py), in
    # order; recorded in config.json. (Only the fields they set enter any cache key.)
    overrides: tuple = ()

    def __post_init__(self):
        # RLOO and GRPO draw as many samples as PPO, and step on as many: their steps, batch
        # and minibatch sizes are ppo's
        self.rloo, self.grpo = (replace(config, steps=self.ppo.steps,
                                        batch_size=self.ppo.batch_size,
                                        minibatch_size=self.ppo.minibatch_size)
                                for config in (self.rloo, self.grpo))
        if not self.proxy_sizes:
            raise ValueError("proxy_sizes must name at least one RMConfig")
        weights = [size.n_layer * size.n_embd ** 2 for size in self.proxy_sizes]
        if weights != sorted(weights):  # code reads proxy_sizes[-1] as "the largest"
            raise ValueError("proxy_sizes must be ordered smallest first (by n_layer · n_embd²), "
                             f"got {self.proxy_sizes}")
        algorithms = self.rl_algorithms
        if (not algorithms or algorithms[0] != "ppo" or len(set(algorithms)) != len(algorithms)
                or any(a not in ALGORITHMS for a in algorithms)):
            raise ValueError(f"rl_algorithms must start with 'ppo' and name each of "
                             f"{', '.join(ALGORITHMS)} at most once, got {algorithms!r}")
        _check_integers("proxy_data", self.proxy_data, 2)
        if self.proxy_data != sorted(set(self.proxy_data)):  # and proxy_data[-1] as "the most"
            raise ValueError(f"proxy_data must increase strictly, got {self.proxy_data!r}")
        _check_integers("bon_pool", [self.bon_pool], 2)
        _check_integers("calibration_samples", [self.calibration_samples], 2)
        _check_integers("test_pairs", [self.test_pairs], 1)
        _check_integers("seeds", [self.seeds], 1)
        if self.proxy_lr_width is not None:
            _check_integers("proxy_lr_width", [self.proxy_lr_width], 1)
        if not self.kl_coefs or self.kl_coefs[0] != 0 or any(
                not b > a for a, b in zip(self.kl_coefs, self.kl_coefs[1:], strict=False)):
            raise ValueError(f"kl_coefs must start at 0 and increase, got {self.kl_coefs!r}")
        if not 0 <= self.label_noise < 0.5:
            raise ValueError(f"label_noise must be in [0, 0.5), got {self.label_noise!r}")
        study = self.ensemble_study
        if study is not None and not 2 <= study.pairs <= self.proxy_data[-1]:
            raise ValueError(f"ensembles.pairs must be between 2 and the most comparisons"
                             f" ({self.proxy_data[-1]:,}), got {self.ensembles.pairs!r}")
        self._check_dpo()

    def rl_config(self, algorithm: str):
        """The config of one RL algorithm: `ppo`, `rloo` or `grpo`."""
        if algorithm not in ALGORITHMS:
            raise ValueError(f"algorithm: must be one of {', '.join(ALGORITHMS)}, "
                             f"got {algorithm!r}")
        return getattr(self, algorithm)

    def _check_dpo(self) -> None:
        if not self.dpo_losses or len(set(self.dpo_losses)) != len(self.dpo_losses) or any(
                loss not in LOSSES for loss in self.dpo_losses):
            raise ValueError(f"dpo_losses must name each of {sorted(LOSSES)} at most once, "
                             f"got {self.dpo_losses!r}")
        betas = self.dpo_betas
        if not betas or any(isinstance(b, bool) or not isinstance(b, int | float) or not b > 0
                            for b in betas) or list(betas) != sorted(set(betas)):
            raise ValueError(f"dpo_betas must be numbers > 0, increasing, got {betas!r}")

    def proxy_recipe(self, size: RMConfig) -> BTConfig:
        """How a proxy of `size` is trained: `proxy_train`, its lr scaled by `proxy_lr_width`."""
        if self.proxy_lr_width is None:
            return self.proxy_train
        return replace(self.proxy_train, lr=self.proxy_train.lr * self.proxy_lr_width / size.n_embd)

    @property
    def ensemble_study(self) -> EnsembleConfig | None:
        """`ensembles` with a `size` and `pairs` left None filled in: the smallest proxy size
        and the most comparisons (the proxy that overoptimizes most)."""
        if self.ensembles is None:
            return None
        return replace(self.ensembles, size=self.ensembles.size or self.proxy_sizes[0],
                       pairs=self.ensembles.pairs or self.proxy_data[-1])

    @property
    def default_seeds(self) -> list[int]:
        return list(range(self.seeds))


PRESETS = {  # why each setting is what it is, with the measurements: docs/presets.md
    # the suite's preset: one seed, a few minutes; shares tiny's policy, gold and two proxies
    "test": Preset(
        "test", proxy_sizes=[RMConfig(1, 16, 2), RMConfig(2, 64)], proxy_data=[1000, 4000],
        bon_pool=4096, seeds=1, ppo=PPOConfig(steps=24, batch_size=128, lr=3e-4),
        rloo=RLOOConfig(lr=3e-4), grpo=GRPOConfig(lr=3e-5),
        kl_coefs=(0.0, 0.1), second_policy=None, ensembles=None, dpo_losses=("dpo",),
        dpo_betas=(0.01, 1.0)),
    # the demo: 4 seeds, two at a time on 2 cores; short PPO at 3x the default lr
    "tiny": Preset(
        "tiny", proxy_sizes=[RMConfig(1, 16, 2), RMConfig(2, 32), RMConfig(2, 64)],
        proxy_data=[1000, 4000], bon_pool=4096, seeds=4,
        ppo=PPOConfig(steps=30, batch_size=128, lr=3e-4), second_policy=None,
        rloo=RLOOConfig(lr=3e-4), grpo=GRPOConfig(lr=3e-5), rl_algorithms=ALGORITHMS),
    # the full sweep: 8 sizes over 2.57 decades (442 to 163,521 params), 250 to 32,000
    # comparisons, the graded world; 3 seeds within the hour on 2 cores
    "paper": Preset(
        "paper",
        proxy_sizes=[RMConfig(1, 3, 1), RMConfig(1, 6, 1), RMConfig(1, 12, 2), RMConfig(2, 16, 2),
                     RMConfig(2, 24, 2), RMConfig(2, 40), RMConfig(2, 64), RMConfig(2, 80)],
        proxy_data=[250, 500, 1000, 2000, 4000, 8000, 32000], bon_pool=16384,
        world=GRADED_WORLD, proxy_train=BTConfig(epochs=4, lr=1.5e-3), proxy_lr_width=32,
        bon_full_grid=False, follow_ups=False, second_policy=PolicyConfig(2, 32),
        ppo=PPOConfig(steps=48, lr=1e-3), rloo=RLOOConfig(lr=1e-3), grpo=GRPOConfig(lr=1e-4),
        gold=GoldConfig(rm=RMConfig(3, 96), pairs=40_000, train=BTConfig(epochs=4, lr=1e-3),
                        elite_fraction=0.2, reprompt_fraction=1.0),
        dpo=DPOConfig(eval_every=32)),
}


def get_preset(name: str) -> Preset:
    if name not in PRESETS:
        raise ValueError(f"preset: unknown preset {name!r}; choose one of {sorted(PRESETS)}")
    return PRESETS[name]
