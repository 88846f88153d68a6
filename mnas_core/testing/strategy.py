"""The Strategy contract (mnas_core.strategies.base.Strategy) as a pytest suite: subclass
`StrategyContract` and define `make(space, seed)`."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from ..runfile import decode_state, encode_state
from ..space import BlockOptions, SearchSpace
from ..strategies.base import Strategy, Tokens

# What the search turns into "the stored strategy state does not fit" (search._restore).
REFUSALS = (KeyError, TypeError, ValueError, RuntimeError, IndexError, AttributeError)


def toy_reward(tokens: Tokens) -> float:
    """A noise-free reward with a known optimum (every token 0): the share of zeros."""
    return float(np.mean(np.asarray(tokens) == 0))


class StrategyContract:
    """Every clause of the Strategy docstrings, for the strategy `make` builds.

    `make(space, seed)` returns a fresh strategy of one fixed config; keep that config small
    (a population of a few) so that a few batches of `batch` reach its learning phase.
    `space()` is the space most tests use (the default search space)."""

    batch = 4

    def make(self, space: SearchSpace, seed: int) -> Strategy:
        raise NotImplementedError("a StrategyContract subclass defines make(space, seed)")

    def space(self) -> SearchSpace:
        return SearchSpace()

    def play(self, strategy: Strategy, rounds: int) -> list[list[Tokens]]:
        """Ask and tell `rounds` batches as the search does (toy rewards); the asks."""
        asked = []
        for _ in range(rounds):
            batch = strategy.ask(self.batch)
            strategy.tell(batch, [toy_reward(t) for t in batch])
            asked.append(batch)
        return asked

    # ------------------------------------------------------------ the interface
    def test_is_a_strategy_with_a_name(self):
        s = self.make(self.space(), 0)
        assert isinstance(s, Strategy), f"{type(s).__name__} does not subclass Strategy"
        assert isinstance(s.name, str) and s.name

    # ------------------------------------------------------------ ask
    def test_asks_are_valid_token_sequences(self):
        space = self.space()
        sizes, s = space.vocab_sizes(), self.make(space, 0)
        for n in (1, self.batch, 1, self.batch, self.batch, self.batch):
            batch = s.ask(n)
            assert isinstance(batch, list) and len(batch) == n
            for tokens in batch:
                assert isinstance(tokens, list) and len(tokens) == len(sizes)
                assert all(type(t) is int for t in tokens), f"not plain ints: {tokens}"
                assert all(0 <= t < k for t, k in zip(tokens, sizes)), tokens
                space.decode(tokens)
            json.dumps(batch)  # the run store writes the tokens as JSON
            s.tell(batch, [toy_reward(t) for t in batch])

    def test_single_choice_space(self):
        one = BlockOptions(ops=("mbconv6",), kernels=(3,), se_ratios=(0.0,),
                           skips=("identity",), filter_mults=(1.0,), layer_deltas=(0,))
        space = SearchSpace(blocks=(one,) * 7)
        s = self.make(space, 0)
        for _ in range(3):
            batch = s.ask(3)
            assert batch == [[0] * len(space.vocab_sizes())] * 3
            s.tell(batch, [0.5, 0.6, 0.7])

    # ------------------------------------------------------------ seeding
    def test_the_seed_decides_the_asks(self):
        space = self.space()
        assert self.play(self.make(space, 3), 4) == self.play(self.make(space, 3), 4)
        assert self.play(self.make(space, 3), 4) != self.play(self.make(space, 4), 4)

    # ------------------------------------------------------------ tell
    def test_failed_candidates_are_left_out_of_learning(self):
        """Twins told the same rewards, one of them other tokens wherever a candidate failed
        (NaN), go on asking the same: a failed candidate's tokens changed nothing."""
        space = self.space()
        a, b = self.make(space, 5), self.make(space, 5)
        other = np.random.default_rng(12345)
        for round_ in range(6):
            asked = a.ask(self.batch)
            assert b.ask(self.batch) == asked
            if round_ == 3:   # a batch of only failures
                rewards = [math.nan] * len(asked)
            else:
                rewards = [math.nan if i % 2 == 0 else toy_reward(t) for i, t in enumerate(asked)]
            a.tell(asked, rewards)
            b.tell([space.sample_tokens(other) if math.isnan(r) else t
                    for t, r in zip(asked, rewards)], rewards)
        last = a.ask(self.batch)
        assert b.ask(self.batch) == last
        assert all(len(t) == len(space.vocab_sizes()) for t in last)

    # ------------------------------------------------------------ state
    def test_state_round_trip_continues_exactly(self):
        """Through the run store's own codec, into a strategy of another seed; taking the
        state leaves the original as it was."""
        space = self.space()
        a, untouched = self.make(space, 1), self.make(space, 1)
        self.play(a, 3)
        self.play(untouched, 3)
        blob = encode_state(a.state_dict())  # ValueError unless tensors and plain data
        b = self.make(space, 99)
        b.load_state_dict(decode_state(blob, "the strategy's state"))
        after = self.play(a, 3)
        assert self.play(b, 3) == after
        assert self.play(untouched, 3) == after

    def test_state_taken_between_ask_and_tell_resumes_exactly(self):
        """How a run resumes: the state recorded after an ask, reloaded, told that batch."""
        space = self.space()
        a = self.make(space, 2)
        self.play(a, 2)
        asked = a.ask(self.batch)
        blob = encode_state(a.state_dict())
        rewards = [math.nan if i == 1 else toy_reward(t) for i, t in enumerate(asked)]
        a.tell(asked, rewards)
        b = self.make(space, 77)
        b.load_state_dict(decode_state(blob, "the strategy's state"))
        b.tell(asked, rewards)
        assert self.play(b, 3) == self.play(a, 3)

    def test_a_state_that_does_not_fit_is_refused(self):
        s = self.make(self.space(), 0)
        with pytest.raises(REFUSALS):
            s.load_state_dict({})
