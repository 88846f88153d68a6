"""Time to the first result of the app's quick demo, against the default search's, both
started as the app's Run-a-search page starts them (app.search_form values ->
mnas_core.background.spawn_search: a detached `mnas search --resume`), on the built-in digits.

Measured from the click (the run file's creation) to: the first phase line the search writes
(what the page shows at once) and the first finished trial (the first point on its charts).
Every run gets an empty latency database ($MNAS_HOME in a temporary folder), so T and every
model are timed as on a fresh machine. Target (issue 16): quick demo's first result < 30 s
on 2 cores. Each search is stopped (SIGINT) after its first result.

    python benchmarks/quick_demo.py [--timeout 300] [--no-baseline]
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # app.search_form: the form's own values

TARGET_S = 30.0


def first_result(name: str, cfg, home: Path, timeout: float) -> dict:
    """Start the search `cfg` as NAME.db with latency.db in `home`; seconds to its first
    phase line and first finished trial (or "error")."""
    from mnas_core.background import spawn_search, stop_search
    from mnas_core.store import read_meta

    os.environ["MNAS_HOME"] = str(home)  # the child inherits it (tuned_env copies os.environ)
    path = home / f"{name}.db"
    start = time.monotonic()
    pid = spawn_search(cfg, path)
    out: dict = {"name": name}
    try:
        while time.monotonic() - start < timeout:
            try:
                meta = read_meta(path)
            except ValueError:  # mid-write: read again
                meta = {}
            now = time.monotonic() - start
            if "phase_s" not in out and meta.get("phase"):
                out["phase_s"], out["first_phase"] = now, meta["phase"]
            if meta.get("n_trials", 0) >= 1:
                out["first_s"] = now
                return out
            if meta.get("status") == "failed":
                out["error"] = f"the search failed; see {path.with_suffix('.log')}"
                return out
            time.sleep(0.2)
        out["error"] = f"no result within {timeout:.0f} s"
        return out
    finally:
        _stop(path, pid, stop_search)


def _stop(path: Path, pid: int, stop_search, grace_s: float = 30.0) -> None:
    """SIGINT (a clean stop), then SIGKILL to its session if it has not ended in `grace_s`
    (e.g. still starting, so not yet marked running)."""
    try:
        stop_search(path)
    except (ValueError, OSError):
        pass
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        if os.waitpid(pid, os.WNOHANG)[0]:
            return
        time.sleep(0.2)
    os.killpg(pid, signal.SIGKILL)  # spawned in its own session: its group is its pid
    os.waitpid(pid, 0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--timeout", type=float, default=300, help="seconds per search")
    ap.add_argument("--no-baseline", action="store_true", help="skip the default search")
    args = ap.parse_args()
    from app import search_form
    from mnas_core.space import SearchSpace

    load = os.getloadavg()
    print(f"# load average {load[0]:.2f} on {os.cpu_count()} cores; digits, measured latency, "
          "empty latency database per search")
    rows = [("quick demo", search_form.quick_demo_config("quick-demo", SearchSpace()))]
    if not args.no_baseline:
        rows.append(("default search (baseline)", search_form.build_config(
            search_form.defaults("default-search"), SearchSpace())))
    got = {}
    for label, cfg in rows:
        with tempfile.TemporaryDirectory() as tmp:
            got[label] = r = first_result(label.split()[0], cfg, Path(tmp), args.timeout)
        if "error" in r:
            print(f"{label:>26}: {r['error']}")
            continue
        print(f"{label:>26}: phase line after {r.get('phase_s', float('nan')):5.1f} s "
              f"({r.get('first_phase')!r}), first result after {r['first_s']:5.1f} s "
              f"(trials {cfg.trials}, batch {cfg.batch_size}, "
              f"{cfg.dataset.train_images or 'all'} images, {cfg.train.epochs:g} epochs, "
              f"latency options {cfg.latency.options or 'default'})", flush=True)
    quick, base = got.get("quick demo", {}), got.get("default search (baseline)", {})
    if "first_s" in quick:
        verdict = "yes" if quick["first_s"] < TARGET_S else "NO"
        ratio = (f"; {base['first_s'] / quick['first_s']:.1f}x sooner than the default search"
                 if "first_s" in base else "")
        print(f"quick demo first result < {TARGET_S:.0f} s: {verdict}{ratio}")


if __name__ == "__main__":
    main()
