"""Instant searches: predicted accuracy + the latency lookup table, 1,000 and 10,000 trials.

Each run is the real loop (mnas_core.search.run_search, the real run store) with accuracy from
a predictor (`predicted`, sample_runs/predictor_digits.json, or `--accuracy estimated`) and
latency from the per-layer table (`predicted`). It runs in a fresh child process of this script
(`--child`), so the peak RSS printed is that one run's (the child's own ru_maxrss, imports
included). Printed per run: wall seconds of run_search, ms per trial, peak RSS, and how many
layer configs the run still had to time (0 when the table covers every layer it met). A PPO
run's wall time includes what its first torch.optim.Adam costs once per process (it imports
torch._dynamo: seconds, and ~150 MB of the RSS). `--torch-threads` sets torch's threads in the
run; the default leaves torch's own, as `mnas search` runs today.

The table lives in a database this benchmark owns (`--db`, default bench_instant.db beside the
user's latency.db). It is built once, untimed, before any run: every layer config of 10,000
random architectures of the space at 224x224 / 1000 classes (on the default space that is all
~3,320 of them; ~0.4 s each on a busy 2-core host, so a first build takes 15-25 min and later
ones nothing), plus MobileNetV2 (T = auto), and a correction fitted on 10 whole networks.

The baseline, measured in the same invocation, is what the paper pays per trial: one proxy
training of a random model with the default TrainConfig on the default dataset (digits), so
the ratio says how much cheaper an instant trial is. Targets: 10,000 PPO trials < 60 s,
peak memory < 1 GB (issue 15).

    python benchmarks/instant.py [--trials 1000 10000] [--strategies ppo:8 random ...]
                                 [--accuracy predicted|estimated] [--db DB] [--quick]
                                 [--tpe-10k] [--build-only]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PREDICTOR = REPO / "sample_runs" / "predictor_digits.json"
DEFAULT_STRATEGIES = ("ppo:8", "ppo:64", "ppo:256", "random", "evolution", "nsga2", "tpe")
OTHER_BATCH = 64       # strategies given without ":batch"
TABLE_ARCHS = 10_000   # random architectures whose layers the table holds (see docstring)
TPE_10K_REASON = ("its ask grows with the history (~34 ms/trial at 500 told, ~175 ms at 2,000), "
                  "so 10,000 trials would take most of an hour; --tpe-10k runs it")
TARGET_PPO_10K_S, TARGET_RSS_MB = 60.0, 1024.0


def default_db() -> str:
    from mnas_core.latency.db import default_db_path
    return str(default_db_path().with_name("bench_instant.db"))


def latency_setup(db: str):
    from mnas_core.search import LatencySetup
    return LatencySetup("predicted", options={"db_path": db})


def accuracy_setup(kind: str):
    from mnas_core.search import AccuracySetup
    if kind == "predicted":
        return AccuracySetup("predicted", {"path": str(PREDICTOR)})
    return AccuracySetup(kind)


def build_table(db: str, archs: int = TABLE_ARCHS, calibrate: int = 10, seed: int = 0) -> dict:
    """Time every layer config of `archs` random deployed architectures (and MobileNetV2's)
    that the table in `db` lacks, and fit the correction once; returns what it did."""
    import numpy as np
    from mnas_core import zoo
    from mnas_core.space import SearchSpace

    setup = latency_setup(db)
    lut = setup.make_source()
    rng = np.random.default_rng(seed)
    space = SearchSpace()
    nets = [setup.deployed(zoo.get("mobilenet_v2"))]
    nets += [setup.deployed(space.sample(rng)) for _ in range(archs)]
    missing = len(lut.missing(nets))
    if missing:  # a new database: say what is coming before minutes of timing
        print(f"building the table in {db}: {missing} layer configs to time once "
              "(~0.1-1 s each), then a correction on whole networks", flush=True)
    start = time.perf_counter()
    timed = lut.build(nets, progress=sys.stderr.isatty()) if missing else 0
    fitted = False
    if calibrate >= 2 and lut.calibration() is None:
        lut.calibrate([nets[i] for i in lut.pick_calibration(nets, calibrate)])
        fitted = True
    return {"timed": timed, "layers": len(lut.table()), "seconds": time.perf_counter() - start,
            "calibrated": fitted, "fingerprint": lut.table_fingerprint()}


# ------------------------------------------------------------ one run (child process)
def run_one(spec: dict) -> dict:
    """One instant search as `spec` says; the figures of it. Runs in the child process."""
    from mnas_core.search import SearchConfig, load_config, run_search, start_run
    from mnas_core.store import read_trials

    if spec.get("threads"):  # else torch's default, as `mnas search` runs today
        import torch
        torch.set_num_threads(spec["threads"])
    cfg = SearchConfig(strategy=spec["strategy"], trials=spec["trials"],
                       batch_size=spec["batch"], seed=spec.get("seed", 0),
                       accuracy=accuracy_setup(spec["accuracy"]),
                       latency=latency_setup(spec["db"]), executor="inprocess")
    source = cfg.latency.make_source()
    before = len(source.table())  # the table the run starts with (loads it from the db)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "run.db"
        store = start_run(cfg, path)
        start = time.perf_counter()
        run_search(store, source=source)
        wall = time.perf_counter() - start
        store.close()
        df = read_trials(path)
        T = load_config(path).reward.target_ms
    ok = df[df.status == "ok"]
    return {**spec, "wall_s": wall, "ms_per_trial": wall / spec["trials"] * 1e3,
            "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "layers_timed": len(source.table()) - before, "ok": len(ok),
            "failed": int((df.status == "failed").sum()), "best_reward": float(ok.reward.max()),
            "T": T, "threads": _threads()}


def _threads() -> int:
    import torch
    return torch.get_num_threads()


def baseline() -> dict:
    """One proxy training of a random model, default TrainConfig, default dataset (child)."""
    import numpy as np
    from mnas_core.data import DataConfig, load_dataset
    from mnas_core.space import SearchSpace
    from mnas_core.train import TrainConfig, evaluate_candidate

    data = load_dataset(DataConfig())
    arch = SearchSpace().replace(**data.arch_overrides()).sample(np.random.default_rng(0))
    cfg = TrainConfig(threads=1)  # what each of the 2 default workers gets on 2 cores
    start = time.perf_counter()
    evaluate_candidate(arch, data, cfg)
    return {"seconds": time.perf_counter() - start, "dataset": DataConfig().name,
            "epochs": cfg.epochs, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            / 1024}


def child(payload: str) -> None:
    spec = json.loads(payload)
    out = baseline() if spec.get("baseline") else run_one(spec)
    print("RESULT " + json.dumps(out), flush=True)


def in_child(spec: dict, timeout: float) -> dict:
    """Run `spec` in a fresh interpreter (malloc tunables set, like every entry point); its
    RESULT line, or {"error": ...} when it failed or ran past `timeout` seconds."""
    from mnas_core.runtime import tuned_env

    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(spec)]
    try:
        res = subprocess.run(cmd, env=tuned_env(), capture_output=True, text=True,
                             timeout=timeout, cwd=REPO)
    except subprocess.TimeoutExpired:
        return {**spec, "error": f"ran past {timeout:.0f} s"}
    lines = [ln for ln in res.stdout.splitlines() if ln.startswith("RESULT ")]
    if res.returncode or not lines:
        tail = (res.stderr.strip().splitlines() or ["no output"])[-1]
        return {**spec, "error": f"exit {res.returncode}: {tail}"}
    return json.loads(lines[-1][len("RESULT "):])


# ------------------------------------------------------------ the report
def parse_strategy(text: str) -> tuple[str, int]:
    from mnas_core.registry import STRATEGIES
    name, _, batch = text.partition(":")
    STRATEGIES.get(name)  # ValueError naming the registered strategies
    if batch and not (batch.isdigit() and int(batch) >= 1):
        raise ValueError(f"{text}: the batch after ':' must be a positive integer")
    return name, int(batch) if batch else OTHER_BATCH


def load_note() -> str:
    load = os.getloadavg()
    return (f"load average {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} on "
            f"{os.cpu_count()} cores")


def report_row(r: dict, base_s: float | None) -> str:
    name = f"{r['strategy']}:{r['batch']}"
    if "error" in r:
        return f"{name:>12} {'':>3} {r['trials']:>7}  failed: {r['error']}"
    ratio = f"{base_s * 1e3 / r['ms_per_trial']:11.0f}x" if base_s else f"{'n/a':>12}"
    target = ""
    if r["strategy"] == "ppo" and r["trials"] >= 10_000:
        target = "  <60 s: " + ("yes" if r["wall_s"] < TARGET_PPO_10K_S else "NO")
    mem = "yes" if r["rss_mb"] < TARGET_RSS_MB else "NO"
    return (f"{name:>12} {r['threads']:>3} {r['trials']:>7} {r['wall_s']:8.1f} "
            f"{r['ms_per_trial']:8.2f} {r['rss_mb']:7.0f} ({mem:>3}) {r['layers_timed']:6d} "
            f"{r['best_reward']:9.4f} {ratio}{target}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, nargs="+", default=[1000, 10_000])
    ap.add_argument("--strategies", nargs="+", default=list(DEFAULT_STRATEGIES),
                    help=f"NAME or NAME:BATCH (default batch {OTHER_BATCH} without one)")
    ap.add_argument("--accuracy", default="predicted", choices=("predicted", "estimated"))
    ap.add_argument("--db", default=None, help="the benchmark's latency database "
                    "(default: bench_instant.db beside the user's latency.db)")
    ap.add_argument("--quick", action="store_true", help="1,000 trials only")
    ap.add_argument("--tpe-10k", action="store_true", help="also run TPE beyond 1,000 trials")
    ap.add_argument("--table-archs", type=int, default=TABLE_ARCHS)
    ap.add_argument("--build-only", action="store_true", help="build the table and stop")
    ap.add_argument("--no-baseline", action="store_true", help="skip the proxy training")
    ap.add_argument("--torch-threads", type=int, default=0, help="torch threads in each run "
                    "(default 0: torch's own default, what `mnas search` uses)")
    ap.add_argument("--timeout", type=float, default=900, help="seconds per child run")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child)
        return
    try:
        runs = [parse_strategy(s) for s in args.strategies]
        if min(args.trials) < 1 or args.torch_threads < 0 or args.table_archs < 0:
            raise ValueError("--trials must be >= 1, --torch-threads and --table-archs >= 0")
    except ValueError as err:
        ap.error(str(err))
    try:
        report(args, runs)
    except ValueError as err:  # a bad setting found on use (e.g. a --db that cannot open)
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)


def report(args, runs: list[tuple[str, int]]) -> None:
    db = args.db or default_db()
    trials = [1000] if args.quick else sorted(set(args.trials))
    print(f"# {load_note()}; figures are pessimistic when the load exceeds the cores")
    t = build_table(db, args.table_archs)
    print(f"table {db}: {t['layers']} layer configs (fingerprint {t['fingerprint']}); timed "
          f"{t['timed']} now in {t['seconds']:.0f} s (untimed setup)"
          + ("; correction fitted" if t["calibrated"] else ""), flush=True)
    if args.build_only:
        return
    base = None
    if not args.no_baseline:
        b = in_child({"baseline": True}, args.timeout)
        if "error" in b:
            print(f"baseline failed: {b['error']}")
        else:
            base = b["seconds"]
            print(f"baseline: one proxy training ({b['dataset']}, {b['epochs']:g} epochs, "
                  f"1 thread) {base:.1f} s, peak RSS {b['rss_mb']:.0f} MB", flush=True)
    print(f"accuracy: {args.accuracy}; latency: predicted (table above); each run a fresh "
          f"process; thr: torch threads\n{'strategy':>12} {'thr':>3} {'trials':>7} "
          f"{'wall s':>8} {'ms/trial':>8} {'peak RSS MB':>13} {'timed':>6} {'best R':>9} "
          f"{'vs training':>12}")
    for n in trials:
        for name, batch in runs:
            if name == "tpe" and n > 1000 and not args.tpe_10k:
                print(f"{name + ':' + str(batch):>12} {'':>3} {n:>7}  skipped: "
                      + TPE_10K_REASON)
                continue
            spec = {"strategy": name, "batch": batch, "trials": n, "db": db,
                    "accuracy": args.accuracy, "threads": args.torch_threads}
            print(report_row(in_child(spec, args.timeout), base), flush=True)
    print(f"targets: 10,000 PPO trials < {TARGET_PPO_10K_S:.0f} s; peak RSS < "
          f"{TARGET_RSS_MB:.0f} MB. 'timed': layer configs the run had to time itself (its "
          f"wall time includes them). # {load_note()} at the end")


if __name__ == "__main__":
    from mnas_core.runtime import malloc_tuned, tuned_env
    if not malloc_tuned() and sys.platform == "linux":  # the table's fingerprint includes it
        os.execve(sys.executable, [sys.executable, __file__, *sys.argv[1:]], tuned_env())
    main()
