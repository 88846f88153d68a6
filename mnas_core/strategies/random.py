"""Random search: uniform over the space's decision sequences, the control every NAS paper
should report."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..space import SearchSpace
from .base import Strategy, Tokens


@dataclass(frozen=True)
class RandomConfig:
    pass


class RandomSearch(Strategy):
    name = "random"

    def __init__(self, space: SearchSpace, cfg: RandomConfig | None = None, seed: int = 0):
        self.space = space
        self.rng = np.random.default_rng(seed)

    def ask(self, n: int) -> list[Tokens]:
        return [self.space.sample_tokens(self.rng) for _ in range(n)]

    def tell(self, tokens: list[Tokens], rewards: list[float]) -> None:
        pass  # random search learns nothing

    def state_dict(self) -> dict:
        return {"rng": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict) -> None:
        self.rng.bit_generator.state = state["rng"]
