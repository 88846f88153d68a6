"""Search strategies behind one ask/tell interface (see base.py for the contract).

The implementations are imported on first use (mnas_core.registry.STRATEGIES), so importing
this package, or the numpy strategies, never imports torch; only PPO needs it."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ..registry import STRATEGIES, resolve
from .base import Strategy, Tokens

if TYPE_CHECKING:
    from ..space import SearchSpace


def make_strategy(name: str, space: SearchSpace, seed: int = 0, **config) -> Strategy:
    """Build a strategy by name; `config` are fields of its config dataclass."""
    entry = STRATEGIES.get(name)
    cls, cfg_cls = entry.load(), entry.load_config()
    try:
        cfg = cfg_cls(**config)
    except TypeError as err:
        raise ValueError(f"strategy {name}: {err}") from None
    return cls(space, cfg, seed=seed)


def __getattr__(name: str):
    """The registered classes as attributes (`from mnas_core.strategies import PPOSearch`),
    each imported when first asked for."""
    for entry in STRATEGIES.entries():
        for target in (entry.target, entry.config):
            if target and target.endswith(f":{name}"):
                return resolve(target)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Strategy", "Tokens", "make_strategy", "STRATEGIES"]
