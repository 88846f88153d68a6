"""Why the same model measures differently in separate processes, and what does not fix it.

benchmarks/latency.py shows the host protocol's cross-process spread; this script tests the
usual suspects on the same models, each in fresh processes that measure with the default
protocol (HostLatencySource, no cache):
  free     plain processes, 3 fresh model instances each;
  cpu0/1   processes pinned to one CPU with taskset (is it the core we land on?);
  noaslr   processes with address-space randomisation off (setarch -R; memory layout?);
  ratio    interleaved reference normalisation: blocks of the model alternate with blocks of
           a reference model (MobileNetV2 x0.35) and the figure is min(model) / min(reference),
           so a machine-wide slow-down cancels out.
Spread = max/min - 1 over all figures of a setting (instances and processes together).

    flock /tmp/mnas-cpu.lock python benchmarks/latency_processes.py [--processes 3]
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys

from mnas_core import zoo
from mnas_core.builder import build_model
from mnas_core.latency import HostLatencyConfig, HostLatencySource
from mnas_core.latency.export import example_input
from mnas_core.latency.host import prepare, time_callable
from mnas_core.runtime import tuned_env

MODELS = ("mobilenet_v2_x0.5", "mnasnet_a1")
REFERENCE = "mobilenet_v2_x0.35"


def child_protocol() -> dict:
    src = HostLatencySource(HostLatencyConfig(db_path=":memory:"))
    return {m: [src.measure(zoo.get(m))[0].ms for _ in range(3)] for m in MODELS}


def child_ratio() -> dict:
    import torch
    torch.set_num_threads(1)

    def runner(name):
        a = zoo.get(name)
        return prepare(build_model(a, 0), example_input(a), "torchscript", 1, True)
    ref, out = runner(REFERENCE), {}
    for m in MODELS:
        fn, mins, ref_mins = runner(m), [], []
        for _ in range(4):  # interleaved blocks: model, reference, model, reference...
            mins.append(time_callable(fn, 2, 15, 1, use="cpu").ms)
            ref_mins.append(time_callable(ref, 2, 15, 1, use="cpu").ms)
        out[m] = [min(mins) / min(ref_mins)]
    return out


def run_children(kind: str, prefix: list[str], n: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {m: [] for m in MODELS}
    for _ in range(n):
        res = subprocess.run(prefix + [sys.executable, __file__, "--child", kind],
                             env=tuned_env(), capture_output=True, text=True, timeout=600)
        if res.returncode:
            raise RuntimeError(f"child failed: {res.stderr[-2000:]}")
        for m, v in json.loads(res.stdout.strip().splitlines()[-1]).items():
            out[m] += v
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--processes", type=int, default=3)
    ap.add_argument("--child", choices=("protocol", "ratio"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child_protocol() if args.child == "protocol" else child_ratio()))
        return 0
    settings = [("free", "protocol", []), ("cpu0", "protocol", ["taskset", "-c", "0"]),
                ("cpu1", "protocol", ["taskset", "-c", "1"]),
                ("noaslr", "protocol", ["setarch", "-R"]), ("ratio", "ratio", [])]
    print(f"{args.processes} processes per setting; spread = max/min - 1")
    print(f"{'setting':>8} " + " ".join(f"{m:>30}" for m in MODELS))
    for name, kind, prefix in settings:
        if prefix and not shutil.which(prefix[0]):
            print(f"{name:>8} skipped: {prefix[0]} not installed")
            continue
        res = run_children(kind, prefix, args.processes)
        cells = [f"{max(v) / min(v) - 1:6.1%} ({min(v):.3g}-{max(v):.3g})" for v in res.values()]
        print(f"{name:>8} " + " ".join(f"{c:>30}" for c in cells), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
