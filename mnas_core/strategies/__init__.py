"""Search strategies behind one ask/tell interface (see base.py for the contract)."""
from __future__ import annotations

from ..space import SearchSpace
from .base import Strategy, Tokens
from .evolution import EvolutionConfig, RegularizedEvolution
from .ppo import PPOConfig, PPOSearch
from .random import RandomConfig, RandomSearch

STRATEGIES = {"ppo": (PPOSearch, PPOConfig), "random": (RandomSearch, RandomConfig),
              "evolution": (RegularizedEvolution, EvolutionConfig)}


def make_strategy(name: str, space: SearchSpace, seed: int = 0, **config) -> Strategy:
    """Build a strategy by name; `config` are fields of its config dataclass."""
    if name not in STRATEGIES:
        raise ValueError(f"unknown strategy {name!r}; use one of {sorted(STRATEGIES)}")
    cls, cfg_cls = STRATEGIES[name]
    try:
        cfg = cfg_cls(**config)
    except TypeError as err:
        raise ValueError(f"strategy {name}: {err}") from None
    return cls(space, cfg, seed=seed)


__all__ = ["Strategy", "Tokens", "make_strategy", "STRATEGIES", "PPOConfig", "PPOSearch",
           "RandomSearch", "RandomConfig", "RegularizedEvolution", "EvolutionConfig"]
