"""Latency sources: every figure through one interface (base.LatencySource), tagged with where
it came from. `make_source(name, **settings)` builds any source registered in
mnas_core.registry.LATENCY_SOURCES ("measured", "predicted", "phone") from keyword settings (the
fields of HostLatencyConfig or LutConfig; the phone's nested ones, see phone_config_from_dict);
construction is cheap and opens no files or connections until `open()` or the first figure."""
from __future__ import annotations

from .. import config
from ..registry import LATENCY_SOURCES, resolve
from .base import LatencyResult, LatencySource, SourceError
from .db import LatencyDB, default_db_path
from .export import PteRunner, export_layer_pte, export_pte
from .host import HostLatencyConfig, HostLatencySource, Timing, time_callable
from .lut import LutConfig, LutPredictor

__all__ = ["LatencyResult", "LatencySource", "SourceError", "LatencyDB", "default_db_path",
           "export_pte", "export_layer_pte", "PteRunner", "HostLatencyConfig",
           "HostLatencySource", "Timing", "time_callable", "LutConfig", "LutPredictor",
           "make_source", "source_config"]


def source_config(kind: str, settings: dict):
    """The config of the latency source `kind` from plain settings (JSON, as a run stores
    them): its config dataclass's fields, or the nested settings its registry entry reads.
    ValueError naming the bad kind or setting."""
    entry = LATENCY_SOURCES.get(kind)
    if "options" in entry.info:
        return resolve(entry.info["options"])(settings)
    return config.load(entry.load_config(), settings, f"{kind} source")


def make_source(kind: str, db: LatencyDB | None = None, **settings) -> LatencySource:
    """A latency source of `kind` configured by keyword settings (see `source_config`); `db`
    shares one open database between sources. Connects nothing until `open()` or the first
    figure."""
    return LATENCY_SOURCES.get(kind).load()(source_config(kind, settings), db=db)
