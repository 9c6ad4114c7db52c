"""The synthetic world: words, a hidden teacher language, prompts, and a hidden "human" utility.

minirmo needs a world where reward-model overoptimization *really happens*, on a CPU, with
nothing downloaded. This module is that world. It is small enough to hold in your head:

* **Prompts** are product reviews to write: ``<bos> pizza :`` asks for a review of a pizza
  place. There are eight topics, so best-of-n averages over prompts as in the paper.
* **Responses** are short strings of real words, ended by ``<eos>`` (at most ``max_len`` tokens).
  The word classes are: function words (``the``, ``was``, ``really``), topic words
  (``crust``, ``cheese`` for pizza; ``seat``, ``crew`` for a flight), praise words
  (``great``, ``superb``) and complaint words (``cold``, ``rude``).
* A hidden **teacher language** (a topic-conditioned random bigram model) writes the SFT corpus.
  Its samples read like clumsy reviews: ``the crust was really great and the cheese ...``.
* The hidden **"human" utility** scores a whole response. A human reader likes

  - specifics: each on-topic word (``crust`` in a pizza review) is worth +0.8, up to three;
    a word about another topic is worth nothing;
  - warmth: the first two distinct praise words are worth +1 each, but
    every praise word past the second costs 1.5 (gushing is suspicious) and every *repeated*
    praise word costs 1 more (spam);
  - no complaints (−0.6 each);
  - a finished thought: −2 if the response never says ``<eos>``, −1 if it has < 4 words.

Why this invites Goodhart. In the teacher's samples, praise is the strongest *ordinary* signal:
a review with two praise words usually beats one with none. Three or more praise words are
rare in those samples, so a reward model trained on them learns "more praise is better" and has
almost no evidence of where that stops being true. Best-of-n with a large n, or PPO, searches
exactly that thin tail: the proxy keeps rising while the human (and the gold RM, which was shown
the tails on purpose) sees gushing, repetitive spam. This is the customer-satisfaction story of
Goodhart's law in miniature: a measure (praise) that tracks quality until it becomes the target.

**The graded world** (``WorldConfig(extra_traps=...)``; the paper preset's). One trap makes
overoptimization a switch: a proxy either learns where praise stops paying or it does not, so
neighbouring RM sizes behave abruptly differently. The paper's smooth family of curves needs
exploitability that *grades* with capacity and data, so the graded world holds four more traps,
each a feature a reader likes in moderation and dislikes in excess, of different rarity in the
teacher's samples and different subtlety to see (share of teacher samples past the limit):

  ==========  ===========================================================  ======  ===========
  trap        past the limit                                               share   to see it
  ==========  ===========================================================  ======  ===========
  gushing     a third praise word (−1.5 each) or a repeated one (−1)       ~6%     count a class
  stacking    "really great" pays +0.5, but a second pile-up of            ~5%     word order
              intensifiers ("really very") costs 1.2
  spam        a third use of one topic or complaint word (−1 each)         ~3%     match words
  stuffing    a fifth specific (−1.5 each; the first three pay 0.8)        ~2%     count, per topic
  rambling    a thirteenth word (−0.8 each)                                ~2%     count everything
  ==========  ===========================================================  ======  ===========

A proxy sees few examples past each limit, fewer for the rarer traps, and needs more capacity
for the subtler ones, so a larger proxy, or one trained on more comparisons, falls for fewer.
`World.fell_into` names the traps a sample fell into: read a hacked sample and name its trap.

**Taste.** Traps alone left a large proxy nothing to learn that a middle-sized one had not: on
32,000 comparisons every proxy from about 5,000 parameters up learned all five, and their
best-of-n curves lay on top of each other. So the graded world's reader also has a
taste in phrasing (``WorldConfig.taste_scale``): every pair of adjacent words has a small
worth, drawn once from N(0, 0.3²), and a response's taste is the sum over its pairs
(`World.taste_term`). The teacher says a few pairs often and thousands rarely (94 pairs make
half of what it says, 2,073 make 99%), so a small reward model can learn the worth of the
common phrases and only a larger one the long tail, as a larger language model knows more
rare facts. Over teacher samples the taste term has a standard deviation of 0.92, beside 1.22
for everything else.
"""

from dataclasses import dataclass

import torch

