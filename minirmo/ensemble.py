"""Reward-model ensembles: several proxies scored as one conservative objective.

Coste et al. (ICLR 2024) train k proxy RMs that differ only in their random seed and optimize a
combination of their scores instead of any single one. Where the members agree, the sample is
probably good; where they disagree, at least one of them is extrapolating, and a conservative
combination refuses to pay for that disagreement:

* **mean**: the average of the members: averages out each member's own errors, but pays for
  any error the members share;
* **wco** (worst-case optimization): the minimum over members: a sample scores high only if
  *every* member likes it;
* **uwo** (uncertainty-weighted optimization): mean − λ · variance across members: pays for
  the members' agreement and charges λ for each unit of their disagreement.

The members are standardised on initial-policy samples (mean 0, variance 1, as the gold RM is),
so their scores share one unit and λ reads in it: at λ = 1 a sample on which the members
disagree by one initial-policy standard deviation loses one unit of reward.
"""

from dataclasses import dataclass

import torch

from minirmo.reward import RMConfig

OBJECTIVES = ("mean", "wco", "uwo")


def check_ensemble(members: int, objective: str, uwo_lambda: float) -> None:
    """A ValueError naming the argument that makes no ensemble."""
    if isinstance(members, bool) or not isinstance(members, int) or members < 2:
        raise ValueError(f"members: an ensemble needs at least 2 members, got {members!r}")
    if objective not in OBJECTIVES:
        raise ValueError(f"objective: unknown objective {objective!r}; choose one of "
                         f"{list(OBJECTIVES)}")
    if not uwo_lambda >= 0:  # also rejects nan
        raise ValueError(f"uwo_lambda: must be >= 0, got {uwo_lambda!r}")


def check_label_noise(noise: float) -> None:
    if not 0 <= noise < 0.5:  # at 0.5 the labels carry no information; above, they invert
        raise ValueError(f"label_noise: must be in [0, 0.5), got {noise!r}")


@dataclass
class EnsembleConfig:
    """The ensembles study: `members` proxies of one `size` on the first `pairs` comparisons,
    at each level of `label_noise`, optimized as each objective (uwo with `uwo_lambda`) by
    best-of-n and by PPO with a per-token KL penalty `kl_coef`. A preset fills in a `size`
    and `pairs` left None with its smallest proxy size and its most comparisons: the proxy
    that overoptimizes most in the paper's studies."""

    size: RMConfig | None = None
    pairs: int | None = None
    members: int = 5
    label_noise: tuple = (0.0, 0.25)
    uwo_lambda: float = 1.0
    kl_coef: float = 0.0

    def __post_init__(self):
        check_ensemble(self.members, "mean", self.uwo_lambda)
        if not self.label_noise:
            raise ValueError("label_noise: give at least one noise level")
        for noise in self.label_noise:
            check_label_noise(noise)
        if not self.kl_coef >= 0:
            raise ValueError(f"kl_coef: must be >= 0, got {self.kl_coef!r}")


def combine(scores: torch.Tensor, objective: str, uwo_lambda: float = 1.0) -> torch.Tensor:
    """The ensemble's score from its members' scores.

    scores:  (members, ...) each member's score of the same samples
    returns: (...) the objective's score of each sample
    """
    check_ensemble(len(scores), objective, uwo_lambda)
    if objective == "mean":
        return scores.mean(0)
    if objective == "wco":
        return scores.min(0).values
    return scores.mean(0) - uwo_lambda * scores.var(0, correction=0)  # uwo


class Ensemble:
    """k reward models scored as one objective: `score` is a drop-in for `RewardModel.score`
    (what best-of-n and PPO optimize)."""

    def __init__(self, members: list, objective: str, uwo_lambda: float = 1.0):
        check_ensemble(len(members), objective, uwo_lambda)
        self.members, self.objective, self.uwo_lambda = members, objective, uwo_lambda

    def member_scores(self, sequences: torch.Tensor) -> torch.Tensor:
        """(..., seq_len) -> (members, ...)"""
        return torch.stack([rm.score(sequences) for rm in self.members])

    def score(self, sequences: torch.Tensor) -> torch.Tensor:
        """(..., seq_len) -> (...)"""
        return combine(self.member_scores(sequences), self.objective, self.uwo_lambda)


def flip_labels(chosen: torch.Tensor, rejected: torch.Tensor, draws: torch.Tensor,
                noise: float):
    """Comparisons with the labels of a fraction `noise` of pairs flipped: pair i is flipped
    when draws[i] < noise, so with one set of uniform `draws` every noise level flips a subset
    of the pairs a higher level flips, and levels differ only in those flips.

    chosen, rejected: (pairs, seq_len); draws: (pairs,) uniform in [0, 1)
    returns:          (chosen, rejected), each (pairs, seq_len)
    """
    check_label_noise(noise)
    flip = (draws < noise)[:, None]  # (pairs, 1)
    return torch.where(flip, rejected, chosen), torch.where(flip, chosen, rejected)
