"""Time a model file on the phone with a pluggable benchmark runner.

A runner is a binary on the phone plus a command template and an output parser. Built in:
ExecuTorch's `executor_runner` (prints every iteration; docs/phone.md says how to build it) and
TFLite's `benchmark_model` (prints statistics). The protocol follows the paper's (Tan et al.
2019, Sec. 4: single big core of a Pixel 1): pin to the big cores with taskset, 1 thread by
default, drop warm-up runs, report median/p10/p90, and read the thermal state before and after
so a throttled figure is flagged instead of silently stored.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np

from .adb import AdbPhone, PhoneError, PhoneTimeoutError
from .device import DeviceInfo, ThermalState, read_thermal, throttling_warning
from .parsers import PARSERS, RunnerOutput, RunnerOutputError

REMOTE_DIR = "/data/local/tmp/mnas_explorer"


@dataclass(frozen=True)
class RunnerSpec:
    """`args` are templates over {model}, {runs}, {warmup} and {threads}; each becomes one
    quoted argument. `runs_include_warmup`: the runner times the warm-up runs too (we drop
    them), rather than doing its own warm-up."""

    name: str
    binary: str
    args: tuple[str, ...]
    parser: str
    model_suffix: str
    runs_include_warmup: bool = True

    def argv(self, binary_path: str, model: str, runs: int, warmup: int, threads: int):
        values = {"model": model, "runs": runs, "warmup": warmup, "threads": threads}
        total = runs + warmup if self.runs_include_warmup else runs
        return [binary_path] + [a.format(**{**values, "runs": total}) for a in self.args]


EXECUTORCH = RunnerSpec(
    "executorch", "executor_runner",
    ("--model_path={model}", "--num_executions={runs}", "--cpu_threads={threads}"),
    parser="executorch", model_suffix=".pte")
TFLITE = RunnerSpec(
    "tflite", "benchmark_model",
    ("--graph={model}", "--num_threads={threads}", "--num_runs={runs}",
     "--warmup_runs={warmup}", "--use_xnnpack=true"),
    parser="tflite", model_suffix=".tflite", runs_include_warmup=False)
RUNNERS = {r.name: r for r in (EXECUTORCH, TFLITE)}


@dataclass(frozen=True)
class RunConfig:
    """How to time a model. `timeout_s` bounds the whole runner invocation; None scales it
    with the work asked: timeout_base_s + timeout_per_run_s x (runs + warmup), 60 s + 5 s per
    run by default (235 s for 30 + 5 runs). 5 s a run is ~60x the paper's 78 ms MnasNet-A1 on
    a Pixel 1 big core, and 60 s covers starting the runner and loading the program."""

    runner: RunnerSpec = EXECUTORCH
    runner_local: str | None = None  # a runner binary on this computer, pushed when given
    runs: int = 30                   # timed runs kept
    warmup: int = 5                  # extra first runs dropped (caches, XNNPACK packing)
    threads: int = 1
    pin_big_cores: bool = True
    remote_dir: str = REMOTE_DIR
    timeout_s: float | None = None   # the whole runner invocation; None: see the docstring
    timeout_base_s: float = 60.0
    timeout_per_run_s: float = 5.0
    cooldown_s: float = 0.0          # before a run, wait up to this long for caps to lift
    keep_model: bool = False         # leave the model file on the phone afterwards

    def __post_init__(self):
        if self.runs < 1 or self.warmup < 0 or self.threads < 1:
            raise ValueError("runs and threads must be >= 1 and warmup >= 0")
        if not self.remote_dir.startswith("/"):
            raise ValueError(f"remote_dir must be an absolute phone path, got {self.remote_dir!r}")
        for name in ("timeout_s", "timeout_base_s", "timeout_per_run_s"):
            value = getattr(self, name)
            if name == "timeout_s" and value is None:
                continue
            if not (isinstance(value, (int, float)) and 0 <= value < float("inf")):
                raise ValueError(f"{name} must be a number of seconds >= 0, got {value!r}")
        if not self.runner_timeout_s > 0:
            raise ValueError("the runner's timeout must be > 0 s")

    @property
    def runner_timeout_s(self) -> float:
        """The bound on one runner invocation (the docstring's formula unless timeout_s)."""
        if self.timeout_s is not None:
            return float(self.timeout_s)
        return self.timeout_base_s + self.timeout_per_run_s * (self.runs + self.warmup)


@dataclass(frozen=True)
class PhoneTiming:
    ms: float                        # median of the kept runs
    p10: float | None
    p90: float | None
    cv: float | None
    runs: int
    times_ms: tuple[float, ...]      # kept runs in order (empty for statistics-only runners)
    load_ms: float | None
    runner: str
    threads: int
    cpu_mask: str | None             # taskset mask used, None when not pinned
    before: ThermalState
    after: ThermalState
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def total_runs(self) -> int:
        return self.runs

    @property
    def throttled(self) -> bool:
        return any("throttled" in w for w in self.warnings)

    def summary(self) -> dict:
        return {"times_ms": list(self.times_ms), "load_ms": self.load_ms, "runner": self.runner,
                "threads": self.threads, "cpu_mask": self.cpu_mask,
                "thermal_before": self.before.to_dict(), "thermal_after": self.after.to_dict(),
                "warnings": list(self.warnings)}


def safe_name(text: str) -> str:
    """A file name safe anywhere on the phone: [A-Za-z0-9._-] only."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "model"
    return name[:80]


def ensure_runner(phone: AdbPhone, cfg: RunConfig) -> str:
    """The runner's path on the phone, pushed first when `runner_local` is given."""
    remote = str(PurePosixPath(cfg.remote_dir) / cfg.runner.binary)
    mode, size, mtime = phone.stat(remote)
    if cfg.runner_local:
        local = Path(cfg.runner_local)
        if not local.is_file():
            raise PhoneError(f"no runner binary at {local} on this computer (docs/phone.md "
                             "says how to build it)")
        st = local.stat()
        # Same size and mtime as the copy on the phone: already pushed (a search times many
        # models; the runner goes over once).
        if (size, mtime) != (st.st_size, int(st.st_mtime)) or not mode & 0o111:
            phone.shell(["mkdir", "-p", cfg.remote_dir], action="creating the work directory")
            phone.push(local, remote, mode=0o755, mtime=int(st.st_mtime))
            mode, _, _ = phone.stat(remote)
    if not mode:
        raise PhoneError(
            f"the {cfg.runner.name} runner is missing on the phone ({remote}). Build it once "
            "for Android (docs/phone.md) and pass its path (`mnas phone time --runner PATH`, "
            "or RunConfig.runner_local) so it is pushed")
    if not mode & 0o111:
        raise PhoneError(f"the runner {remote} is not executable (mode {mode & 0o777:o}). Push "
                         f"it again with --runner PATH (pushed as 755), or run `adb shell chmod "
                         f"755 {remote}`")
    return remote


def _check_space(phone: AdbPhone, cfg: RunConfig, size: int) -> None:
    free = phone.free_bytes(cfg.remote_dir)
    if free is not None and free < size + (16 << 20):  # keep a margin for the runner's files
        raise PhoneError(f"the phone's storage is full: {free / 2**20:.1f} MiB free in "
                         f"{cfg.remote_dir}, the model needs {size / 2**20:.1f} MiB. Free some "
                         "space (delete files, uninstall apps) and retry")


def cool_down(phone: AdbPhone, info: DeviceInfo, cfg: RunConfig,
              poll_s: float = 2.0) -> ThermalState:
    """Wait (up to cfg.cooldown_s) until no core is capped and the thermal status is 0."""
    deadline = time.monotonic() + cfg.cooldown_s
    state = read_thermal(phone, info)
    while (state.capped_cpus(info) or state.status) and time.monotonic() < deadline:
        time.sleep(min(poll_s, max(0.0, deadline - time.monotonic())))
        state = read_thermal(phone, info)
    return state


def _check_rc(rc: int, out: str, binary: str) -> None:
    excerpt = out.strip()[-600:] or "<no output>"
    if rc == 0:
        return
    if rc == 127:
        raise PhoneError(f"the runner {binary} was not found by the phone's shell. Push it "
                         f"with --runner PATH. Shell said: {excerpt}")
    if rc == 126:
        raise PhoneError(f"the phone cannot execute {binary} (not executable, wrong ABI, or "
                         f"a noexec directory). Build it for this phone's ABI and push it to "
                         f"/data/local/tmp. Shell said: {excerpt}")
    if rc >= 128:
        raise PhoneError(f"the runner crashed (signal {rc - 128}). Its output: {excerpt}")
    raise PhoneError(f"the runner failed with exit code {rc}. Its output: {excerpt}")


def statistics(out: RunnerOutput, spec: RunnerSpec, warmup: int) -> dict:
    """median/p10/p90/cv over the kept runs, or the runner's own statistics."""
    if out.iterations_ms:
        drop = warmup if (spec.runs_include_warmup and out.warmup_included) else 0
        kept = np.array(out.iterations_ms[drop:], dtype=float)
        if kept.size == 0:
            raise PhoneError(f"the runner printed {len(out.iterations_ms)} runs, all warm-up "
                             f"({warmup} dropped): nothing left to report")
        return {"ms": float(np.median(kept)), "p10": float(np.percentile(kept, 10)),
                "p90": float(np.percentile(kept, 90)),
                "cv": float(kept.std() / kept.mean()) if kept.mean() > 0 else None,
                "runs": int(kept.size), "times_ms": tuple(float(t) for t in kept)}
    s = out.summary
    ms = s.get("median", s["avg"])
    return {"ms": ms, "p10": None, "p90": None,
            "cv": s["std"] / s["avg"] if s.get("std") is not None and s["avg"] else None,
            "runs": int(s.get("count", 0)), "times_ms": ()}


def time_model(phone: AdbPhone, model_path: str | Path, info: DeviceInfo,
               cfg: RunConfig | None = None) -> PhoneTiming:
    """Push `model_path`, run it with the configured runner pinned to the big cores, and return
    the statistics. Raises PhoneError with the fix for every failure."""
    cfg = cfg or RunConfig()
    model_path = Path(model_path)
    if not model_path.is_file():
        raise PhoneError(f"no model file at {model_path}")
    binary = ensure_runner(phone, cfg)
    phone.shell(["mkdir", "-p", cfg.remote_dir], action="creating the work directory")
    _check_space(phone, cfg, model_path.stat().st_size)
    remote_model = str(PurePosixPath(cfg.remote_dir) / safe_name(model_path.name))
    phone.push(model_path, remote_model, mode=0o644)

    before = cool_down(phone, info, cfg) if cfg.cooldown_s > 0 else read_thermal(phone, info)
    cores = info.big_cores(cfg.threads)
    mask = info.big_mask(cfg.threads) if cfg.pin_big_cores else None
    argv = cfg.runner.argv(binary, remote_model, cfg.runs, cfg.warmup, cfg.threads)
    if mask:
        argv = ["taskset", mask] + argv
    limit = cfg.runner_timeout_s
    try:
        res = phone.shell(argv, timeout_s=limit, action=f"running {cfg.runner.binary}")
    except PhoneTimeoutError:
        how = "--timeout" if cfg.timeout_s is not None else (
            f"{cfg.timeout_base_s:g} s + {cfg.timeout_per_run_s:g} s x {cfg.runs + cfg.warmup} "
            "runs; set --timeout")
        raise PhoneError(f"the runner did not finish within {limit:g} s ({how}): it may be "
                         f"wedged on the phone, or {model_path.name} is slower than that "
                         "allows") from None
    after = read_thermal(phone, info)
    if not cfg.keep_model:
        phone.shell(["rm", "-f", remote_model], action="removing the model file")
    _check_rc(res.rc, res.output, binary)
    try:
        parsed = PARSERS[cfg.runner.parser](res.output)
    except RunnerOutputError as err:
        raise PhoneError(f"the runner's output could not be parsed: {err}") from None
    stats = statistics(parsed, cfg.runner, cfg.warmup)
    warnings = []
    warn = throttling_warning(info, before, after, cores)
    if warn:
        warnings.append(warn)
    if before.capped_cpus(info):
        warnings.append(f"cores {before.capped_cpus(info)} were already frequency-capped before "
                        "the run: the phone was warm (use --cooldown)")
    return PhoneTiming(**stats, load_ms=parsed.load_ms, runner=cfg.runner.name,
                       threads=cfg.threads, cpu_mask=mask, before=before, after=after,
                       warnings=tuple(warnings))
