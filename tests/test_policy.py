"""The tiny policy: sampling and log-probs agree, padding and <eos> behave as PPO expects."""

import pytest
import torch

from minirmo.policy import PolicyConfig, build_policy, response_logprobs, response_mask, sample
from minirmo.world import World


@pytest.fixture(scope="module")
def setup():
    world = World()
    torch.manual_seed(0)
    return world, build_policy(world, PolicyConfig(n_layer=1, n_embd=32)).eval()


@pytest.mark.parametrize("temperature", [0.7, 1.0, 1.5])
def test_logprobs_of_sampled_sequences_match_sampling(setup, temperature):
    """Recomputed per-token log-probs equal those used to sample, at the same temperature."""
    world, model = setup
    g = torch.Generator().manual_seed(1)
    sequences, logp = sample(model, world.prompts.repeat(16, 1), world.max_len, temperature, g)
    with torch.no_grad():
        recomputed = response_logprobs(model, sequences, world.prompt_len, temperature)
    torch.testing.assert_close(recomputed, logp, atol=1e-5, rtol=1e-5)


def test_sequence_logprob_is_the_log_of_its_sampling_frequency(setup):
    """Summed log-probs of a response match how often sampling produces it."""
    world, model = setup
    g = torch.Generator().manual_seed(2)
    prompt = world.prompts[:1].expand(20000, -1)
    sequences, logp = sample(model, prompt, 1, 1.0, g)  # first word only
    first = sequences[:, world.prompt_len]
    token = torch.mode(first).values  # the most frequent first word
    frequency = (first == token).float().mean()
    probability = logp[first == token][0, 0].exp()
    assert abs(frequency - probability) < 4 * (probability * (1 - probability) / 20000) ** 0.5


def test_after_eos_come_only_pad_tokens_with_zero_logprob(setup):
    """Once a response says <eos>, the rest is <pad> and contributes no log-prob."""
    world, model = setup
    sequences, logp = sample(model, world.prompts.repeat(32, 1), world.max_len,
                             generator=torch.Generator().manual_seed(3))
    response = sequences[:, world.prompt_len:]
    mask = response_mask(response, world.tokenizer.eos_id)
    assert (response[~mask] == world.tokenizer.pad_id).all()
    assert (logp[~mask] == 0).all()
    assert (response[mask] != world.tokenizer.pad_id).all()


def test_response_mask_counts_up_to_first_eos_or_the_whole_truncated_row():
    """The mask covers tokens through the first <eos>, or every token when there is none."""
    eos = 2
    responses = torch.tensor([[5, 6, eos, 0, 0], [5, eos, 0, 0, 0], [5, 6, 7, 8, 9]])
    expected = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 0, 0, 0], [1, 1, 1, 1, 1]]).bool()
    assert torch.equal(response_mask(responses, eos), expected)


def test_policy_never_samples_special_tokens_inside_a_response(setup):
    """Responses hold only words, <eos> and trailing <pad>: never <bos>, ':' or a topic name."""
    world, model = setup
    sequences, _ = sample(model, world.prompts.repeat(64, 1), world.max_len, 2.0,
                          torch.Generator().manual_seed(4))
    response = sequences[:, world.prompt_len:]
    allowed = (response >= world.first_word) | (response == world.tokenizer.eos_id)
    allowed |= response == world.tokenizer.pad_id
    assert allowed.all()
