"""How long the Reward explorer takes to settle after a slider move, in a real browser.

The student's task (issue 16): move α (or T) on the Reward explorer and watch the re-ranking.
Measured in Debian's headless chromium (Playwright) against `mnas app`, with one run in its
sample folder:
  - 300 trials: the recorded random search (sample_runs/random.db);
  - 10,000 trials: a real instant search made here first (PPO, predicted accuracy, latency
    from the benchmark's lookup table as benchmarks/instant.py builds it), untimed.

One move = one arrow-key press on the focused slider. "Settled" = the script has finished its
rerun and the page has not changed for QUIET_MS (a MutationObserver over the whole document);
the time printed is from the key press to the page's last change, so the quiet window is not
counted. Also printed: a burst of `--burst` presses, one every 50 ms (a held arrow key), to the
last change. Each figure is the median of `--moves` moves. Target: < 0.5 s at 10,000 trials.

The baseline, in the same run, is the same page re-ranking a run of 1 trial (a recorded
single-op network): the ratio says what the run's size costs.

    python -m benchmarks.slider [--moves 7] [--burst 20] [--trials 10000] [--db DB]
                                [--big-run RUN.db] [--slider alpha T]

On a fresh machine the lookup table is built first (15-25 min, once); `--big-run` re-ranks a
run you already have instead of making one.

The browser helpers are the browser tests' own (tests/app/browser.py).
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # tests.app.browser, benchmarks.instant

TARGET_S = 0.5
QUIET_MS = 600
SLIDERS = {"alpha": "α (exponent when LAT ≤ T)", "T": "Target latency T (ms)"}

# Installed once per page: the time of the document's last change, in performance.now() ms.
OBSERVE = """() => { window.__last = performance.now();
  new MutationObserver(() => { window.__last = performance.now(); })
    .observe(document, {subtree: true, childList: true, attributes: true,
                        characterData: true}); }"""


def instant_run(path: Path, trials: int, db: str) -> None:
    """A real PPO instant search of `trials` trials written to `path` (untimed setup)."""
    from benchmarks.instant import accuracy_setup, build_table, latency_setup
    from mnas_core.search import SearchConfig, run_search, start_run

    build_table(db)
    cfg = SearchConfig(strategy="ppo", trials=trials, batch_size=64, seed=0,
                       accuracy=accuracy_setup("predicted"), latency=latency_setup(db),
                       executor="inprocess")
    store = start_run(cfg, path)
    try:
        run_search(store, source=cfg.latency.make_source())
    finally:
        store.close()


def settle(page, presses: int, key: str = "ArrowLeft", gap_ms: int = 50) -> float:
    """Press `key` `presses` times on the focused element; seconds from the first press to
    the page's last change once it is quiet and the script is not running."""
    page.evaluate("() => { window.__last = performance.now(); }")
    start = page.evaluate("() => performance.now()")
    for i in range(presses):
        page.keyboard.press(key)
        if i < presses - 1:
            page.wait_for_timeout(gap_ms)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        page.wait_for_timeout(100)
        state = page.evaluate("() => { const s = document.querySelector("
                              "'[data-test-script-state]'); return [s && s.dataset.testScriptState,"
                              " performance.now() - window.__last]; }")
        if state[0] == "notRunning" and state[1] >= QUIET_MS:
            return (page.evaluate("() => window.__last") - start) / 1000
    raise TimeoutError("the page did not settle within 120 s")


def measure(url: str, slider: str, moves: int, burst: int) -> dict:
    from tests.app.browser import chromium_page, wait_idle

    with chromium_page(width=1400) as (page, errors):
        page.goto(f"{url}/reward")
        wait_idle(page)
        page.evaluate(OBSERVE)
        thumb = page.get_by_role("slider", name=SLIDERS[slider])
        thumb.focus()
        # Single moves all one way, so no value repeats; bursts go right, then back left.
        single = [settle(page, 1, "ArrowLeft") for _ in range(moves)]
        held = [settle(page, burst, ("ArrowRight", "ArrowLeft")[i % 2])
                for i in range(max(1, moves // 3))]
        if errors:
            raise RuntimeError(f"the page raised: {errors[0]}")
    return {"move": statistics.median(single), "worst": max(single),
            "burst": statistics.median(held)}


def main() -> int:
    from tests.app.browser import CHROMIUM

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--moves", type=int, default=7, help="single moves per case (median)")
    ap.add_argument("--burst", type=int, default=20, help="presses in a held-key burst")
    ap.add_argument("--trials", type=int, default=10_000, help="the large run's trials")
    ap.add_argument("--db", default=None, help="the instant search's latency database "
                    "(default: benchmarks/instant.py's)")
    ap.add_argument("--big-run", type=Path, default=None, help="use this run as the large one "
                    "instead of making it")
    ap.add_argument("--slider", choices=sorted(SLIDERS), nargs="+", default=["alpha", "T"])
    args = ap.parse_args()
    if args.moves < 1 or args.burst < 1 or args.trials < 1:
        ap.error("--moves, --burst and --trials must be >= 1")
    if not Path(CHROMIUM).exists():
        print(f"error: needs Debian's chromium at {CHROMIUM} (apt-get install chromium)",
              file=sys.stderr)
        return 2
    try:
        report(args)
    except (ValueError, OSError, TimeoutError, RuntimeError) as err:  # a bad --big-run, a
        print(f"error: {err}", file=sys.stderr)                       # page that never settled
        return 2
    return 0


def report(args) -> None:
    from benchmarks.instant import default_db, load_note
    from tests.app.browser import running_app

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cases = {"1": tmp / "one", "300": tmp / "r300", f"{args.trials:,}": tmp / "big"}
        for d in cases.values():
            d.mkdir()
        shutil.copy(REPO / "sample_runs" / "random.db", cases["300"] / "random.db")
        shutil.copy(REPO / "sample_runs" / "single_op_mbconv3_k3.db", cases["1"] / "one.db")
        big = cases[f"{args.trials:,}"]
        if args.big_run:
            from mnas_core.store import read_meta
            big = cases.pop(f"{args.trials:,}")
            cases[f"{read_meta(args.big_run)['n_trials']:,}"] = big
            shutil.copy(args.big_run, big / args.big_run.name)
        else:
            print(f"making the {args.trials:,}-trial instant run (untimed) ...", flush=True)
            t0 = time.perf_counter()
            instant_run(big / "instant.db", args.trials, args.db or default_db())
            print(f"  done in {time.perf_counter() - t0:.0f} s")
        print(f"# {load_note()}; "
              f"settle = key press to the page's last change ({QUIET_MS} ms quiet after)")
        print(f"{'slider':>6} {'trials':>7} {'move s':>7} {'worst s':>8} "
              f"{'burst s':>8} {'vs 1 trial':>10}  target < {TARGET_S} s")
        for slider in args.slider:
            base = None
            for name, folder in cases.items():
                with running_app(tmp / "runs", folder, tmp / "app.log") as url:
                    r = measure(url, slider, args.moves, args.burst)
                base = base or r["move"]
                ok = "" if name == "1" else ("  yes" if r["move"] < TARGET_S else "  NO")
                print(f"{slider:>6} {name:>7} {r['move']:7.2f} {r['worst']:8.2f} "
                      f"{r['burst']:8.2f} {r['move'] / base:9.1f}x{ok}", flush=True)


if __name__ == "__main__":
    from mnas_core.runtime import reexec_with_malloc_tunables

    # Without the tunables the latency fingerprint differs and the table would be re-timed.
    reexec_with_malloc_tunables("benchmarks.slider", sys.argv[1:])
    sys.exit(main())
