"""Small shared pieces for the latency tests: tiny architectures and a scripted clock."""
from __future__ import annotations

from mnas_core import zoo
from mnas_core.latency import HostLatencyConfig

# Width 0.35 at 64x64 keeps every measurement to a few milliseconds.
TINY = zoo.get("mnasnet_a1_x0.35", resolution=64, num_classes=10)
TINY_B = zoo.get("mobilenet_v2_x0.35", resolution=64, num_classes=10)
# Plain protocol unless a test asks for the paired one (it adds a reference network per run).
FAST = dict(backend="eager", warmup=1, runs=3, blocks=2, max_remeasure=0, reference=None)


def fast_config(tmp_path, **changes) -> HostLatencyConfig:
    return HostLatencyConfig(**{**FAST, "db_path": str(tmp_path / "lat.db"), **changes})


class ScriptedClock:
    """A fake nanosecond clock: each call of `step()` advances it by the next scripted
    duration (ms). `wall` and `cpu` read it; cpu runs at `cpu_share` of wall speed."""

    def __init__(self, durations_ms, cpu_share: float = 1.0, interrupt_after: int | None = None):
        self.durations = list(durations_ms)
        self.now = 0
        self.cpu_now = 0
        self.cpu_share = cpu_share
        self.calls = 0
        self.interrupt_after = interrupt_after

    def step(self):
        if self.interrupt_after is not None and self.calls >= self.interrupt_after:
            raise KeyboardInterrupt  # what Ctrl-C raises mid-measurement
        d = self.durations[self.calls % len(self.durations)]
        self.calls += 1
        self.now += int(d * 1e6)
        self.cpu_now += int(d * 1e6 * self.cpu_share)

    def wall(self) -> int:
        return self.now

    def cpu(self) -> int:
        return self.cpu_now
