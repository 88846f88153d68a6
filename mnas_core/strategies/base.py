"""The search-strategy interface (ask/tell: the caller owns the loop; a strategy never
trains or measures anything).

Contract (tests/strategies/test_contract.py runs it against every implementation):
- `ask(n)` returns n token sequences, each valid for the space (one id per decision, inside
  that decision's vocabulary; decode with `SearchSpace.decode`).
- `tell(tokens, rewards)` reports the rewards of sequences it asked for, in any order; a
  failed candidate is told with reward NaN and must not break or bias the strategy (it is
  left out of learning). Every asked batch is told exactly once before the next `ask`.
- Seeded: the same seed, space and sequence of calls give the same asks.
- `state_dict()` captures everything (weights, optimiser, population, RNG) as plain Python /
  numpy / torch objects that `torch.save` can write; `load_state_dict` on a fresh strategy of
  the same config continues exactly as the original would have.
"""
from __future__ import annotations

from typing import Protocol

Tokens = list[int]


class Strategy(Protocol):
    name: str

    def ask(self, n: int) -> list[Tokens]:
        ...

    def tell(self, tokens: list[Tokens], rewards: list[float]) -> None:
        ...

    def state_dict(self) -> dict:
        ...

    def load_state_dict(self, state: dict) -> None:
        ...
