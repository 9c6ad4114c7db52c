"""Reward models: last-token readout, Bradley–Terry training, calibration, saving."""

import math

import pytest
import torch
from closeness import check_close

from minirmo.policy import PolicyConfig, build_policy, sample
from minirmo.reward import (
    BTConfig,
    GoldConfig,
    RewardModel,
    RMConfig,
    bradley_terry_loss,
    label_pairs,
    pair_loss_and_accuracy,
    train_bradley_terry,
    train_gold,
    utility_best,
)
from minirmo.world import World


@pytest.fixture(scope="module")
def world():
    return World()


def reviews(world, texts):
    """Full padded sequences (len(texts), prompt + max_len) from 'topic : words <eos>' texts."""
    width = world.prompt_len + world.max_len
    rows = [world.tokenizer.encode("<bos> " + t) for t in texts]
    return torch.tensor([r + [world.tokenizer.pad_id] * (width - len(r)) for r in rows])


def test_score_reads_the_last_real_token_whatever_the_padding(world):
    """Extra right padding does not change a reward model's score."""
    torch.manual_seed(0)
    rm = RewardModel(world, RMConfig(1, 16, 2)).eval()
    seqs = reviews(world, ["pizza : the crust was great <eos>", "gym : the class <eos>"])
    short = seqs[:, :12]  # both responses end before position 12
    torch.testing.assert_close(rm.score(seqs), rm.score(short))


def test_label_pairs_puts_the_winner_first():
    """label_pairs returns (chosen, rejected) by the boolean first_wins."""
    a, b = torch.tensor([[1], [2]]), torch.tensor([[3], [4]])
    chosen, rejected = label_pairs(a, b, torch.tensor([True, False]))
    assert chosen.tolist() == [[1], [4]] and rejected.tolist() == [[3], [2]]


def test_utility_best_of_one_is_the_sample_itself(world):
    """utility_best with k = 1 returns what `sample` draws from the same generator state."""
    torch.manual_seed(0)
    policy = build_policy(world, PolicyConfig(n_layer=1, n_embd=16, n_head=2)).eval()
    prompts = world.prompts[torch.arange(10) % len(world.prompts)]
    best = utility_best(policy, world, prompts, 1, torch.Generator().manual_seed(3))
    drawn = sample(policy, prompts, world.max_len, 1.0, torch.Generator().manual_seed(3))[0]
    assert torch.equal(best, drawn)


def test_utility_best_keeps_the_prompt_and_beats_a_single_sample(world):
    """The utility-best of 16 samples answers its own prompt and scores above a single draw."""
    torch.manual_seed(0)
    policy = build_policy(world, PolicyConfig(n_layer=1, n_embd=16, n_head=2)).eval()
    g = torch.Generator().manual_seed(0)
    prompts = world.prompts[world.sample_topics(300, g)]
    best = utility_best(policy, world, prompts, 16, g, batch_size=1000)  # several batches
    single = sample(policy, prompts, world.max_len, 1.0, g)[0]
    assert torch.equal(best[:, :world.prompt_len], prompts)
    assert world.utility(best).mean() > world.utility(single).mean() + 0.5


@pytest.mark.parametrize("change", [{"elite_fraction": -0.1}, {"elite_fraction": 1.5},
                                    {"elite_k": 0}, {"reprompt_fraction": -0.1},
                                    {"reprompt_fraction": 1.5}])
def test_gold_config_rejects_a_bad_elite_or_reprompt_setting_by_name(change):
    """An elite_fraction or reprompt_fraction outside [0, 1], or an elite_k below 1, is a
    ValueError naming it."""
    with pytest.raises(ValueError, match=next(iter(change))):
        GoldConfig(**change)


def _gold_pairs(world, monkeypatch, reprompt_fraction):
    """The (chosen, rejected) pairs `train_gold` trains a gold RM on, captured."""
    seen = {}

    def capture(rm, chosen, rejected, config, generator, progress):
        seen.update(chosen=chosen, rejected=rejected)
        return {}

    monkeypatch.setattr("minirmo.reward.train_bradley_terry", capture)
    torch.manual_seed(0)
    policy = build_policy(world, PolicyConfig(n_layer=1, n_embd=16, n_head=2)).eval()
    config = GoldConfig(rm=RMConfig(1, 16, 2), pairs=300, reprompt_fraction=reprompt_fraction)
    train_gold(world, policy, world.corpus(64, torch.Generator().manual_seed(1)), config,
               torch.Generator().manual_seed(0))
    return seen["chosen"], seen["rejected"]


