"""How a run file grows: bytes per 100 trials, with the strategy state it must keep to resume.

  python benchmarks/store_growth.py [--trials 1000] [--strategy ppo]

Replays the store's writes of a real search without training or timing anything: the real
strategy asks batches of 8, each batch is recorded pending with the strategy's post-ask state
(what `--resume` needs for an exact continuation), every trial is finished with figures, the
strategy is told. Printed every 100 trials: the database and WAL sizes, against the same run
recorded with an empty state (the baseline, measured in the same run), and the time per batch
write. The state row is replaced, not appended, so it should cost a constant, not a rate.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from mnas_core.registry import STRATEGIES


def replay(path: Path, strategy: str, trials: int, with_state: bool) -> list[dict]:
    from mnas_core.space import SearchSpace
    from mnas_core.store import RunStore, encode_state
    from mnas_core.strategies import make_strategy

    space = SearchSpace()
    s = make_strategy(strategy, space, seed=0)
    store = RunStore.create(path, {"strategy": strategy})
    rng, out, done, write_s = np.random.default_rng(0), [], 0, []
    while done < trials:
        tokens = s.ask(8)
        rows = [{"arch": space.decode(t).to_string(), "tokens": json.dumps(t)} for t in tokens]
        t0 = time.perf_counter()
        ids = store.add_pending(done // 8, rows, s.state_dict() if with_state else {})
        write_s.append(time.perf_counter() - t0)
        rewards = rng.uniform(0.5, 1.0, len(ids)).tolist()
        for i, r in zip(ids, rewards):
            store.finish(i, {"status": "ok", "accuracy": r, "latency_ms": 5.0, "reward": r})
        s.tell(tokens, rewards)
        done += len(ids)
        if done % 100 == 0 or done >= trials:
            wal = Path(f"{path}-wal")
            out.append({"trials": done, "db": path.stat().st_size,
                        "wal": wal.stat().st_size if wal.exists() else 0,
                        "write_ms": 1000 * float(np.median(write_s))})
    state = len(encode_state(s.state_dict())) if with_state else 0
    store.close()
    out.append({"state_bytes": state, "closed_db": path.stat().st_size})
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trials", type=int, default=1000)
    p.add_argument("--strategy", default="ppo", choices=STRATEGIES.names())
    args = p.parse_args(argv)
    import torch
    torch.set_num_threads(1)  # the controller's update is small; more threads only contend
    with tempfile.TemporaryDirectory() as d:
        base = replay(Path(d) / "base.db", args.strategy, args.trials, with_state=False)
        real = replay(Path(d) / "real.db", args.strategy, args.trials, with_state=True)
    print(f"{args.strategy}: strategy state {real[-1]['state_bytes'] / 1e6:.2f} MB, "
          f"rewritten once per batch of 8")
    print(f"{'trials':>6} {'db+wal MB':>9} {'wal MB':>7} {'baseline db+wal MB':>18} "
          f"{'batch write ms':>14}")
    for r, b in zip(real[:-1], base[:-1]):
        print(f"{r['trials']:6d} {(r['db'] + r['wal']) / 1e6:9.2f} {r['wal'] / 1e6:7.2f} "
              f"{(b['db'] + b['wal']) / 1e6:18.2f} {r['write_ms']:14.1f}")
    rows, brows = real[:-1], base[:-1]
    if len(rows) >= 3:
        def per100(rs):  # on disk, db + wal, from 200 trials on (the WAL has reached its size)
            return ((rs[-1]["db"] + rs[-1]["wal"]) - (rs[1]["db"] + rs[1]["wal"])) / \
                (rs[-1]["trials"] - rs[1]["trials"]) * 100
        per100, b100 = per100(rows), per100(brows)
        print(f"growth per 100 trials after the first 200: {per100 / 1e3:.1f} kB "
              f"(baseline without state {b100 / 1e3:.1f} kB, ratio {per100 / max(b100, 1):.2f})")
    print(f"closed file: {real[-1]['closed_db'] / 1e6:.2f} MB vs baseline "
          f"{base[-1]['closed_db'] / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
