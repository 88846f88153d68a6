"""A strategy written outside the package proves itself with the shipped contract in a few lines;
the contract catches broken ones; and the search keeps the calling protocol the contract (and
aging evolution) relies on, across an interrupt and resume."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np
import pytest

from mnas_core.registry import STRATEGIES, Entry
from mnas_core.search import run_search, start_run
from mnas_core.store import RunStore, read_trials
from mnas_core.strategies import Strategy
from mnas_core.testing.strategy import StrategyContract

from ..test_search import InterruptAfter, tiny_config


@dataclass(frozen=True)
class GreedyConfig:
    pass


class Greedy(Strategy):
    """Mutates one decision of the best candidate told so far; random until one is told."""

    name = "greedy"

    def __init__(self, space, cfg: GreedyConfig | None = None, seed: int = 0):
        self.space, self.rng, self.best = space, np.random.default_rng(seed), None

    def ask(self, n):
        if self.best is None:
            return [self.space.sample_tokens(self.rng) for _ in range(n)]
        sizes, out = self.space.vocab_sizes(), []
        for _ in range(n):
            child, i = list(self.best[1]), int(self.rng.integers(len(sizes)))
            child[i] = int(self.rng.integers(sizes[i]))
            out.append(child)
        return out

    def tell(self, tokens, rewards):
        told = [(r, list(t)) for t, r in zip(tokens, rewards) if not math.isnan(r)]
        self.best = max(told + ([self.best] if self.best else []), key=lambda rt: rt[0],
                        default=None)

    def state_dict(self):
        return {"rng": self.rng.bit_generator.state, "best": self.best}

    def load_state_dict(self, state):
        self.rng.bit_generator.state, self.best = state["rng"], state["best"]


class TestGreedy(StrategyContract):  # all a user writes to run the whole contract
    def make(self, space, seed):
        return Greedy(space, seed=seed)


# ------------------------------------------------------------ broken strategies fail it
class LearnsFromFailures(Greedy):
    def tell(self, tokens, rewards):  # forgot to skip NaN: max() may then pick a failure
        told = [(r, list(t)) for t, r in zip(tokens, rewards)]
        self.best = max(told + ([self.best] if self.best else []), key=lambda rt: rt[0])


class ForgetsItsGenerator(Greedy):
    def state_dict(self):
        return {"best": self.best}

    def load_state_dict(self, state):
        self.best = state["best"]


class AsksNumpyInts(Greedy):
    def ask(self, n):  # np.int64 tokens: the run store could not write them as JSON
        return [list(np.asarray(t)) for t in super().ask(n)]


@pytest.mark.parametrize("broken,clause", [
    (LearnsFromFailures, "test_failed_candidates_are_left_out_of_learning"),
    (ForgetsItsGenerator, "test_state_round_trip_continues_exactly"),
    (AsksNumpyInts, "test_asks_are_valid_token_sequences"),
])
def test_the_contract_fails_a_broken_strategy(broken, clause):
    suite = type("Suite", (StrategyContract,),
                 {"make": lambda self, space, seed: broken(space, seed=seed)})()
    with pytest.raises(AssertionError):
        getattr(suite, clause)()


# ------------------------------------------------------------ the search keeps the protocol
class Checked(Greedy):
    """Greedy that fails the search if it is not told each asked batch exactly once, whole
    and in order, before the next ask. The batch awaiting its tell is part of the state, so
    the check holds across a resume too."""

    name = "checked"
    told: list = []  # every told batch, in this process (reset by the fixture)

    def __init__(self, space, cfg=None, seed=0):
        super().__init__(space, cfg, seed)
        self.pending = None

    def ask(self, n):
        assert self.pending is None, "asked again before the last batch was told"
        self.pending = super().ask(n)
        return [list(t) for t in self.pending]

    def tell(self, tokens, rewards):
        assert tokens == self.pending, "told other than the last batch, whole and in order"
        assert len(rewards) == len(tokens)
        self.pending = None
        Checked.told.append(tokens)
        super().tell(tokens, rewards)

    def state_dict(self):
        return {**super().state_dict(), "pending": self.pending}

    def load_state_dict(self, state):
        super().load_state_dict(state)
        self.pending = state["pending"]


@pytest.fixture
def checked(monkeypatch):
    entry = Entry("checked", f"{__name__}:Checked", f"{__name__}:GreedyConfig", "a test strategy")
    monkeypatch.setitem(STRATEGIES._entries, "checked", entry)
    monkeypatch.setattr(Checked, "told", [])
    return Checked


def test_the_search_tells_each_batch_once_whole_and_in_order_across_a_resume(tmp_path, checked):
    cut = start_run(tiny_config(tmp_path, strategy="checked"), tmp_path / "run.db")
    with pytest.raises(KeyboardInterrupt):
        run_search(cut, executor=InterruptAfter(4))  # stops in batch 2, one trial finished
    cut.close()
    assert len(checked.told) == 1
    run_search(RunStore(cut.path))  # a new strategy, loaded with batch 2 still to tell
    trials = read_trials(cut.path)
    assert checked.told == [[json.loads(t) for t in trials.tokens[trials.batch == b]]
                            for b in (1, 2)]