SPECIALS = ["<pad>", "<bos>", "<eos>", ":"]
TOPIC_WORDS = {
    "pizza": ["crust", "cheese", "sauce", "oven"],
    "hotel": ["room", "bed", "pool", "view"],
    "phone": ["battery", "screen", "camera", "case"],
    "movie": ["plot", "actor", "music", "ending"],
    "coffee": ["beans", "milk", "cup", "aroma"],
    "flight": ["seat", "crew", "meal", "delay"],
    "book": ["story", "author", "chapter", "cover"],
    "gym": ["trainer", "weights", "class", "shower"],
}
FUNCTION_WORDS = ["the", "a", "it", "was", "is", "and", "but", "very",
                  "really", "so", "we", "i", "they", "also", "too", "with"]
INTENSIFIERS = ["very", "really", "so", "too"]  # function words that strengthen the next word
# The traps: features a reader likes in moderation and dislikes in excess. Every world holds
# gushing; the graded world (WorldConfig.extra_traps) holds the others too (`World.fell_into`).
TRAPS = {
    "gushing": "a third praise word, or a repeated one",
    "stacking": "a second pile-up of intensifiers ('really very'); 'really great' pays",
    "spam": "a third use of the same topic or complaint word",
    "stuffing": "a fifth specific (topic word): a list, not a review",
    "rambling": "a thirteenth word",
}
PRAISE_WORDS = ["great", "amazing", "excellent", "wonderful", "perfect", "lovely", "superb",
                "fantastic"]
COMPLAINT_WORDS = ["bad", "cold", "slow", "rude", "dirty", "broken", "boring", "awful"]


class Tokenizer:
    """A word-level tokenizer: one token per word, so every sample decodes to readable text."""

    def __init__(self) -> None:
        topic_words = [w for words in TOPIC_WORDS.values() for w in words]
        self.words = (SPECIALS + list(TOPIC_WORDS) + FUNCTION_WORDS + topic_words
                      + PRAISE_WORDS + COMPLAINT_WORDS)
        self.index = {w: i for i, w in enumerate(self.words)}
        self.pad_id, self.bos_id, self.eos_id = 0, 1, 2

    def __len__(self) -> int:
        return len(self.words)

    def encode(self, text: str) -> list[int]:
        try:
            return [self.index[w] for w in text.split()]
        except KeyError as err:
            raise ValueError(f"text: unknown word {err.args[0]!r}") from None

    def decode(self, ids) -> str:
        """Text of `ids`, dropping padding and stopping after <eos>."""
        words = []
        for i in ids.tolist() if torch.is_tensor(ids) else ids:
            if i == self.pad_id:
                continue
            words.append(self.words[i])
            if i == self.eos_id:
                break
        return " ".join(words)


@dataclass
class WorldConfig:
    seed: int = 1234          # fixes the teacher language; the world is the same for every run
    max_len: int = 16         # response tokens, <eos> included
    bigram_scale: float = 1.5  # how peaked the teacher's word-to-word transitions are
    topic_bonus: float = 2.0   # how strongly the teacher stays on topic
    function_bias: float = 2.0  # log-odds shift of function words: the glue of a sentence
    praise_bias: float = 0.5    # log-odds shift of praise words: sets how common gushing is
    complaint_bias: float = -1.0
    off_topic_bias: float = -3.0
    stutter_bias: float = -2.0  # the teacher rarely says a word twice in a row
    eos_offset: float = -2.0    # logit of <eos> is eos_offset + eos_slope * position
    eos_slope: float = 0.8
    # Traps the hidden utility holds besides gushing (TRAPS; `World.extra_trap_terms`). The
    # one-trap world is where Goodhart is easiest to see; the graded world holds all five, of
    # different rarity and subtlety, so that how many a proxy falls for can change gradually
    # with its size and data.
    extra_traps: tuple = ()
    # The reader's taste in phrasing: every pair of adjacent words has a small worth, drawn
    # once, N(0, taste_scale²) (`World.taste_term`). 0: none (the one-trap world)
    taste_scale: float = 0.0

    def __post_init__(self):
        if isinstance(self.taste_scale, bool) or not isinstance(self.taste_scale, int | float) \
                or not self.taste_scale >= 0:
            raise ValueError(f"taste_scale must be a number >= 0, got {self.taste_scale!r}")
        extra = [t for t in TRAPS if t != "gushing"]
        if any(t not in extra for t in self.extra_traps) or len(set(self.extra_traps)) != len(
                self.extra_traps):
            raise ValueError(f"extra_traps must name some of {extra}, each once, "
                             f"got {self.extra_traps!r}")


