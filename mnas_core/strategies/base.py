"""The search-strategy interface: ask/tell, the caller owns the loop and a strategy never trains
or measures anything (Optuna's BaseSampler). mnas_core.testing.strategy checks the contract."""
from __future__ import annotations

from abc import ABC, abstractmethod

Tokens = list[int]


class Strategy(ABC):
    """Proposes architectures as token sequences of a `SearchSpace` and learns from their
    rewards.

    A registered strategy (mnas_core.registry.STRATEGIES) is built as
    `cls(space, config, seed=seed)` and says its registered name in `name`. All its randomness
    comes from generators seeded by `seed`: the same seed, space, config and sequence of calls
    give the same asks, and different seeds different ones.

    How it is called: the caller (the search loop, and its resume) tells each asked batch
    exactly once, whole and in the order asked, before the next ask, from one thread at a
    time. An implementation needs no locks and may rely on that order (aging evolution keeps
    its population in told order).
    """

    name: str  # its name in mnas_core.registry.STRATEGIES

    @abstractmethod
    def ask(self, n: int) -> list[Tokens]:
        """`n` (>= 1) candidates: n token sequences, each a list of plain Python ints with
        one entry per decision of the space (`space.vocab_sizes()`), inside that decision's
        vocabulary, so `space.decode` accepts it and the run store writes it as JSON. Does not
        raise for n >= 1. Candidates may repeat: a strategy need not remember what it asked."""

    @abstractmethod
    def tell(self, tokens: list[Tokens], rewards: list[float]) -> None:
        """Learn from the batch the last `ask` returned: `tokens` is that batch, whole and in
        its order, and `rewards[i]` the reward of `tokens[i]` (a float, eq. 2 of the paper).

        A candidate that failed (it could not be built, trained or measured) is told with
        reward NaN. The strategy leaves it out of learning: nothing it does afterwards depends
        on a failed candidate's tokens, and a batch of only failures is accepted. Given the
        state before the call (`state_dict`), its effect is reproducible, which is what lets
        a resumed run tell a reloaded strategy the batch again."""

    @abstractmethod
    def state_dict(self) -> dict:
        """Everything that decides what the strategy does next (weights, optimiser state,
        population, generator states), as a dict of tensors and plain data (numbers,
        strings, None, lists, tuples, dicts; no numpy arrays or other objects), which
        `mnas_core.runfile.encode_state` stores and `decode_state` reads back without
        unpickling code. The search takes it after each ask, before the batch is evaluated.
        Taking it changes nothing."""

    @abstractmethod
    def load_state_dict(self, state: dict) -> None:
        """Restore a `state_dict()` (as `decode_state` returns it) into a strategy built with
        the same space and config, whatever its seed: from then on it behaves exactly as the
        strategy the state was taken from, also when the state was taken between an ask and
        its tell and that batch is told now (how a run resumes). A state that does not fit
        (e.g. one missing what the strategy needs) raises KeyError, TypeError, ValueError,
        RuntimeError, IndexError or AttributeError, which the search reports as a ValueError
        naming the run."""
