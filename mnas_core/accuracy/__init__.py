"""Accuracy sources behind one interface (base.py): a training, a predictor, an estimate.

The implementations are imported on first use (mnas_core.registry.ACCURACY_SOURCES), so
importing this package imports no torch."""
from __future__ import annotations

from .. import config
from ..registry import ACCURACY_SOURCES
from .base import AccuracyResult, AccuracySource


def make_accuracy_source(name: str, options: dict | None = None) -> AccuracySource:
    """The source `name`, not yet opened, with `options` (its config dataclass's fields, as
    a run stores them) read by config.load, so a bad setting names its field."""
    entry = ACCURACY_SOURCES.get(name)
    cfg = config.load(entry.load_config(), options or {}, f"{name} accuracy source")
    return entry.load()(cfg)


__all__ = ["AccuracyResult", "AccuracySource", "make_accuracy_source", "ACCURACY_SOURCES"]
