"""Every registered strategy (PPO, random, evolution, Optuna's TPE and NSGA-II) at the same
budget, several seeds each: hypervolume of the (accuracy, latency) front and best reward, mean
and spread. Hypervolume reference point: latency 2T and accuracy 0 (mnas_core.pareto).

Two objectives, the same for every strategy of an invocation:
  trained  the paper's: a proxy training on the built-in dataset per trial, latency from one
           shared database (a model is timed once whichever run meets it). `--trials` each.
  instant  predicted accuracy (sample_runs/predictor_digits.json, or `--accuracy estimated`)
           and the lookup table of benchmarks/instant.py (built there once, untimed, in its
           database). Each run goes to the largest `--at` count; hypervolume and best reward
           at each count are read off that run's first trials (in the order asked), not from
           separate runs. TPE runs only up to `--tpe-max` trials (its ask grows with the
           history), said in the output.
Every run uses `--batch` (default: the search's); `--option ppo:lr=0.001` sets a strategy's
option; `--torch-threads 1` pins torch (its default 2 threads made PPO ~14x slower on a loaded
2-core host).

    python benchmarks/strategies.py [--trials 60] [--seeds 3] [--latency predicted]
    python benchmarks/strategies.py --objective instant [--at 500 2000 10000] [--seeds 3]
                                    [--strategies ppo random ...] [--tpe-max 2000] [--db DB]
                                    [--option STRATEGY:KEY=VALUE] [--torch-threads N]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from mnas_core.pareto import hypervolume, reference_latency
from mnas_core.registry import LATENCY_SOURCES, STRATEGIES
from mnas_core.search import LatencySetup, SearchConfig, load_config, run_search, start_run
from mnas_core.space import SearchSpace
from mnas_core.store import read_trials
from mnas_core.strategies import make_strategy

TPE_MAX = 2000
TPE_REASON = ("its ask grows with the history (~34 ms per trial at 500 told, ~175 ms at "
              "2,000), so TPE at 10,000 trials would cost most of an hour per seed")


def scores(path: Path, counts: list[int], ref: float) -> dict[int, tuple[float, float]]:
    """(hypervolume, best reward) of the run at `path` over its first n trials, per n."""
    df = read_trials(path).sort_values("trial")
    out = {}
    for n in counts:
        ok = df.head(n)
        ok = ok[ok.status == "ok"]
        out[n] = (hypervolume(ok.accuracy, ok.latency_ms, ref), float(ok.reward.max()))
    return out


def table(title: str, results: dict[str, list[tuple[float, float]]], seconds: dict) -> None:
    """Mean +- sd over seeds per strategy, and which strategy leads on each measure."""
    print(f"\n{title}")
    print(f"{'strategy':>10} {'seeds':>5} {'hypervolume':>20} {'best reward':>22} "
          f"{'hv vs random':>13} {'s/run':>7}")
    base = np.mean([hv for hv, _ in results["random"]]) if results.get("random") else None
    for strategy, rows in results.items():
        hv, best = np.array(rows).T
        ratio = f"{hv.mean() / base:12.3f}x" if base else f"{'n/a':>13}"
        print(f"{strategy:>10} {len(rows):>5} {hv.mean():9.3f} +- {hv.std():6.3f} "
              f"{best.mean():11.4f} +- {best.std():.4f} {ratio} "
              f"{np.mean(seconds[strategy]):7.1f}")
    for k, what in ((0, "hypervolume"), (1, "best reward")):
        means = {s: np.mean([r[k] for r in rows]) for s, rows in results.items()}
        lead = max(means, key=means.get)
        print(f"  highest mean {what}: {lead}")


def run_trained(args) -> None:
    results: dict[str, list[tuple[float, float]]] = {}
    seconds: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        db = args.latency_db or str(Path(tmp) / "latency.db")
        for strategy in args.strategies:
            for seed in range(args.seeds):
                cfg = SearchConfig(strategy=strategy, trials=args.trials, batch_size=args.batch,
                                   strategy_options=args.options.get(strategy, {}),
                                   seed=seed, latency=LatencySetup(args.latency,
                                                                   options={"db_path": db}))
                path = Path(tmp) / f"{strategy}-{seed}.db"
                start = time.perf_counter()
                run_search(start_run(cfg, path))
                took = time.perf_counter() - start
                T = load_config(path).reward.target_ms
                hv, best = scores(path, [args.trials], reference_latency([T]))[args.trials]
                results.setdefault(strategy, []).append((hv, best))
                seconds.setdefault(strategy, []).append(took)
                print(f"{strategy:>10} seed {seed}: hypervolume {hv:7.3f}  best reward "
                      f"{best:.4f}  ({took:.0f} s, T={T:.2f})", flush=True)
    table(f"{args.trials} trials per run, batch {args.batch}, {args.seeds} seeds, trained "
          f"accuracy, latency={args.latency}", results, seconds)


def _instant():
    """benchmarks/instant.py: the instant objective's setups and its table."""
    try:
        from benchmarks import instant  # imported as benchmarks.strategies (-m, tests)
    except ImportError:
        import instant  # run as a script: benchmarks/ is sys.path[0]
    return instant


def parse_options(items: list[str]) -> dict[str, dict]:
    """["ppo:lr=0.001", ...] -> {"ppo": {"lr": 0.001}}; a value is JSON, else a string.
    ValueError naming the item that is not STRATEGY:KEY=VALUE."""
    out: dict[str, dict] = {}
    for item in items:
        name, _, rest = item.partition(":")
        key, eq, value = rest.partition("=")
        if not (name and key and eq):
            raise ValueError(f"--option {item!r}: expected STRATEGY:KEY=VALUE, e.g. ppo:lr=0.001")
        STRATEGIES.get(name)
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            pass
        out.setdefault(name, {})[key] = value
    return out


