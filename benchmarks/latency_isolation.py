"""How much concurrent training distorts latency measured on the same CPU.

The search measures LAT(m) in its own stage while no worker trains (mnas_core/search.py).
This benchmark shows why: it measures the same models with the default host protocol while
0, 1 and 2 processes train a model in the background (2 = the default search's workers on a
2-core machine), with both clocks (thread CPU time, the default for one thread, and wall
time), and prints each figure as a ratio to the idle one measured in the same run.

    python benchmarks/latency_isolation.py [--models mnasnet_a1,mobilenet_v2_x0.5]
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import time

import torch

from mnas_core import zoo
from mnas_core.data import DataConfig, load_dataset
from mnas_core.latency import HostLatencyConfig, HostLatencySource
from mnas_core.space import SearchSpace
from mnas_core.train import TrainConfig, train
from mnas_core.builder import build_model


def keep_training(stop) -> None:
    """A search worker's load: train random models of the space until told to stop."""
    import numpy as np

    torch.set_num_threads(1)
    data = load_dataset(DataConfig())
    space = SearchSpace().replace(**data.arch_overrides())
    rng = np.random.default_rng(0)
    while not stop.is_set():
        model = build_model(space.sample(rng), seed=0)
        train(model, data, TrainConfig(steps=20, threads=1))


def measure(models, timer: str) -> dict[str, tuple[float, float]]:
    src = HostLatencySource(HostLatencyConfig(db_path=":memory:", timer=timer))
    out = {}
    for name in models:
        r, _ = src.measure(zoo.get(name))
        out[name] = (r.ms, r.cv)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="mnasnet_a1,mobilenet_v2_x0.5")
    args = ap.parse_args()
    models = args.models.split(",")
    torch.set_num_threads(1)
    ctx = mp.get_context("spawn")
    rows = []
    for trainers in (0, 1, 2):
        stop = ctx.Event()
        procs = [ctx.Process(target=keep_training, args=(stop,)) for _ in range(trainers)]
        for p in procs:
            p.start()
        time.sleep(8 if trainers else 0)  # let the trainers load data and reach steady state
        for timer in ("cpu", "wall"):
            for name, (ms, cv) in measure(models, timer).items():
                rows.append((trainers, timer, name, ms, cv))
        stop.set()
        for p in procs:
            p.join()
    idle = {(t, n): ms for k, t, n, ms, _ in rows if k == 0}
    print(f"{'trainers':>8} {'clock':>5} {'model':>20} {'ms':>8} {'CV':>6} {'vs idle':>8}")
    for k, timer, name, ms, cv in rows:
        print(f"{k:>8} {timer:>5} {name:>20} {ms:8.2f} {cv:6.1%} {ms / idle[timer, name]:7.2f}x")


if __name__ == "__main__":
    main()
