"""Latency sources: every figure through one interface (base.LatencySource), tagged with where
it came from. `make_source("measured" | "predicted", **config)` builds one from keyword
settings (the fields of HostLatencyConfig or LutConfig); construction is cheap and opens no
files until the first figure is asked for."""
from __future__ import annotations

from dataclasses import fields

from .base import LatencyResult, LatencySource
from .db import LatencyDB, default_db_path
from .export import PteRunner, export_layer_pte, export_pte
from .host import HostLatencyConfig, HostLatencySource, Timing, time_callable
from .lut import LutConfig, LutPredictor

__all__ = ["LatencyResult", "LatencySource", "LatencyDB", "default_db_path", "export_pte",
           "export_layer_pte", "PteRunner", "HostLatencyConfig", "HostLatencySource", "Timing",
           "time_callable", "LutConfig", "LutPredictor", "make_source"]

_KINDS = {"measured": (HostLatencyConfig, HostLatencySource),
          "predicted": (LutConfig, LutPredictor)}


def make_source(kind: str, db: LatencyDB | None = None, **config) -> LatencySource:
    """A latency source of `kind` configured by keyword fields of its config dataclass;
    `db` shares one open database between sources."""
    if kind not in _KINDS:
        raise ValueError(f"unknown latency source {kind!r}; choose from {sorted(_KINDS)} "
                         "(the phone source lives in mnas_core.phone)")
    config_cls, source_cls = _KINDS[kind]
    known = {f.name for f in fields(config_cls)}
    unknown = sorted(set(config) - known)
    if unknown:
        raise ValueError(f"{kind} source: unknown setting(s) {unknown}; known: {sorted(known)}")
    return source_cls(config_cls(**config), db=db)
