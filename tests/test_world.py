"""The synthetic world: a readable tokenizer, a teacher that writes reviews, a hidden utility."""

from dataclasses import replace

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from minirmo.runs.presets import GRADED_WORLD
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


@given(seed=st.integers(0, 2**31 - 1))
def test_reprompt_keeps_every_reply_token_and_moves_each_topic_by_its_shift(world, seed):
    """A reprompted review is its reply under the prompt `shift` topics on; shifting on by the
    rest of the cycle gives back the original."""
    g = torch.Generator().manual_seed(seed)
    corpus = world.corpus(16, g)
    shift = torch.randint(16, (16,), generator=g)
    moved = world.reprompt(corpus, shift)
    assert torch.equal(moved[:, world.prompt_len:], corpus[:, world.prompt_len:])
    assert torch.equal(moved[:, :world.prompt_len],
                       world.prompts[(world.topic_of(corpus) + shift) % 8])
    assert torch.equal(world.reprompt(moved, (8 - shift % 8) % 8), corpus)


def test_reprompted_teacher_reviews_lose_what_their_specifics_were_worth(world):
    """Under another topic's prompt the teacher's on-topic specifics earn nothing: the mean
    utility of its reviews drops by more than 0.8 (one specific's worth)."""
    g = torch.Generator().manual_seed(0)
    corpus = world.corpus(2000, g)
    moved = world.reprompt(corpus, torch.randint(1, 8, (2000,), generator=g))
    assert world.utility(moved).mean() < world.utility(corpus).mean() - 0.8


def test_perturb_reaches_tails_the_teacher_rarely_visits(world):
    """Perturbed samples have far more gushing, spam and unfinished responses."""
    g = torch.Generator().manual_seed(0)
    corpus = world.corpus(2000, g)
    perturbed = world.perturb(corpus, g)
    assert perturbed.shape == corpus.shape
    assert world.utility(perturbed).mean() < world.utility(corpus).mean() - 0.5
    unfinished = ~(perturbed[:, world.prompt_len:] == world.tokenizer.eos_id).any(1)
    assert unfinished.float().mean() > 0.15


@pytest.fixture(scope="module")
def graded():
    return World(GRADED_WORLD)


@pytest.mark.parametrize("text, expected", [
    ("pizza : the crust was really great <eos>", 0.8 + 1.0 + 0.5),  # 'really great' pays
    ("pizza : the crust was really very great <eos>", 0.8 + 1.0 + 0.5),  # one pile-up is free
    ("pizza : really very crust so too great <eos>", 0.8 + 1.0 + 0.5 - 1.2),  # a second costs
    ("pizza : crust and crust and crust <eos>", 2.4 - 1.0),  # a third use of a word is spam
    ("pizza : crust cheese sauce oven and crust <eos>", 2.4 - 1.5),  # a fifth specific stuffs
    ("pizza : the crust was great and the cheese was it we and a <eos>", 1.6 + 1.0),  # 12 words
    ("pizza : the crust was great and the cheese was it we and a the <eos>", 1.6 + 1.0 - 0.8),
])
def test_graded_utility_scores_each_trap_as_documented(graded, text, expected):
    """The graded world's utility adds exactly the documented value of each extra trap, on top
    of the reader's taste in phrasing."""
    sequence = seq(graded, text)
    taste = graded.taste_term(sequence).item()
    assert graded.utility(sequence).item() == pytest.approx(expected + taste, abs=1e-5)


def test_taste_term_sums_the_worth_of_each_adjacent_pair_of_words(graded):
    """The taste term of a review is taste[a, b] summed over its adjacent words a b (the
    prompt and <eos> take no part)."""
    words = ["the", "crust", "was", "great"]
    index = graded.tokenizer.index
    by_hand = sum(graded.taste[index[a], index[b]].item()
                  for a, b in zip(words[:-1], words[1:], strict=True))
    sequence = seq(graded, "pizza : the crust was great <eos>")
    assert graded.taste_term(sequence).item() == pytest.approx(by_hand, abs=1e-6)


