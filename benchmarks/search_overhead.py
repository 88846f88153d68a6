"""Time per trial spent outside evaluation: strategy ask/tell + store writes + bookkeeping.

Runs the real search loop (mnas_core.search.run_search) for 1,000 trials with evaluation
replaced by instant stand-ins (a constant latency source and an executor that returns a
canned training result), so everything left is overhead. Target: under 5 ms per trial.
The baseline printed beside it is one candidate evaluation with the default proxy budget,
measured in the same run, so the ratio says what share of a search the overhead is.

    python benchmarks/search_overhead.py [--trials 1000] [--batch 8]
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from mnas_core.data import DataConfig, load_dataset
from mnas_core.executors import Outcome
from mnas_core.latency.base import LatencyResult
from mnas_core.registry import STRATEGIES
from mnas_core.reward import RewardConfig
from mnas_core.search import SearchConfig, run_search, start_run
from mnas_core.space import SearchSpace
from mnas_core.train import TrainConfig, evaluate_candidate

CANNED = {"top1": 0.5, "top5": 0.9, "train_seconds": 0.0, "total_seconds": 0.0}


class ConstantLatency:
    name = "measured"

    def fingerprint(self) -> str:
        return "constant"

    def latency(self, arch):
        return LatencyResult(ms=10.0, source="measured", fingerprint="constant", runs=1)


class Instant:
    name = "instant"

    def run(self, fn, items):
        for i, _ in enumerate(items):
            yield Outcome(i, dict(CANNED), None, "bench")

    def close(self):
        pass


def overhead_ms(strategy: str, trials: int, batch: int, folder: Path) -> float:
    cfg = SearchConfig(strategy=strategy, trials=trials, batch_size=batch,
                       reward=RewardConfig(10.0), executor="inprocess")
    store = start_run(cfg, folder / f"{strategy}.db")
    run_search(store, executor=Instant(), source=ConstantLatency())  # warm: loads the dataset
    store = start_run(cfg, folder / f"{strategy}-timed.db")
    start = time.perf_counter()
    run_search(store, executor=Instant(), source=ConstantLatency())
    return (time.perf_counter() - start) / trials * 1e3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=8)
    args = ap.parse_args()
    torch.set_num_threads(1)
    data = load_dataset(DataConfig())
    arch = SearchSpace().replace(**data.arch_overrides()).sample(np.random.default_rng(0))
    start = time.perf_counter()
    evaluate_candidate(arch, data, TrainConfig(threads=1))
    eval_ms = (time.perf_counter() - start) * 1e3
    print(f"baseline: one candidate evaluation (default proxy budget): {eval_ms:.0f} ms")
    print(f"{'strategy':>10} {'ms/trial':>9} {'vs 5 ms target':>15} {'share of evaluation':>20}")
    with tempfile.TemporaryDirectory() as tmp:
        for strategy in STRATEGIES:
            ms = overhead_ms(strategy, args.trials, args.batch, Path(tmp))
            print(f"{strategy:>10} {ms:9.2f} {ms / 5:14.2f}x {ms / eval_ms:19.2%}")


if __name__ == "__main__":
    main()