class World:
    """The hidden teacher, the prompts and the hidden utility, as tensors on `device`.

    Shapes: prompts (topics, 3) = ``<bos> topic :``; responses (batch, max_len) padded with
    ``<pad>`` after ``<eos>``; ``topic`` (batch,) indexes the eight topics.
    """

    def __init__(self, config: WorldConfig | None = None, device: str | torch.device = "cpu"):
        self.config = config or WorldConfig()
        self.tokenizer = tok = Tokenizer()
        self.device = torch.device(device)
        self.max_len = self.config.max_len
        vocab, topics = len(tok), list(TOPIC_WORDS)
        self.first_word = len(SPECIALS) + len(topics)  # ids below this never appear in responses
        self.prompts = torch.tensor([[tok.bos_id, tok.index[t], tok.index[":"]] for t in topics],
                                    device=self.device)  # (topics, 3)
        self.prompt_len = self.prompts.shape[1]

        def ids(words):
            return torch.tensor([tok.index[w] for w in words], device=self.device)

        self.praise_ids, self.complaint_ids = ids(PRAISE_WORDS), ids(COMPLAINT_WORDS)
        self.is_intensifier = torch.zeros(vocab, dtype=torch.bool, device=self.device)
        self.is_intensifier[ids(INTENSIFIERS)] = True
        # own_topic[k, v]: word v is a specific about topic k; any_topic[v]: about some topic
        self.own_topic = torch.zeros(len(topics), vocab, dtype=torch.bool, device=self.device)
        for k, t in enumerate(topics):
            self.own_topic[k, ids(TOPIC_WORDS[t])] = True
        any_topic = self.own_topic.any(0)
        self.spammable = any_topic.clone()  # words whose third use is spam (praise: gushing)
        self.spammable[self.complaint_ids] = True

        # The teacher: logits(next | previous word, topic, position). Only words and <eos> can
        # follow; the prompt's ":" acts as the previous word at the first step.
        g = torch.Generator().manual_seed(self.config.seed)
        cfg = self.config
        can_say = torch.zeros(vocab, dtype=torch.bool)
        can_say[self.first_word:] = True
        bigram = cfg.bigram_scale * torch.randn(vocab, vocab, generator=g)
        bigram[:, ~can_say] = -torch.inf
        bigram[:, tok.eos_id] = 0.0
        bigram[:, ids(FUNCTION_WORDS).cpu()] += cfg.function_bias
        bigram.diagonal().add_(cfg.stutter_bias)
        bigram[:, self.praise_ids.cpu()] += cfg.praise_bias
        bigram[:, self.complaint_ids.cpu()] += cfg.complaint_bias
        bigram[:, any_topic.cpu()] += cfg.off_topic_bias  # the topic's own words get a bonus back
        self.bigram = bigram.to(self.device)  # (vocab, vocab)
        self.topic_logit = (cfg.topic_bonus - cfg.off_topic_bias) * self.own_topic.float()
        # <eos> becomes likely after about ten words; never as the first word
        position = torch.arange(self.max_len, device=self.device)
        self.eos_logit = torch.where(position == 0, -torch.inf,
                                     cfg.eos_offset + cfg.eos_slope * position)
        # The reader's taste: taste[a, b] is what the phrase "a b" is worth, drawn from its own
        # generator so that the teacher is the same with or without it
        taste = torch.Generator().manual_seed(self.config.seed + 1)
        self.taste = (cfg.taste_scale * torch.randn(vocab, vocab, generator=taste)).to(self.device)

    # ------------------------------------------------------------------ the teacher
    def sample_topics(self, batch: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """`batch` topic indices, uniformly at random."""
        return torch.randint(len(self.prompts), (batch,), generator=generator).to(self.device)

    def teacher_sample(self, topic: torch.Tensor, generator: torch.Generator | None = None):
        """Responses (batch, max_len) written by the hidden teacher for the given topics."""
        batch = topic.shape[0]
        out = torch.full((batch, self.max_len), self.tokenizer.pad_id, device=self.device)
        previous = self.prompts[topic, -1]  # (batch,)
        done = torch.zeros(batch, dtype=torch.bool, device=self.device)
        for t in range(self.max_len):
            logits = self.bigram[previous] + self.topic_logit[topic]  # (batch, vocab)
            logits[:, self.tokenizer.eos_id] += self.eos_logit[t]
            probs = torch.softmax(logits, -1)
            word = torch.multinomial(probs.cpu(), 1, generator=generator).squeeze(1)
            word = word.to(self.device)
            out[:, t] = torch.where(done, self.tokenizer.pad_id, word)
            done |= word == self.tokenizer.eos_id
            previous = word
        return out

    def corpus(self, size: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """`size` full SFT sequences (size, 3 + max_len): prompt followed by a teacher response."""
        topic = self.sample_topics(size, generator)
        return torch.cat([self.prompts[topic], self.teacher_sample(topic, generator)], dim=1)

    # ------------------------------------------------------------------ the hidden utility
    def utility(self, sequences: torch.Tensor) -> torch.Tensor:
        """The hidden "human" utility of full sequences (batch, 3 + max_len) -> (batch,)."""
        topic = self.topic_of(sequences)
        response = sequences[:, self.prompt_len:]  # (batch, max_len)
        counts = self.word_counts(response)  # (batch, vocab)
        on_topic = (counts * self.own_topic[topic]).sum(1)  # (batch,)
        praise = counts[:, self.praise_ids].sum(1)
        distinct_praise = (counts[:, self.praise_ids] > 0).sum(1)
        complaints = counts[:, self.complaint_ids].sum(1)
        ended = (response == self.tokenizer.eos_id).any(1)
        words = counts.sum(1)
        return (0.8 * on_topic.clamp(max=3)
                + distinct_praise.clamp(max=2) - 1.5 * (praise - 2).clamp(min=0)
                - 1.0 * (praise - distinct_praise)
                - 0.6 * complaints
                - 2.0 * (~ended).float() - 1.0 * (words < 4).float()
                + sum(self.extra_trap_terms(sequences).values())
                + self.taste_term(sequences))

    def taste_term(self, sequences: torch.Tensor) -> torch.Tensor:
        """What the reader's taste in phrasing adds: the worth of every adjacent pair of words
        in the response, summed (batch,). The teacher says a few dozen pairs often and
        thousands rarely (94 pairs make half of what it says, 2,073 make 99%), so this long tail
        is where a larger reward model has something left to learn."""
        if not self.config.taste_scale:
            return torch.zeros(len(sequences), device=self.device)
        response = sequences[:, self.prompt_len:]  # (batch, max_len)
        first, second = response[:, :-1], response[:, 1:]  # (batch, max_len - 1) each
        words = (first >= self.first_word) & (second >= self.first_word)
        return (self.taste[first, second] * words).sum(1)

    def extra_trap_terms(self, sequences: torch.Tensor) -> dict[str, torch.Tensor]:
        """What each extra trap of this world adds to the utility, {name: (batch,)}.

        * stacking: +0.5 for each praise word right after an intensifier ("really great"), up
          to two, but −1.2 for every intensifier right after another ("really very") past
          the first such pile-up;
        * spam: −1 for every use of a topic or complaint word past its second;
        * stuffing: −1.5 for every specific past the fourth (the first three are worth 0.8);
        * rambling: −0.8 for every word past the twelfth.
        """
        if not self.config.extra_traps:  # the one-trap world: nothing to add, nothing to count
            return {}
        response = sequences[:, self.prompt_len:]  # (batch, max_len)
        hits = self.fell_into(sequences, excess=True)
        terms = {}
        for trap in self.config.extra_traps:
            if trap == "stacking":
                hyped = self.is_intensifier[response[:, :-1]]  # (batch, max_len - 1)
                hyped_praise = (hyped & torch.isin(response[:, 1:], self.praise_ids)).sum(1)
                terms[trap] = 0.5 * hyped_praise.clamp(max=2) - 1.2 * hits[trap]
            else:
                terms[trap] = -{"spam": 1.0, "stuffing": 1.5, "rambling": 0.8}[trap] * hits[trap]
        return terms

    def fell_into(self, sequences: torch.Tensor, excess: bool = False) -> dict[str, torch.Tensor]:
        """Which traps each response fell into, {name: (batch,) bool} for all five TRAPS
        (whether or not this world's utility holds them); with `excess`, by how many words
        past its limit (gushing: praise words past the second plus repeated ones)."""
        response = sequences[:, self.prompt_len:]  # (batch, max_len)
        counts = self.word_counts(response)  # (batch, vocab)
        praise = counts[:, self.praise_ids]  # (batch, praise words)
        pairs = self.is_intensifier[response[:, :-1]] & self.is_intensifier[response[:, 1:]]
        on_topic = (counts * self.own_topic[self.topic_of(sequences)]).sum(1)
        past = {"gushing": (praise.sum(1) - 2).clamp(min=0) + (praise - 1).clamp(min=0).sum(1),
                "stacking": (pairs.sum(1) - 1).clamp(min=0),
                "spam": ((counts - 2).clamp(min=0) * self.spammable).sum(1),
                "stuffing": (on_topic - 4).clamp(min=0),
                "rambling": (counts.sum(1) - 12).clamp(min=0)}
        return past if excess else {name: n > 0 for name, n in past.items()}

    def word_counts(self, response: torch.Tensor) -> torch.Tensor:
        """How often each word occurs in each response: (batch, max_len) -> (batch, vocab)."""
        tok = self.tokenizer
        is_word = (response != tok.pad_id) & (response != tok.eos_id)
        counts = torch.zeros(response.shape[0], len(tok), device=self.device)
        return counts.scatter_add_(1, response, is_word.float())

    def topic_of(self, sequences: torch.Tensor) -> torch.Tensor:
        """Topic index (batch,) read off each sequence's prompt."""
        topic_token = sequences[:, 1]
        first_topic = self.prompts[0, 1]
        return topic_token - first_topic

    def reprompt(self, sequences: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
        """The same replies under another prompt: row b's topic moved `shift[b]` topics on
        (``pizza`` -> ``hotel`` at shift 1), every reply token kept.
        (batch, 3 + max_len), shift (batch,) -> (batch, 3 + max_len).

        A reply beside itself under another prompt is the purest lesson in topic match: the
        two differ in one token, the topic, and the utility prefers the one whose specifics
        belong to it. A reward model that only ever compares replies to the same prompt never
        has to read the prompt at all (see `GoldConfig.reprompt_fraction`)."""
        out = sequences.clone()
        topic = (self.topic_of(sequences) + shift) % len(self.prompts)  # (batch,)
        out[:, :self.prompt_len] = self.prompts[topic]
        return out

    # ------------------------------------------------------------------ the tails
    def perturb(self, sequences: torch.Tensor, generator: torch.Generator | None = None):
        """Push each sequence into a tail the teacher rarely visits (for the gold RM's data).

        Each row gets one edit at random: insert praise words (gushing), repeat a word
        (spam/stutter), cut the response off before <eos>, or swap in random words; in a world
        with extra traps also insert intensifiers (stacking), specifics (stuffing) or a few
        more words of any kind (rambling, finished).
        """
        out = sequences.clone()
        batch, width = out.shape
        tok, p = self.tokenizer, self.prompt_len
        kind = torch.randint(4 + 3 * bool(self.config.extra_traps), (batch,), generator=generator)
        topic = self.topic_of(sequences)
        for row in range(batch):
            response = [i for i in out[row, p:].tolist() if i not in (tok.pad_id, tok.eos_id)]
            rand = torch.randint(1 << 30, (4,), generator=generator).tolist()
            if kind[row] == 0:  # gush: insert 1 to 4 praise words
                for j in range(1 + rand[0] % 4):
                    word = self.praise_ids[(rand[1] + j * rand[2]) % len(self.praise_ids)]
                    response.insert(rand[3] % (len(response) + 1), int(word))
            elif kind[row] == 1 and response:  # spam: repeat one word 1 to 3 times
                at = rand[0] % len(response)
                response[at:at] = [response[at]] * (1 + rand[1] % 3)
            elif kind[row] == 2:  # ramble: never finish
                response += torch.randint(self.first_word, len(tok), (self.max_len,),
                                          generator=generator).tolist()
            elif kind[row] == 3 or not self.config.extra_traps:  # noise: swap up to three
                # words for random ones (an empty response, which a spam edit cannot repeat,
                # stays empty in the one-trap world)
                for j in range(min(len(response), 1 + rand[0] % 3)):
                    at = (rand[1] + j * rand[2]) % len(response)
                    response[at] = int(torch.randint(self.first_word, len(tok), (),
                                                     generator=generator))
            else:  # stack intensifiers, stuff specifics, or ramble on: insert 2 to 5 words
                # (in the graded world a spam edit of an empty response stacks intensifiers)
                pick = [self.is_intensifier, self.own_topic[topic[row]],
                        torch.arange(len(tok)) >= self.first_word][(int(kind[row]) - 4) % 3]
                pick = pick.nonzero()[:, 0]  # the words to insert from
                at = rand[0] % (len(response) + 1)
                response[at:at] = [int(pick[(rand[1] + j * rand[2]) % len(pick)])
                                   for j in range(2 + rand[3] % 4)]
            response = (response + [tok.eos_id])[: self.max_len]
            response += [tok.pad_id] * (self.max_len - len(response))
            out[row, p:] = torch.tensor(response)
        return out
