"""Pretraining on the verdict corpus: cheap, noisy ratings that carry the reader's judgment."""

from dataclasses import replace

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from test_runs import MICRO

from minirmo.pretrain import PretrainConfig, pretrain_backbone, verdict_corpus
from minirmo.reward import RewardModel, RMConfig
from minirmo.runs.run import Run
from minirmo.world import World

WORLD = World()


@settings(max_examples=10, deadline=None)
@given(ratings=st.integers(2, 7), noise=st.floats(0.05, 3.0), seed=st.integers(0, 2**16))
def test_every_grade_is_equally_common(ratings, noise, seed):
    """The corpus's grades are cut at its quantiles: with any noise on the verdict (the utility
    alone takes few values, and ties), each of the `ratings` grades holds the same share."""
    config = PretrainConfig(texts=600, ratings=ratings, verdict_noise=noise)
    grades = verdict_corpus(WORLD, config, torch.Generator().manual_seed(seed))["ratings"]
    counts = torch.bincount(grades, minlength=ratings)
    assert len(counts) == ratings and counts.max() - counts.min() <= 2


def test_without_noise_the_grades_follow_the_utility():
    """At verdict_noise 0 a better review never gets a lower grade; with noise the grades
    still rise with the utility on average, but less sharply."""
    clean = verdict_corpus(WORLD, PretrainConfig(texts=2000, verdict_noise=0.0),
                           torch.Generator().manual_seed(0))
    utility = WORLD.utility(clean["texts"])
    order = utility.argsort()
    assert torch.all(clean["ratings"][order].diff() >= 0)
    noisy = verdict_corpus(WORLD, PretrainConfig(texts=2000, verdict_noise=1.0),
                           torch.Generator().manual_seed(0))

    def correlation(corpus):
        u = WORLD.utility(corpus["texts"])
        return torch.corrcoef(torch.stack([u, corpus["ratings"].float()]))[0, 1]

    assert 0.3 < correlation(noisy) < correlation(clean)


def test_a_pretrained_backbone_loads_into_a_reward_model_and_predicts_the_verdict():
    """The backbone's state loads into a RewardModel of its size, and a linear read-out of its
    last-token state separates the best grade from the worst better than a random backbone's."""
    config = PretrainConfig(texts=4096, epochs=2, batch_size=128, verdict_noise=0.0)
    corpus = verdict_corpus(WORLD, config, torch.Generator().manual_seed(0))
    size = RMConfig(1, 16, 2)
    torch.manual_seed(0)
    state = pretrain_backbone(WORLD, size, corpus, config, torch.Generator().manual_seed(1))

    def separation(rm):
        texts, grades = corpus["texts"], corpus["ratings"]
        mask = texts != WORLD.tokenizer.pad_id
        with torch.no_grad():
            hidden = rm.backbone(texts, attention_mask=mask).last_hidden_state
        features = hidden[torch.arange(len(texts)), mask.sum(1) - 1]  # (texts, n_embd)
        ends = (grades == 0) | (grades == config.ratings - 1)
        x, y = features[ends], (grades[ends] > 0).float()
        x = torch.cat([x, torch.ones(len(x), 1)], 1)
        w = torch.linalg.lstsq(x, y[:, None]).solution
        return ((x @ w).squeeze(1) > 0.5).eq(y > 0.5).float().mean()

    pretrained, random = RewardModel(WORLD, size), RewardModel(WORLD, size)
    pretrained.backbone.load_state_dict(state)
    assert separation(pretrained) > separation(random) + 0.05


def test_only_a_preset_with_pretraining_gives_its_proxies_a_backbone():
    """A proxy reads a pretrained backbone (one per size, shared by every number of
    comparisons) only where the preset sets `pretrain`; without it the proxy's key is as
    before, so the test and tiny presets keep theirs."""
    plain = Run(MICRO, "unused", progress=False)
    pretrained = Run(replace(MICRO, pretrain=PretrainConfig(texts=1000)), "unused",
                     progress=False)
    size = MICRO.proxy_sizes[0]
    assert "backbone" not in plain.proxy_artefact(size, 100).inputs
    with_backbone = [pretrained.proxy_artefact(size, n) for n in MICRO.proxy_data]
    assert {a.inputs["backbone"].key for a in with_backbone} == {
        pretrained.backbone_artefact(size).key}
    assert plain.proxy_artefact(size, 100).key != with_backbone[0].key
    assert plain.policy_artefact().key == pretrained.policy_artefact().key


def test_ensemble_members_differ_by_their_pretraining():
    """Each ensemble member starts from a backbone pretrained from a seed of its own (its
    name), shared across label-noise levels; a preset without pretraining gives none."""
    run = Run(replace(MICRO, pretrain=PretrainConfig(texts=1000)), "unused", progress=False)
    size = MICRO.proxy_sizes[0]
    backbones = [{run.member_artefact(size, 200, noise, k).inputs["backbone"].key
                  for noise in (0.0, 0.25)} for k in range(3)]
    assert all(len(keys) == 1 for keys in backbones)
    keys = {keys.pop() for keys in backbones}
    assert len(keys) == 3 and run.backbone_artefact(size).key not in keys
    plain = Run(MICRO, "unused", progress=False)
    assert "backbone" not in plain.member_artefact(size, 200, 0.0, 0).inputs


@pytest.mark.parametrize("field, value", [("texts", 0), ("perturbed_fraction", 1.5),
                                          ("verdict_noise", -1.0), ("ratings", 0)])
def test_bad_pretraining_settings_are_errors_naming_the_field(field, value):
    """A non-positive corpus size or number of grades, a share outside [0, 1] or a negative
    noise is a ValueError that names the field."""
    with pytest.raises(ValueError, match=field):
        PretrainConfig(**{field: value})
