"""`PhoneLatency`: the phone as a latency source (mnas_core.latency.base.LatencySource).

The paper's way (Tan et al. 2019, Sec. 3): every architecture is exported to the artefact that
ships (here an ExecuTorch XNNPACK .pte, `mnas_core.latency.export.export_pte`), timed on the real
phone, and the figure is stored in the latency database under the phone's fingerprint, so an
architecture is never timed twice on the same phone model/runner/thread setting.

It is also a layer timer for the lookup table (`LutPredictor(timer=PhoneLatency(...))`, the CLI's
`mnas latency build-table --on phone`): each layer is exported to its own .pte and timed the same
way, with the per-call cost of a near-empty program subtracted.
"""
from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from .. import config
from ..arch import Architecture
from ..layers import Layer, expand_layers
from ..latency.base import LatencyResult, LayerTimer
from ..latency.db import LatencyDB, cached_latency, layer_key, record_latency
from ..latency.fingerprint import fingerprint_id
from .adb import AdbPhone, ConnectConfig
from .device import DeviceInfo, read_device_info
from .runner import PhoneTiming, RunConfig, ensure_runner, time_model

# Bump when the on-phone timing protocol changes so old figures are not mixed with new ones.
PROTOCOL_VERSION = 1


@dataclass(frozen=True)
class PhoneConfig:
    connect: ConnectConfig = field(default_factory=ConnectConfig)
    run: RunConfig = field(default_factory=RunConfig)
    db_path: str | None = None   # None: the default latency database; ":memory:" for tests
    work_dir: str | None = None  # keeps .pte exports (and reuses them); None: a temp dir
    seed: int = 0                # export weights; they do not change the cost


def phone_config_from_dict(options: dict) -> PhoneConfig:
    """A PhoneConfig from plain JSON-able settings (how a search run stores them):
    {"connect": {ConnectConfig fields}, "run": {RunConfig fields, runner by name}, ...}."""
    from .runner import RUNNERS
    run = options.get("run") if isinstance(options, dict) else None
    if isinstance(run, dict) and "runner" in run:  # stored by name: the runner class
        if not isinstance(run["runner"], str) or run["runner"] not in RUNNERS:
            raise ValueError(f"unknown phone runner {run['runner']!r:.40}; use one of "
                             f"{sorted(RUNNERS)}")
        options = {**options, "run": {**run, "runner": RUNNERS[run["runner"]]}}
    return config.load(PhoneConfig, options, "phone source")


