"""Per-layer predicted latency for the inspector, read from the latency lookup table
(mnas_core.latency.lut) built on this machine; never timed on the fly (that would block the
page) and never made up: layers missing from the table stay empty and the note says so."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mnas_core.arch import Architecture
from mnas_core.layers import expand_layers

BUILD = "`mnas latency build-table mnasnet_a1 mobilenet_v2 --sample 20`"


@dataclass(frozen=True)
class LayerLatency:
    per_layer: pd.Series | None  # ms per row of profile(arch), NaN where not in the table
    total_ms: float | None       # calibrated prediction when every layer is in the table
    note: str


def per_layer(arch: Architecture, db_path: str | Path | None = None) -> LayerLatency:
    try:
        from mnas_core.latency import LatencyDB, LutConfig, LutPredictor, default_db_path
        from mnas_core.latency.db import layer_key
    except ImportError:
        return LayerLatency(None, None, "the latency package is not available")
    path = Path(db_path) if db_path else default_db_path()
    if not path.is_file():  # do not create an empty database just by looking
        return LayerLatency(None, None, f"no latency lookup table on this machine yet; build "
                                        f"one with {BUILD}")
    with LatencyDB(path) as db:
        lut = LutPredictor(LutConfig(measure_missing=False), db=db)
        table = lut.table()
        layers = expand_layers(arch)
        ms = pd.Series([table.get(layer_key(L.config()), np.nan) for L in layers], dtype=float)
        missing = int(ms.isna().sum())
        if missing == len(ms):
            return LayerLatency(None, None, "none of this model's layers is in the lookup "
                                            f"table ({path}); add them with {BUILD}")
        if missing:
            return LayerLatency(ms, None, f"{missing} of {len(ms)} layers are not in the lookup "
                                          "table yet (empty cells); time them with `mnas "
                                          "latency build-table ARCH`")
        total = lut.latency(arch).ms
        cal = lut.calibration()
        how = (f"calibrated: {cal[0]:.3f} x layer sum + {cal[1]:.3f} ms" if cal
               else "uncalibrated sum of layers")
        return LayerLatency(ms, total, f"lookup table {lut.table_fingerprint()} on this "
                                       f"machine ({how})")
