"""Latency sources: every figure through one interface (base.LatencySource), tagged with where
it came from. `make_source(name, **settings)` builds any source registered in
mnas_core.registry.LATENCY_SOURCES ("measured", "predicted", "phone") from keyword settings (the
fields of HostLatencyConfig or LutConfig; the phone's nested ones, see phone_config_from_dict);
construction is cheap and opens no files or connections until the first figure is asked for."""
from __future__ import annotations

from dataclasses import fields

from ..registry import LATENCY_SOURCES, resolve
from .base import LatencyResult, LatencySource
from .db import LatencyDB, default_db_path
from .export import PteRunner, export_layer_pte, export_pte
from .host import HostLatencyConfig, HostLatencySource, Timing, time_callable
from .lut import LutConfig, LutPredictor

__all__ = ["LatencyResult", "LatencySource", "LatencyDB", "default_db_path", "export_pte",
           "export_layer_pte", "PteRunner", "HostLatencyConfig", "HostLatencySource", "Timing",
           "time_callable", "LutConfig", "LutPredictor", "make_source"]


def make_source(kind: str, db: LatencyDB | None = None, **config) -> LatencySource:
    """A latency source of `kind` configured by keyword settings; `db` shares one open
    database between sources. ValueError naming the bad kind or setting."""
    entry = LATENCY_SOURCES.get(kind)
    if "options" in entry.info:  # nested settings: the source's own reader checks them
        try:
            cfg = resolve(entry.info["options"])(config)
        except TypeError as err:  # a dataclass given a field it lacks
            raise ValueError(f"{kind} source: {err}") from None
    else:
        config_cls = entry.load_config()
        known = {f.name for f in fields(config_cls)}
        unknown = sorted(set(config) - known)
        if unknown:
            raise ValueError(f"{kind} source: unknown setting(s) {unknown}; known: "
                             f"{sorted(known)}")
        cfg = config_cls(**config)
    return entry.load()(cfg, db=db)
