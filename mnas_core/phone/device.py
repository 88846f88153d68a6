"""What the phone is (model, Android version, ABI, CPU clusters) and how hot it is.

The paper timed every model on one big core of a Pixel 1 (Tan et al. 2019, Sec. 4). Big cores
are the cluster with the highest cpuinfo_max_freq; `big_mask` is the `taskset` hex mask that pins
a run there. Throttling shows as scaling_max_freq capped below cpuinfo_max_freq, hotter thermal
zones, and `dumpsys thermalservice`'s "Thermal Status: N" (0 = none) rising.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass

from .adb import AdbPhone

CPU_DIR = "/sys/devices/system/cpu"
THERMAL_DIR = "/sys/class/thermal"
_PROPS = {"model": "ro.product.model", "manufacturer": "ro.product.manufacturer",
          "device": "ro.product.device", "android": "ro.build.version.release",
          "sdk": "ro.build.version.sdk", "abi": "ro.product.cpu.abi", "serial": "ro.serialno",
          "hardware": "ro.hardware"}


def parse_cpu_list(text: str) -> list[int]:
    """'0-3,6' -> [0, 1, 2, 3, 6] (the format of /sys/devices/system/cpu/possible)."""
    cpus: list[int] = []
    for part in filter(None, text.strip().split(",")):
        lo, _, hi = part.partition("-")
        cpus.extend(range(int(lo), int(hi or lo) + 1))
    return cpus


def _int_or_none(text: str) -> int | None:
    text = text.strip()
    return int(text) if re.fullmatch(r"-?\d+", text) else None


@dataclass(frozen=True)
class DeviceInfo:
    model: str
    manufacturer: str
    device: str
    android: str
    sdk: str
    abi: str
    serial: str
    hardware: str
    cpu_max_khz: tuple[int | None, ...]  # per CPU; None where cpufreq is not readable

    @property
    def clusters(self) -> list[tuple[tuple[int, ...], int]]:
        """[(cpus, max kHz)] grouped by max frequency, fastest first."""
        by_freq: dict[int, list[int]] = {}
        for cpu, khz in enumerate(self.cpu_max_khz):
            if khz:
                by_freq.setdefault(khz, []).append(cpu)
        return [(tuple(by_freq[f]), f) for f in sorted(by_freq, reverse=True)]

    def big_cores(self, threads: int = 1) -> tuple[int, ...]:
        """The fastest cores, enough for `threads` (spilling into the next cluster if the big
        one is smaller than the thread count)."""
        cores: list[int] = []
        for cpus, _ in self.clusters:
            cores.extend(cpus)
            if len(cores) >= threads:
                break
        return tuple(sorted(cores)) or tuple(range(len(self.cpu_max_khz)))

    def big_mask(self, threads: int = 1) -> str:
        """The taskset hex mask of big_cores(threads), e.g. 'c' for CPUs 2 and 3."""
        return format(sum(1 << c for c in self.big_cores(threads)), "x")

    def fingerprint_info(self) -> dict:
        """What makes two phones' figures comparable (not the serial: same model, same figures
        is the point of sharing a table across identical phones)."""
        return {"kind": "phone", "model": self.model, "manufacturer": self.manufacturer,
                "device": self.device, "android": self.android, "abi": self.abi,
                "hardware": self.hardware, "cpu_max_khz": list(self.cpu_max_khz)}

    def short_id(self) -> str:
        text = json.dumps(self.fingerprint_info(), sort_keys=True)
        return hashlib.sha1(text.encode()).hexdigest()[:8]

    def describe(self) -> str:
        clusters = ", ".join(f"{len(c)}x {khz / 1e6:.2f} GHz (cpu {','.join(map(str, c))})"
                             for c, khz in self.clusters)
        return (f"{self.manufacturer} {self.model} ({self.device}), Android {self.android} "
                f"(SDK {self.sdk}), {self.abi}; CPU clusters: {clusters or 'unknown'}")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class ThermalState:
    status: int | None                        # thermalservice status, 0 = none; None unknown
    max_temp_c: float | None                  # hottest thermal zone
    scaling_max_khz: tuple[int | None, ...]   # per CPU: the current frequency cap

    def capped_cpus(self, info: DeviceInfo) -> list[int]:
        """CPUs whose frequency cap is below their hardware maximum (throttled)."""
        return [c for c, (cap, top) in enumerate(zip(self.scaling_max_khz, info.cpu_max_khz))
                if cap and top and cap < top]

    def to_dict(self) -> dict:
        return asdict(self)


def read_device_info(phone: AdbPhone) -> DeviceInfo:
    """Model, Android version, ABI and per-CPU max frequency, in two round trips."""
    possible = phone.shell_many([["cat", f"{CPU_DIR}/possible"]])[0]
    try:
        cpus = parse_cpu_list(possible)
    except ValueError:
        cpus = []
    outs = phone.shell_many([["getprop", p] for p in _PROPS.values()] +
                            [["cat", f"{CPU_DIR}/cpu{c}/cpufreq/cpuinfo_max_freq"] for c in cpus])
    props = {k: outs[i].strip() for i, k in enumerate(_PROPS)}
    freqs = tuple(_int_or_none(o) for o in outs[len(_PROPS):])
    return DeviceInfo(cpu_max_khz=freqs, **props)


def read_thermal(phone: AdbPhone, info: DeviceInfo, zones: int = 32) -> ThermalState:
    """The thermal status, the hottest of the first `zones` thermal zones and each CPU's
    frequency cap, in one round trip (missing files read as unknown, never as an error)."""
    n = len(info.cpu_max_khz)
    outs = phone.shell_many([["dumpsys", "thermalservice"]] +
                            [["cat", f"{THERMAL_DIR}/thermal_zone{z}/temp"] for z in range(zones)] +
                            [["cat", f"{CPU_DIR}/cpu{c}/cpufreq/scaling_max_freq"]
                             for c in range(n)])
    m = re.search(r"Thermal Status:\s*(\d+)", outs[0])
    temps = [t for t in (_int_or_none(o) for o in outs[1:1 + zones]) if t is not None]
    # Zones report millidegrees (some report degrees); drop sentinel values of broken sensors.
    temps_c = [t / 1000 if abs(t) > 1000 else float(t) for t in temps]
    temps_c = [t for t in temps_c if -40 < t < 150]
    return ThermalState(status=int(m.group(1)) if m else None,
                        max_temp_c=max(temps_c) if temps_c else None,
                        scaling_max_khz=tuple(_int_or_none(o) for o in outs[1 + zones:]))


def throttling_warning(info: DeviceInfo, before: ThermalState, after: ThermalState,
                       cores: tuple[int, ...]) -> str | None:
    """A warning when the phone throttled during a measurement, else None."""
    reasons = []
    already = before.capped_cpus(info)
    capped = [c for c in after.capped_cpus(info) if c in cores and c not in already]
    if capped:
        caps = ", ".join(f"cpu{c} {after.scaling_max_khz[c] / 1e6:.2f}/"
                         f"{info.cpu_max_khz[c] / 1e6:.2f} GHz" for c in capped)
        reasons.append(f"frequency capped during the run ({caps})")
    if after.status and after.status > (before.status or 0):
        reasons.append(f"thermal status rose {before.status} -> {after.status}")
    if not reasons:
        return None
    return ("the phone throttled during the measurement: " + "; ".join(reasons) +
            ". The figure is likely too slow: let it cool (--cooldown), take it out of its "
            "case, and re-measure")