def test_gold_reprompt_pairs_are_extra_each_a_reply_beside_itself_under_another_prompt(
        world, monkeypatch):
    """reprompt_fraction 1 leaves the gold's ordinary pairs as they were and adds, for each,
    its first reply beside itself under another topic's prompt, the higher utility chosen."""
    ordinary = _gold_pairs(world, monkeypatch, 0.0)
    chosen, rejected = _gold_pairs(world, monkeypatch, 1.0)
    n = len(ordinary[0])
    assert torch.equal(chosen[:n], ordinary[0]) and torch.equal(rejected[:n], ordinary[1])
    extra_chosen, extra_rejected = chosen[n:], rejected[n:]
    assert len(extra_chosen) > 50  # a reply without specifics ties with itself: dropped
    assert torch.equal(extra_chosen[:, world.prompt_len:], extra_rejected[:, world.prompt_len:])
    assert (world.topic_of(extra_chosen) != world.topic_of(extra_rejected)).all()
    assert (world.utility(extra_chosen) > world.utility(extra_rejected)).all()


def test_bradley_terry_learns_a_simple_preference(world):
    """An RM trained on 'a review with praise beats one without' ranks held-out pairs right."""
    g = torch.Generator().manual_seed(0)
    corpus = world.corpus(4000, g)
    has_praise = torch.isin(corpus[:, world.prompt_len:], world.praise_ids).any(1)
    chosen, rejected = corpus[has_praise][:1200], corpus[~has_praise][:1200]
    torch.manual_seed(0)
    rm = RewardModel(world, RMConfig(1, 16, 2))
    report = train_bradley_terry(rm, chosen, rejected, BTConfig(epochs=4), g)
    assert report["val_acc"] > 0.9
    assert report["val_loss"] < 0.4  # well below chance, ln 2 = 0.693


def test_pair_loss_and_accuracy_are_the_bt_loss_and_the_share_ranked_as_labelled(world):
    """On held-out pairs the loss is the Bradley–Terry loss of the RM's scores and the accuracy
    the share with a positive margin; swapping every pair turns accuracy a into 1 − a."""
    corpus = world.corpus(400, torch.Generator().manual_seed(1))
    chosen, rejected = corpus[:200], corpus[200:]
    torch.manual_seed(1)
    rm = RewardModel(world, RMConfig(1, 16, 2)).eval()
    margin = rm.score(chosen) - rm.score(rejected)
    result = pair_loss_and_accuracy(rm, chosen, rejected)
    assert result["loss"] == pytest.approx(
        bradley_terry_loss(rm.score(chosen), rm.score(rejected)).item())
    assert result["accuracy"] == pytest.approx((margin > 0).float().mean().item())
    assert (margin != 0).all()  # no ties, so the swapped accuracy is exactly 1 − a
    swapped = pair_loss_and_accuracy(rm, rejected, chosen)
    assert swapped["accuracy"] == pytest.approx(1 - result["accuracy"])


def test_bradley_terry_rejects_mismatched_pairs_by_name(world):
    """Chosen and rejected of different shapes raise a ValueError naming `rejected`."""
    rm = RewardModel(world, RMConfig(1, 16, 2))
    seqs = reviews(world, ["pizza : great <eos>"] * 3)
    with pytest.raises(ValueError, match="rejected"):
        train_bradley_terry(rm, seqs, seqs[:2])


def test_calibration_centres_the_initial_policy_and_scales_the_gold(world):
    """After calibration, initial samples score mean 0 (and std 1 when asked)."""
    torch.manual_seed(0)
    rm = RewardModel(world, RMConfig(1, 16, 2))
    samples = world.corpus(512, torch.Generator().manual_seed(1))
    rm.calibrate(samples)
    assert abs(rm.score(samples).mean()) < 1e-4
    rm.calibrate(samples, unit_variance=True)
    scores = rm.score(samples)
    assert abs(scores.mean()) < 1e-4 and abs(scores.std() - 1) < 1e-4


