"""Regularized (aging) evolution, Real et al. 2019 (AmoebaNet), Algorithm 1.

The population is a queue of the last `population` evaluated models. A child is a mutation of
the best of `sample_size` models drawn at random from it; each new evaluated child pushes the
oldest model out, whatever its reward, which regularizes towards architectures that train
well repeatedly rather than once by luck. Until the population is full, asks are random.
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from ..space import SearchSpace
from .base import Strategy, Tokens


@dataclass(frozen=True)
class EvolutionConfig:
    population: int = 20
    sample_size: int = 5
    mutations: int = 1  # decisions changed per child

    def __post_init__(self):
        if self.population < 2 or not 1 <= self.sample_size <= self.population:
            raise ValueError("evolution needs population >= 2 and 1 <= sample_size <= "
                             f"population (got {self.population}, {self.sample_size})")
        if self.mutations < 1:
            raise ValueError(f"mutations must be >= 1, got {self.mutations}")


class RegularizedEvolution(Strategy):
    name = "evolution"

    def __init__(self, space: SearchSpace, cfg: EvolutionConfig | None = None, seed: int = 0):
        self.space, self.cfg = space, cfg or EvolutionConfig()
        self.rng = np.random.default_rng(seed)
        self.population: deque[tuple[Tokens, float]] = deque()
        self.sizes = space.vocab_sizes()

    def _mutate(self, parent: Tokens) -> Tokens:
        child = list(parent)
        mutable = [i for i, n in enumerate(self.sizes) if n > 1]
        if not mutable:
            return child
        for i in self.rng.choice(mutable, min(self.cfg.mutations, len(mutable)), replace=False):
            # A different value of decision i, uniformly.
            child[i] = int((child[i] + 1 + self.rng.integers(self.sizes[i] - 1)) % self.sizes[i])
        return child

    def ask(self, n: int) -> list[Tokens]:
        out = []
        for _ in range(n):
            if len(self.population) < self.cfg.population:
                out.append(self.space.sample_tokens(self.rng))
                continue
            idx = self.rng.choice(len(self.population), self.cfg.sample_size, replace=False)
            parent = max((self.population[i] for i in idx), key=lambda tr: tr[1])[0]
            out.append(self._mutate(parent))
        return out

    def tell(self, tokens: list[Tokens], rewards: list[float]) -> None:
        for t, r in zip(tokens, rewards):
            if r is None or math.isnan(r):
                continue  # a failed model never becomes a parent
            self.population.append((list(t), float(r)))
            if len(self.population) > self.cfg.population:
                self.population.popleft()  # aging: the oldest dies, not the worst

    def state_dict(self) -> dict:
        return {"rng": self.rng.bit_generator.state, "population": list(self.population)}

    def load_state_dict(self, state: dict) -> None:
        self.rng.bit_generator.state = state["rng"]
        self.population = deque((list(t), float(r)) for t, r in state["population"])
