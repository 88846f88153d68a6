"""Parsers for the output of on-phone benchmark runners (formats: docs/facts.md).

Each parser turns the runner's whole console output (stdout and stderr merged) into a
`RunnerOutput`: per-iteration times in milliseconds when the runner prints them, else the
summary statistics it does print. A parser never guesses: output with no timing lines raises
`RunnerOutputError` quoting the start of what the runner said, so a crash, a wrong binary or a
logcat-only build is visible instead of becoming a bogus figure.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field


class RunnerOutputError(ValueError):
    """The runner's output holds no usable timing (crash, wrong binary, logging elsewhere)."""


@dataclass(frozen=True)
class RunnerOutput:
    iterations_ms: tuple[float, ...] = ()  # one entry per timed execution, in run order
    load_ms: float | None = None           # model load / session init time
    summary: dict = field(default_factory=dict)  # runner-reported stats (ms), e.g. avg, median
    warmup_included: bool = True  # whether iterations_ms starts with the runner's cold runs


def _excerpt(text: str, limit: int = 400) -> str:
    text = text.strip()
    return (text[:limit] + " ...") if len(text) > limit else (text or "<no output>")


# ---------------------------------------------------------------- ExecuTorch executor_runner
# With posix logging every ET_LOG line reads `I 00:00:01.234567 executorch:file.cpp:123] msg`;
# the message part is all we rely on, so a build with another prefix still parses.
_ET_ITER = re.compile(r"Iteration (\d+) of (\d+): ([0-9.]+(?:e[-+]?\d+)?) ms")
_ET_LOAD = re.compile(r"Model loaded in ([0-9.]+(?:e[-+]?\d+)?) ms")
_ET_TOTAL = re.compile(r"Model executed successfully (\d+) time\(s\) in ([0-9.]+(?:e[-+]?\d+)?) ms")


def parse_executorch(text: str) -> RunnerOutput:
    """Parse `executor_runner --num_executions N` output. Iteration lines give every run; an
    older runner that only prints the total gives its mean as summary["avg"]."""
    iters: dict[int, float] = {}
    for m in _ET_ITER.finditer(text):
        iters[int(m.group(1))] = float(m.group(3))
    load = _ET_LOAD.search(text)
    total = _ET_TOTAL.search(text)
    summary = {}
    if total:
        n, ms = int(total.group(1)), float(total.group(2))
        summary = {"count": n, "total": ms, "avg": ms / n if n else float("nan")}
    if not iters and not total:
        raise RunnerOutputError(
            "executor_runner printed no timing lines ('Iteration i of n: x ms' or 'Model "
            "executed successfully'). If it logs to logcat, rebuild it with posix logging "
            f"(docs/phone.md). Its output was: {_excerpt(text)}")
    if total and iters and len(iters) != summary["count"]:
        raise RunnerOutputError(
            f"executor_runner reported {summary['count']} executions but printed "
            f"{len(iters)} iteration lines; the output is truncated or garbled: {_excerpt(text)}")
    return RunnerOutput(iterations_ms=tuple(iters[k] for k in sorted(iters)),
                        load_ms=float(load.group(1)) if load else None, summary=summary)


# ---------------------------------------------------------------- TFLite benchmark_model
_TF_INIT = re.compile(r"Initialized session in ([0-9.]+)ms")
_TF_STATS = re.compile(r"count=(\d+)((?:\s+\w+=[0-9.e+-]+)+)")
_TF_US_FIELDS = ("first", "curr", "min", "max", "avg", "std", "p5", "median", "p95")


def parse_tflite(text: str) -> RunnerOutput:
    """Parse `benchmark_model` output. It prints statistics, not each run: the last `count=`
    line (the timed runs; an earlier one is the warm-up) becomes `summary` in milliseconds.
    p5/median/p95 appear only in newer builds."""
    stats = list(_TF_STATS.finditer(text))
    if not stats:
        raise RunnerOutputError(
            f"benchmark_model printed no 'count=... avg=...' statistics line: {_excerpt(text)}")
    last = stats[-1]
    fields = dict(item.split("=", 1) for item in last.group(2).split())
    summary: dict = {"count": int(last.group(1))}
    for key in _TF_US_FIELDS:
        if key in fields:
            summary[key] = float(fields[key]) / 1000.0  # microseconds -> ms
    if "avg" not in summary:
        raise RunnerOutputError(f"benchmark_model statistics without avg=: {last.group(0)!r}")
    init = _TF_INIT.search(text)
    # A statistics line holds the timed runs only (warm-up is reported separately).
    return RunnerOutput(iterations_ms=(), load_ms=float(init.group(1)) if init else None,
                        summary=summary, warmup_included=False)


PARSERS = {"executorch": parse_executorch, "tflite": parse_tflite}
