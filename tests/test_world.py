"""The synthetic world: a readable tokenizer, a teacher that writes reviews, a hidden utility."""

import pytest
import torch

from minirmo.world import World, WorldConfig


@pytest.fixture(scope="module")
def world():
    return World()


def seq(world, text):
    """Full sequence (1, prompt + max_len) for 'topic : words ... <eos>'."""
    ids = world.tokenizer.encode("<bos> " + text)
    ids += [world.tokenizer.pad_id] * (world.prompt_len + world.max_len - len(ids))
    return torch.tensor([ids])


def test_tokenizer_round_trips_text(world):
    """Encoding then decoding a review gives back the same words."""
    text = "<bos> pizza : the crust was great <eos>"
    assert world.tokenizer.decode(world.tokenizer.encode(text)) == text


def test_tokenizer_rejects_unknown_words_by_name(world):
    """An unknown word raises a ValueError that names it."""
    with pytest.raises(ValueError, match="banana"):
        world.tokenizer.encode("the banana")


@pytest.mark.parametrize("text, expected", [
    ("pizza : the crust was great <eos>", 0.8 + 1.0),  # one specific, one praise word
    ("pizza : the crust and cheese and sauce and oven <eos>", 3 * 0.8),  # specifics cap at 3
    ("pizza : great crust and lovely cheese <eos>", 2 * 0.8 + 2.0),  # two distinct praise words
    ("pizza : great lovely superb crust was it <eos>", 0.8 + 2.0 - 1.5),  # a third one gushes
    ("pizza : great great crust was it <eos>", 0.8 + 1.0 - 1.0),  # a repeat is spam
    ("pizza : the crust was cold and slow <eos>", 0.8 - 2 * 0.6),  # complaints
    ("hotel : the crust was great <eos>", 1.0),  # crust is not a hotel specific
    ("pizza : great <eos>", 1.0 - 1.0),  # fewer than four words
])
def test_utility_scores_reviews_as_documented(world, text, expected):
    """The hidden utility gives each documented review exactly its documented score."""
    assert world.utility(seq(world, text)).item() == pytest.approx(expected)


def test_utility_punishes_responses_that_never_end(world):
    """A response with no <eos> loses 2 against the same words finished."""
    words = "pizza : the crust was great and the cheese was really lovely"
    finished, unfinished = seq(world, words + " <eos>"), seq(world, words)
    assert world.utility(finished) - world.utility(unfinished) == pytest.approx(2.0)


def test_teacher_writes_finished_on_topic_reviews(world):
    """Teacher samples end with <eos>, have several words, and rarely gush (3+ praise words)."""
    corpus = world.corpus(4000, torch.Generator().manual_seed(0))
    response = corpus[:, world.prompt_len:]
    assert (response == world.tokenizer.eos_id).any(1).float().mean() > 0.95
    praise = torch.isin(response, world.praise_ids).sum(1)
    assert 0.005 < (praise >= 3).float().mean() < 0.05  # rare, so proxies barely see it
    assert world.utility(corpus).std() > 0.5  # enough spread for best-of-n to select on


def test_teacher_is_fixed_by_the_world_seed():
    """Two worlds with the same seed have the same teacher; another seed gives another one."""
    assert torch.equal(World().bigram, World().bigram)
    assert not torch.equal(World().bigram, World(WorldConfig(seed=7)).bigram)


def test_perturb_reaches_tails_the_teacher_rarely_visits(world):
    """Perturbed samples have far more gushing, spam and unfinished responses."""
    g = torch.Generator().manual_seed(0)
    corpus = world.corpus(2000, g)
    perturbed = world.perturb(corpus, g)
    assert perturbed.shape == corpus.shape
    assert world.utility(perturbed).mean() < world.utility(corpus).mean() - 0.5
    unfinished = ~(perturbed[:, world.prompt_len:] == world.tokenizer.eos_id).any(1)
    assert unfinished.float().mean() > 0.15
