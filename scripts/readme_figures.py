"""Static README images from the recorded runs in sample_runs/ (issue 8).

    flock /tmp/mnas-cpu.lock python -m scripts.readme_figures [--runs sample_runs] [--out docs/img]

Writes four PNGs with kaleido (it drives a headless Chromium; set BROWSER_PATH, or have
/usr/bin/chromium, e.g. `apt-get install -y chromium`):

  hard_vs_soft.png     the paper's Figure 6: sampled models, Pareto front and latency histogram
                       of the hard and the soft run, side by side
  pareto_fronts.png    Pareto fronts of the hard, soft and random runs (+ single-op networks)
  cifar10_points.png   the CIFAR-10 reference networks (single-op networks and zoo families over
                       their widths), trained at real data's default budget (if recorded)
  latency_vs_macs.png  MACs and the lookup-table prediction against measured latency on this
                       CPU, for models sampled by the recorded runs

The last image measures: its models' latencies come from the latency database when the runs
were recorded on this machine with the default protocol (cache hits), otherwise they are
measured now (a few minutes on 2 cores). --skip-latency leaves it out.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from mnas_core import findings
from mnas_core.arch import parse_arch
from mnas_core.search import load_config
from mnas_core.store import read_trials
from mnas_core.viz import figure6, latency_evidence, pareto_overlay

ROOT = Path(__file__).resolve().parents[1]
REQUIRED = {"hard": "hard_ppo.db", "soft": "soft_ppo.db"}
OPTIONAL = {"random": "random.db"}
SIZE = dict(width=1100, scale=2)  # ~2200 px wide: sharp on high-DPI screens, small files


def load_runs(folder: Path) -> tuple[dict, dict, dict]:
    missing = [f for f in REQUIRED.values() if not (folder / f).is_file()]
    if missing:
        raise SystemExit(f"{folder}/ lacks {', '.join(missing)}: record the runs first (see "
                         f"{folder}/README), or pass --runs FOLDER")
    files = {**REQUIRED, **{k: v for k, v in OPTIONAL.items() if (folder / v).is_file()}}
    runs = {n: read_trials(folder / f) for n, f in files.items()}
    configs = {n: load_config(folder / f) for n, f in files.items()}
    singles = {p.stem: read_trials(p) for p in sorted(folder.glob("single_op_*.db"))}
    return runs, configs, singles


def cifar10_points(folder: Path) -> tuple[dict, float | None]:
    """The CIFAR-10 one-point runs (record_cifar10.sh points) and their T."""
    paths = sorted(p for pattern in ("cifar10_single_op_*.db", "cifar10_zoo_*.db")
                   for p in folder.glob(pattern))
    target = load_config(paths[0]).reward.target_ms if paths else None
    return {p.stem: read_trials(p) for p in paths}, target


def latency_table(runs: dict, configs: dict, n: int, calibrate: int,
                  seed: int = 0) -> pd.DataFrame:
    """`n` distinct models sampled by the runs, at their deployment size: MACs, measured and
    predicted latency on this host; the first `calibrate` fit the predictor's correction."""
    from mnas_core.latency import HostLatencySource, LutPredictor
    from mnas_core.profile import totals

    archs = {}
    for name, df in runs.items():
        for text in df[df.status == "ok"].arch:
            deployed = configs[name].latency.deployed(parse_arch(text))
            archs[deployed.to_string()] = deployed
    keys = sorted(archs)
    pick = np.random.default_rng(seed).choice(len(keys), size=min(n, len(keys)), replace=False)
    chosen = [archs[keys[i]] for i in pick]
    measured = HostLatencySource()
    lut = LutPredictor()
    t0 = time.perf_counter()
    ms = [measured.latency(a).ms for a in chosen]
    print(f"  measured {len(chosen)} models in {time.perf_counter() - t0:.0f} s", flush=True)
    t0 = time.perf_counter()
    lut.build(chosen, progress=False)
    lut.calibrate(chosen[:calibrate], measured)
    print(f"  lookup table built and calibrated in {time.perf_counter() - t0:.0f} s", flush=True)
    return pd.DataFrame({"macs": [totals(a).macs for a in chosen], "measured_ms": ms,
                         "predicted_ms": [lut.latency(a).ms for a in chosen],
                         "calibrated": np.arange(len(chosen)) < calibrate})


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=Path, default=ROOT / "sample_runs")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    ap.add_argument("--models", type=int, default=40, help="models in the latency image")
    ap.add_argument("--calibrate", type=int, default=10, help="of those, fit the correction")
    ap.add_argument("--skip-latency", action="store_true", help="only the two run images")
    args = ap.parse_args(argv)
    os.environ.setdefault("BROWSER_PATH", "/usr/bin/chromium")  # kaleido 1.x looks here
    runs, configs, singles = load_runs(args.runs)
    targets = {n: c.reward.target_ms for n, c in configs.items()}
    args.out.mkdir(parents=True, exist_ok=True)

    fronts = pareto_overlay(runs, targets["hard"], findings.reference_points(singles),
                            title="Pareto fronts of the recorded searches")
    images = {"hard_vs_soft.png": (figure6({n: runs[n] for n in REQUIRED}, targets), 650),
              "pareto_fronts.png": (fronts, 480)}
    points, cifar_t = cifar10_points(args.runs)
    if points:
        images["cifar10_points.png"] = (pareto_overlay(
            {}, cifar_t, findings.reference_points(points),
            title="CIFAR-10 reference networks at real data's default budget"), 480)
    if not args.skip_latency:
        print("latency image: measuring on this CPU", flush=True)
        table = latency_table(runs, configs, args.models, args.calibrate)
        images["latency_vs_macs.png"] = (latency_evidence(table, table["calibrated"]), 460)
    for name, (fig, height) in images.items():
        fig.write_image(args.out / name, height=height, **SIZE)
        print(f"wrote {args.out / name}")
    return 0


if __name__ == "__main__":
    from mnas_core.runtime import malloc_tuned, tuned_env
    # Steady latency needs glibc's malloc tunables, read only at process start: re-exec once.
    if not malloc_tuned() and sys.platform == "linux":
        # orig_argv repeats how it was started (`-m scripts.readme_figures` or the file).
        os.execve(sys.executable, [sys.executable, *sys.orig_argv[1:]], tuned_env())
    sys.exit(main())