class PhoneLatency(LayerTimer):
    """`latency(arch)` timed on a connected phone. The connection opens on first use (or pass
    an open `AdbPhone`); `close()` releases it. Raises PhoneError (a RuntimeError) for phone
    trouble and ValueError for an architecture that cannot run."""

    name = "phone"

    def __init__(self, config: PhoneConfig | None = None, phone: AdbPhone | None = None,
                 db: LatencyDB | None = None):
        self.config = config or PhoneConfig()
        self._phone, self._db, self._own_db = phone, db, db is None
        self._info: DeviceInfo | None = None
        self._tmp: tempfile.TemporaryDirectory | None = None

    # ------------------------------------------------------------ lazily opened resources
    @property
    def phone(self) -> AdbPhone:
        if self._phone is None or not self._phone.connected:
            self._phone = (self._phone or AdbPhone(self.config.connect)).connect()
        return self._phone

    @property
    def db(self) -> LatencyDB:
        if self._db is None:
            self._db = LatencyDB(self.config.db_path)
        return self._db

    @property
    def info(self) -> DeviceInfo:
        if self._info is None:
            self._info = read_device_info(self.phone)
        return self._info

    def open(self) -> "PhoneLatency":
        """Connect now (PhoneError when no phone answers)."""
        self.phone
        return self

    def close(self) -> None:
        if self._own_db and self._db is not None:
            self._db.close()
            self._db = None
        if self._phone is not None:
            self._phone.close()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> "PhoneLatency":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------ the LatencySource interface
    def fingerprint_info(self) -> dict:
        run = self.config.run
        info = self.info.fingerprint_info()
        info.update({"runner": run.runner.name, "threads": run.threads,
                     "pinned": run.pin_big_cores, "backend": "executorch-xnnpack",
                     "executorch": metadata.version("executorch"), "protocol": PROTOCOL_VERSION})
        return info

    def fingerprint(self) -> str:
        """Needs the phone's identity: the first call reads it (one round trip), later calls
        are free."""
        return fingerprint_id(self.fingerprint_info())

    def latency(self, arch: Architecture) -> LatencyResult:
        return cached_latency(self, arch)

    def record(self, arch: Architecture) -> tuple[LatencyResult, PhoneTiming]:
        """Measure now and store the figure (replacing a stored one): a forced re-measure."""
        return record_latency(self, arch)

    def measure(self, arch: Architecture) -> tuple[LatencyResult, PhoneTiming]:
        """Export, push and time now, bypassing and not touching the cache."""
        from ..latency.export import export_pte  # local: torch/executorch load only when used
        expand_layers(arch)  # an architecture that cannot run: ValueError before phone work
        seed = self.config.seed
        timing = self._time_program(arch_file_stem(arch, seed),
                                    lambda path: export_pte(arch, path, seed=seed))
        result = LatencyResult(ms=timing.ms, source=self.name, fingerprint=self.fingerprint(),
                               p10=timing.p10, p90=timing.p90, cv=timing.cv, runs=timing.runs,
                               backend="executorch-xnnpack", noisy=timing.throttled)
        return result, timing

    # ------------------------------------------------------------ the lookup table's timer
    def measure_layer(self, layer: Layer) -> PhoneTiming:
        """Time one lookup-table layer alone on the phone (its own .pte)."""
        from ..latency.export import export_layer_pte
        key = f"{layer_key(layer.config())}|{self.config.seed}|{metadata.version('executorch')}"
        name = "layer_" + hashlib.sha1(key.encode()).hexdigest()[:12]
        return self._time_program(name, lambda p: export_layer_pte(layer, p, self.config.seed))

    def measure_call_overhead(self) -> PhoneTiming:
        """Time a near-empty program: the runner's per-call cost on this phone."""
        from ..latency.export import export_overhead_pte
        return self._time_program(f"overhead_{metadata.version('executorch')}",
                                  export_overhead_pte)

    def _time_program(self, stem: str, export) -> PhoneTiming:
        """Export with `export(path)` (unless a kept work_dir has it) and time it."""
        run = self.config.run
        if run.runner.model_suffix != ".pte":
            raise ValueError(f"PhoneLatency exports ExecuTorch .pte programs; the "
                             f"{run.runner.name} runner needs {run.runner.model_suffix} files "
                             "(use time_model)")
        ensure_runner(self.phone, run)  # fail fast, before a long export
        path = self._work_dir() / f"{stem}.pte"
        if not (self.config.work_dir and path.is_file()):
            # A kept work_dir doubles as an export cache: the stem hashes everything that
            # changes the program (exports are written atomically, so a file there is whole).
            export(path)
        return time_model(self.phone, path, self.info, run)

    def history(self) -> list[dict]:
        """Every stored phone figure of this phone/runner/threads setting (oldest first)."""
        return self.db.measurements(fingerprint=self.fingerprint(), source=self.name)

    def _work_dir(self) -> Path:
        if self.config.work_dir:
            Path(self.config.work_dir).mkdir(parents=True, exist_ok=True)
            return Path(self.config.work_dir)
        if self._tmp is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="mnas-phone-")
        return Path(self._tmp.name)


def arch_file_stem(arch: Architecture, seed: int = 0) -> str:
    """A short file name for an exported architecture (arch strings can be long): a hash of
    the string, the weight seed and the executorch version."""
    key = f"{arch.to_string()}|{seed}|{metadata.version('executorch')}"
    return "arch_" + hashlib.sha1(key.encode()).hexdigest()[:12]