def test_saved_and_reloaded_rm_scores_identically(world, tmp_path):
    """A reward model saved with its calibration and loaded again gives the same scores."""
    torch.manual_seed(0)
    rm = RewardModel(world, RMConfig(1, 16, 2))
    samples = world.corpus(64, torch.Generator().manual_seed(2))
    rm.calibrate(samples, unit_variance=True)
    torch.save(rm.state_dict(), tmp_path / "rm.pt")
    loaded = RewardModel(world, RMConfig(1, 16, 2))
    loaded.load_state_dict(torch.load(tmp_path / "rm.pt", weights_only=True))
    assert torch.equal(rm.score(samples), loaded.score(samples))


def test_recentring_on_other_samples_keeps_the_scale(world):
    """Calibrating again without unit_variance moves only the shift: the units are kept."""
    torch.manual_seed(0)
    rm = RewardModel(world, RMConfig(1, 16, 2))
    first = world.corpus(512, torch.Generator().manual_seed(1))
    other = world.corpus(512, torch.Generator().manual_seed(2))
    rm.calibrate(first, unit_variance=True)
    scale, gaps = rm.scale.clone(), rm.score(other) - rm.score(other).mean()
    rm.calibrate(other)
    assert torch.equal(rm.scale, scale)
    assert abs(rm.score(other).mean()) < 1e-4
    assert torch.allclose(rm.score(other) - rm.score(other).mean(), gaps, atol=1e-5)


# --- the Bradley–Terry loss, by hand -----------------------------------------------------------


@pytest.mark.task_4_1
def test_bradley_terry_loss_is_ln_2_at_zero_margin():
    """Equal scores (no preference learned) give −log σ(0) = ln 2 whatever the scores are."""
    scores = torch.tensor([0.0, 3.0, -7.5])
    check_close("loss at margin 0", bradley_terry_loss(scores, scores), math.log(2), 1e-7,
                "float32 (the models' dtype): ~1 ulp of 0.69")


@pytest.mark.task_4_1
def test_bradley_terry_loss_has_exact_values():
    """Margins (1, 2): mean of log(1 + e^−1) and log(1 + e^−2); reversed pairs cost log(1 + e)."""
    chosen = torch.tensor([1.0, 2.5], dtype=torch.float64)
    rejected = torch.tensor([0.0, 0.5], dtype=torch.float64)
    expected = (math.log1p(math.exp(-1)) + math.log1p(math.exp(-2))) / 2
    check_close("loss", bradley_terry_loss(chosen, rejected), expected, 1e-12, "float64, two terms")
    check_close("reversed pair", bradley_terry_loss(chosen[:1], rejected[:1] + 2),
                math.log1p(math.e), 1e-12, "float64, one term")


@pytest.mark.task_4_1
def test_bradley_terry_loss_stays_finite_for_huge_margins():
    """A margin of −400 costs exactly 400 and +400 costs 0 (log σ computed stably, in float32)."""
    assert bradley_terry_loss(torch.tensor([-200.0]), torch.tensor([200.0])).item() == 400.0
    assert bradley_terry_loss(torch.tensor([200.0]), torch.tensor([-200.0])).item() == 0.0


@pytest.mark.task_4_1
def test_bradley_terry_loss_gradient_is_minus_sigmoid_of_minus_margin_over_pairs():
    """d loss/d r_c = −σ(−m)/pairs and d loss/d r_r = +σ(−m)/pairs."""
    chosen = torch.tensor([1.0, 2.5], dtype=torch.float64, requires_grad=True)
    rejected = torch.tensor([0.0, 0.5], dtype=torch.float64, requires_grad=True)
    bradley_terry_loss(chosen, rejected).backward()
    pull = torch.sigmoid(-torch.tensor([1.0, 2.0], dtype=torch.float64)) / 2
    check_close("d/d chosen", chosen.grad, -pull, 1e-12, "float64 sigmoid")
    check_close("d/d rejected", rejected.grad, pull, 1e-12, "float64 sigmoid")
