"""PPO vs random search vs regularized evolution at the same budget, several seeds each, on
the built-in dataset: hypervolume of the (accuracy, latency) front and best reward, mean and
spread. All runs share one latency database, so a model is timed once whichever run meets it.

Hypervolume reference point: latency 2T (T resolved by the first run) and accuracy 0.

    python benchmarks/strategies.py [--trials 60] [--seeds 3] [--latency predicted]
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from mnas_core.pareto import hypervolume, reference_latency
from mnas_core.registry import LATENCY_SOURCES, STRATEGIES
from mnas_core.search import LatencySetup, SearchConfig, load_config, run_search, start_run
from mnas_core.store import read_trials


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=60)
    ap.add_argument("--batch", type=int, default=SearchConfig().batch_size)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--latency", default="predicted", choices=LATENCY_SOURCES.names())
    ap.add_argument("--latency-db", help="shared latency database (default: a fresh one)")
    args = ap.parse_args()
    results: dict[str, list[tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        db = args.latency_db or str(Path(tmp) / "latency.db")
        for strategy in STRATEGIES:
            for seed in range(args.seeds):
                cfg = SearchConfig(strategy=strategy, trials=args.trials, batch_size=args.batch,
                                   seed=seed, latency=LatencySetup(args.latency,
                                                                   options={"db_path": db}))
                path = Path(tmp) / f"{strategy}-{seed}.db"
                start = time.perf_counter()
                run_search(start_run(cfg, path))
                df = read_trials(path)
                T = load_config(path).reward.target_ms
                ok = df[df.status == "ok"]
                hv = hypervolume(ok.accuracy, ok.latency_ms, reference_latency([T]))
                results.setdefault(strategy, []).append((hv, ok.reward.max()))
                print(f"{strategy:>10} seed {seed}: hypervolume {hv:7.3f}  best reward "
                      f"{ok.reward.max():.4f}  ({time.perf_counter() - start:.0f} s, T={T:.2f})",
                      flush=True)
    print(f"\n{args.trials} trials per run, {args.seeds} seeds, latency={args.latency}")
    print(f"{'strategy':>10} {'hypervolume':>20} {'best reward':>22}")
    base = np.mean([hv for hv, _ in results["random"]])
    for strategy, rows in results.items():
        hv, best = np.array(rows).T
        print(f"{strategy:>10} {hv.mean():9.3f} +- {hv.std():6.3f} {best.mean():11.4f} +- "
              f"{best.std():.4f}   hypervolume vs random {hv.mean() / base:.2f}x")


if __name__ == "__main__":
    main()
