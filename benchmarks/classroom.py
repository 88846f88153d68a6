"""Wall time of the default search at 100 trials on this machine: the figure a teacher
cares about (target under 10 minutes, aim for 5), and where the time goes.

Runs exactly what `mnas search` runs with no arguments (soft-constraint PPO on the built-in
dataset, host-CPU latency, the default proxy budget and workers), then splits the wall time
into start-up (dataset, latency source, T), the latency stage, the training stage and the
rest (strategy, store). `--latency predicted` runs the same search with the lookup table.

    python benchmarks/classroom.py [--trials 100] [--latency measured|predicted]
"""
from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

from mnas_core.search import LatencySetup, SearchConfig, run_search, start_run
from mnas_core.store import read_trials


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=100)
    ap.add_argument("--latency", default=SearchConfig().latency.source)
    ap.add_argument("--workers", type=int, default=SearchConfig().workers)
    ap.add_argument("--latency-db", help="latency database (default: a fresh one, so nothing "
                                         "measured before is reused)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = args.latency_db or str(Path(tmp) / "latency.db")
        cfg = SearchConfig(trials=args.trials, workers=args.workers,
                           latency=LatencySetup(source=args.latency, options={"db_path": db}))
        store = start_run(cfg, Path(tmp) / "run.db")
        start, start_unix = time.perf_counter(), time.time()
        run_search(store)
        wall = time.perf_counter() - start
        df = read_trials(store.path)
        created = store.db.execute("SELECT MIN(created_at) FROM trials").fetchone()[0]
    first_ask = created - start_unix
    latency = df.latency_seconds.fillna(0).sum()
    train_cpu = df.train_seconds.fillna(0).sum()
    ok = df[df.status == "ok"]
    print(f"default search, {args.trials} trials, latency={args.latency}, "
          f"workers={args.workers}, {dataclasses.asdict(cfg.train)['epochs']} epochs/model")
    print(f"  wall time           {wall:8.1f} s  ({wall / 60:.1f} min; target 10 min, "
          f"aim 5) = {wall / 600:.2f}x the target")
    print(f"  start-up (data, source, T, first ask) {first_ask:8.1f} s")
    print(f"  latency stage       {latency:8.1f} s  ({latency / wall:.0%} of wall)")
    print(f"  training, summed    {train_cpu:8.1f} s  over {args.workers} workers "
          f"(~{train_cpu / args.workers:.0f} s of wall, {train_cpu / args.workers / wall:.0%})")
    rest = wall - first_ask - latency - train_cpu / args.workers
    print(f"  the rest (spawn, strategy, store, waiting on the slowest worker) {rest:8.1f} s")
    print(f"  trials ok {len(ok)}/{len(df)}; accuracy {ok.accuracy.min():.3f}-"
          f"{ok.accuracy.max():.3f}; latency {ok.latency_ms.min():.1f}-"
          f"{ok.latency_ms.max():.1f} ms; best reward {ok.reward.max():.4f}")


if __name__ == "__main__":
    main()