def run_instant(args) -> None:
    instant = _instant()
    db = args.db or instant.default_db()
    t = instant.build_table(db)
    print(f"table {db}: {t['layers']} layer configs; timed {t['timed']} now "
          f"({t['seconds']:.0f} s, untimed setup)", flush=True)
    counts = sorted(set(args.at))
    for strategy in args.strategies:  # first-use imports (optuna, torch's optimiser) untimed;
        make_strategy(strategy, SearchSpace(), **args.options.get(strategy, {}))  # bad options
    results: dict[int, dict[str, list]] = {n: {} for n in counts}
    seconds: dict[int, dict[str, list]] = {n: {} for n in counts}
    T_all = set()
    with tempfile.TemporaryDirectory() as tmp:
        for strategy in args.strategies:
            n_max = counts[-1]
            if strategy == "tpe" and n_max > args.tpe_max:
                n_max = max([n for n in counts if n <= args.tpe_max], default=0)
                print(f"tpe: runs to {n_max:,} trials only; beyond --tpe-max "
                      f"{args.tpe_max:,} skipped: " + TPE_REASON)
                if not n_max:
                    continue
            for seed in range(args.seeds):
                cfg = SearchConfig(strategy=strategy, trials=n_max, batch_size=args.batch,
                                   strategy_options=args.options.get(strategy, {}),
                                   seed=seed, accuracy=instant.accuracy_setup(args.accuracy),
                                   latency=instant.latency_setup(db), executor="inprocess")
                path = Path(tmp) / f"{strategy}-{seed}.db"
                source = cfg.latency.make_source()
                before = len(source.table())
                start = time.perf_counter()
                run_search(start_run(cfg, path), source=source)
                took = time.perf_counter() - start
                T = load_config(path).reward.target_ms
                T_all.add(T)
                got = scores(path, [n for n in counts if n <= n_max], reference_latency([T]))
                for n, row in got.items():
                    results[n].setdefault(strategy, []).append(row)
                    seconds[n].setdefault(strategy, []).append(took)
                print(f"{strategy:>10} seed {seed}: {n_max:,} trials in {took:.1f} s "
                      f"(T={T:.3f} ms, layers timed during the run: "
                      f"{len(source.table()) - before}); "
                      + "; ".join(f"@{n}: hv {hv:.3f} best {b:.4f}"
                                  for n, (hv, b) in got.items()), flush=True)
                path.unlink()
    load = os.getloadavg()
    print(f"\ninstant objective: accuracy {args.accuracy}, latency predicted (one table), "
          f"batch {args.batch}, reward alpha {SearchConfig().reward.alpha} beta "
          f"{SearchConfig().reward.beta}, T = {sorted(T_all)} ms, {_threads()} torch "
          f"thread(s); load average {load[0]:.2f} on {os.cpu_count()} cores")
    for n in counts:
        if results[n]:
            table(f"at {n:,} trials (s/run: the whole run's wall time)", results[n], seconds[n])


def _threads() -> int:
    import torch
    return torch.get_num_threads()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--objective", default="trained", choices=("trained", "instant"))
    ap.add_argument("--strategies", nargs="+", default=list(STRATEGIES),
                    choices=STRATEGIES.names())
    ap.add_argument("--trials", type=int, default=60, help="trained: trials per run")
    ap.add_argument("--at", type=int, nargs="+", default=[500, 2000, 10_000],
                    help="instant: trial counts to read each run at")
    ap.add_argument("--batch", type=int, default=SearchConfig().batch_size)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--latency", default="predicted", choices=LATENCY_SOURCES.names(),
                    help="trained: the latency source")
    ap.add_argument("--latency-db", help="trained: shared latency database (default: fresh)")
    ap.add_argument("--accuracy", default="predicted", choices=("predicted", "estimated"),
                    help="instant: the accuracy source")
    ap.add_argument("--db", help="instant: the table's database (default: benchmarks/"
                    "instant.py's)")
    ap.add_argument("--tpe-max", type=int, default=TPE_MAX,
                    help="instant: TPE runs to at most this many trials")
    ap.add_argument("--torch-threads", type=int, default=0, help="torch threads in this "
                    "process, where the strategies run (default 0: torch's own default)")
    ap.add_argument("--option", action="append", default=[], metavar="STRATEGY:KEY=VALUE",
                    help="a strategy option, e.g. ppo:lr=0.001 (repeatable)")
    args = ap.parse_args()
    try:
        args.options = parse_options(args.option)
    except ValueError as err:
        ap.error(str(err))
    if min(args.at) < 1 or args.trials < 1 or args.seeds < 1 or args.batch < 1:
        ap.error("--at, --trials, --seeds and --batch must be >= 1")
    if args.torch_threads:
        import torch
        torch.set_num_threads(args.torch_threads)
    try:
        (run_instant if args.objective == "instant" else run_trained)(args)
    except ValueError as err:  # a bad setting found on use (a strategy option, a database)
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    from mnas_core.runtime import malloc_tuned, tuned_env
    if not malloc_tuned() and sys.platform == "linux":  # the table's fingerprint includes it
        os.execve(sys.executable, [sys.executable, __file__, *sys.argv[1:]], tuned_env())
    main()
