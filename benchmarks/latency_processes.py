"""Why the same model measures differently in separate processes, and what fixes it.

benchmarks/latency.py shows the default protocol's cross-process spread; this script tests the
usual suspects on the same models, each in fresh processes, 3 fresh model instances each:
  free     plain protocol (min of block medians, no reference) in plain processes;
  cpu0/1   plain, processes pinned to one CPU with taskset (is it the core we land on?);
  noaslr   plain, address-space randomisation off (setarch -R; memory layout?);
  paired   the default protocol: every run paired with a run of the reference network
           (MobileNetV2), figure = median ratio x the reference's anchor, which the parent
           measures once into a database the children share.
Spread = max/min - 1 over all figures of a setting (instances and processes together).

    flock /tmp/mnas-cpu.lock python benchmarks/latency_processes.py [--processes 3]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from mnas_core import zoo
from mnas_core.latency import HostLatencyConfig, HostLatencySource
from mnas_core.runtime import malloc_tuned, tuned_env

MODELS = ("mobilenet_v2_x0.5", "mnasnet_a1")


def child(db_path: str | None) -> dict:
    """Plain protocol without a database; paired with the shared database's anchor."""
    cfg = HostLatencyConfig(db_path=db_path) if db_path else \
        HostLatencyConfig(reference=None, db_path=":memory:")
    src = HostLatencySource(cfg)
    return {m: [src.measure(zoo.get(m))[0].ms for _ in range(3)] for m in MODELS}


def run_children(db_path: str | None, prefix: list[str], n: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {m: [] for m in MODELS}
    db = ["--db", db_path] if db_path else []
    for _ in range(n):
        res = subprocess.run(prefix + [sys.executable, __file__, "--child", *db],
                             env=tuned_env(), capture_output=True, text=True, timeout=600)
        if res.returncode:
            raise RuntimeError(f"child failed: {res.stderr[-2000:]}")
        for m, v in json.loads(res.stdout.strip().splitlines()[-1]).items():
            out[m] += v
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--processes", type=int, default=3)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--db", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.db)))
        return 0
    shared = str(Path(tempfile.mkdtemp(prefix="mnas-lat-")) / "latency.db")
    HostLatencySource(HostLatencyConfig(db_path=shared)).reference()  # the anchor, once
    settings = [("free", None, []), ("cpu0", None, ["taskset", "-c", "0"]),
                ("cpu1", None, ["taskset", "-c", "1"]), ("noaslr", None, ["setarch", "-R"]),
                ("paired", shared, [])]
    print(f"{args.processes} processes per setting; spread = max/min - 1")
    print(f"{'setting':>8} " + " ".join(f"{m:>30}" for m in MODELS))
    for name, db_path, prefix in settings:
        if prefix and not shutil.which(prefix[0]):
            print(f"{name:>8} skipped: {prefix[0]} not installed")
            continue
        res = run_children(db_path, prefix, args.processes)
        cells = [f"{max(v) / min(v) - 1:6.1%} ({min(v):.3g}-{max(v):.3g})" for v in res.values()]
        print(f"{name:>8} " + " ".join(f"{c:>30}" for c in cells), flush=True)
    return 0


if __name__ == "__main__":
    if not malloc_tuned() and sys.platform == "linux":  # the parent measures the anchor
        os.execve(sys.executable, [sys.executable, __file__, *sys.argv[1:]], tuned_env())
    sys.exit(main())