def test_taste_leaves_the_teacher_unchanged(graded):
    """A world with taste writes exactly the corpus of the same world without it."""
    plain = World(replace(GRADED_WORLD, taste_scale=0.0))
    assert torch.equal(graded.corpus(500, torch.Generator().manual_seed(0)),
                       plain.corpus(500, torch.Generator().manual_seed(0)))


def test_teacher_says_a_few_word_pairs_often_and_thousands_rarely(graded):
    """The taste's long tail: under 200 word pairs make half of what the teacher says, and
    over 1,000 are needed for 99%."""
    response = graded.corpus(20_000, torch.Generator().manual_seed(0))[:, graded.prompt_len:]
    first, second = response[:, :-1], response[:, 1:]
    words = (first >= graded.first_word) & (second >= graded.first_word)
    vocab = len(graded.tokenizer)
    counts = torch.bincount((first * vocab + second)[words]).float().sort(descending=True).values
    share = counts.cumsum(0) / counts.sum()
    assert (share < 0.5).sum() + 1 < 200 and (share < 0.99).sum() + 1 > 1000


def test_one_trap_world_ignores_the_extra_traps(world):
    """The extra traps cost nothing in the one-trap world: a spammed review keeps its score."""
    assert world.utility(seq(world, "pizza : crust and crust and crust <eos>")).item() == (
        pytest.approx(2.4))


@pytest.mark.parametrize("text, trap", [
    ("pizza : great lovely superb crust <eos>", "gushing"),
    ("pizza : really very crust so too great <eos>", "stacking"),
    ("pizza : crust and crust and crust <eos>", "spam"),
    ("pizza : crust cheese sauce oven and crust <eos>", "stuffing"),
    ("pizza : the crust was great and the cheese was it we and a the <eos>", "rambling"),
])
def test_fell_into_names_the_one_trap_a_hacked_review_hit(graded, text, trap):
    """`fell_into` names the trap a documented hacked review fell into, and no other."""
    hits = {name for name, hit in graded.fell_into(seq(graded, text)).items() if hit.item()}
    assert hits == {trap}


def test_graded_traps_are_rare_but_reached_by_the_teacher(graded):
    """Each trap is visited by 0.5-8% of teacher samples: rare, but there to be found."""
    corpus = graded.corpus(20_000, torch.Generator().manual_seed(0))
    for trap, hit in graded.fell_into(corpus).items():
        assert 0.005 < hit.float().mean() < 0.08, trap


def test_graded_perturb_reaches_every_trap_more_often_than_the_teacher(graded):
    """Perturbed samples of the graded world fall into every trap more often than the
    teacher's, so the gold RM is shown all five."""
    g = torch.Generator().manual_seed(0)
    corpus = graded.corpus(4000, g)
    perturbed, before = graded.fell_into(graded.perturb(corpus, g)), graded.fell_into(corpus)
    for trap in before:
        assert perturbed[trap].float().mean() > 2 * before[trap].float().mean(), trap


@pytest.mark.parametrize("scale", [-0.1, "0.3", True])
def test_world_config_rejects_a_bad_taste_scale_by_name(scale):
    """A taste_scale that is not a number >= 0 raises a ValueError naming taste_scale."""
    with pytest.raises(ValueError, match="taste_scale"):
        WorldConfig(taste_scale=scale)


def test_world_config_rejects_unknown_traps_by_name():
    """An unknown or repeated extra trap raises a ValueError naming extra_traps."""
    for traps in (("flattery",), ("spam", "spam"), ("gushing",)):
        with pytest.raises(ValueError, match="extra_traps"):
            WorldConfig(extra_traps=traps)


def test_perturb_leaves_an_empty_response_to_a_spam_edit_unchanged_in_the_one_trap_world(world):
    """A spam or noise edit has no word to work on in an empty response: the one-trap world
    leaves it empty, as it did before the graded world existed (so its gold RM's data are
    unchanged)."""
    empty = seq(world, "pizza : <eos>").repeat(64, 1)
    kinds = torch.randint(4, (64,), generator=torch.Generator().manual_seed(0))  # perturb's draw
    perturbed = world.perturb(empty, torch.Generator().manual_seed(0))
    untouched = (kinds == 1) | (kinds == 3)
    assert untouched.any() and torch.equal(perturbed[untouched], empty[untouched])
