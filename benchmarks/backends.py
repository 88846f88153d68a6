"""Host latency backends against the phone: cost per model, ranking, proportionality.

  python benchmarks/backends.py [--csv ../shared/data/published_pixel1.csv] [--backends ...]
                                [--quick] [--out FILE.json]

For every network of the published ImageNet/Pixel 1 table (MobileNetV2 and MnasNet-A1 at widths
0.35-1.4 and resolutions 96-224; source column of the CSV) each backend of
mnas_core.latency.host times our build of that network (same widths, same resolution, 1000
classes) by the plain protocol on one thread. Printed per backend:

- seconds per model (preparation + timing) and the geometric-mean time vs ExecuTorch;
- Spearman with ExecuTorch (the runtime the phone runs) and with the Pixel 1's published ms;
- the one-scale fit to the Pixel 1 (phone_ms ~ k x host_ms, k = geometric mean of the ratios)
  and its mean absolute percentage error: a backend whose figures are proportional to the
  phone's makes (LAT/T)^w behave as it does on the phone; a fixed per-call floor does not;
- the same fit with an offset (phone ~ k x (host - floor)), whose floor says how much of the
  smallest network's time is per-call cost rather than work.

The CSV's rows are published facts (not measured here); everything else is measured in this run.
Needs a quiet machine: latency figures taken while other jobs run are pessimistic and noisy.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ZOO_OF = {"MobileNetV2": "mobilenet_v2", "MnasNet-A1": "mnasnet_a1"}
DEFAULT_CSV = Path(__file__).resolve().parents[1].parent / "shared" / "data" / \
    "published_pixel1.csv"


def networks(csv_path: Path) -> list[dict]:
    with open(csv_path, newline="") as f:
        rows = list(csv.DictReader(f))
    return [{"name": f"{ZOO_OF[r['model']]}_x{float(r['width']):g}@{r['resolution']}",
             "zoo": f"{ZOO_OF[r['model']]}_x{float(r['width']):g}",
             "resolution": int(r["resolution"]), "pixel1_ms": float(r["pixel1_ms"]),
             "macs_M": float(r["macs_M"])} for r in rows]


def time_one(net: dict, backend: str) -> dict:
    from mnas_core import zoo
    from mnas_core.latency.host import HostLatencyConfig, HostLatencySource

    arch = zoo.get(net["zoo"], resolution=net["resolution"])
    src = HostLatencySource(HostLatencyConfig(backend=backend, reference=None,
                                              db_path=":memory:"))
    t0 = time.perf_counter()
    r, _ = src.measure(arch)
    return {"ms": r.ms, "cv": r.cv, "seconds": time.perf_counter() - t0}


def fits(host: np.ndarray, phone: np.ndarray) -> dict:
    """One-scale fit (log-space least squares: k = geometric mean of phone/host) and a
    scale + offset fit (ordinary least squares), each with its mean absolute % error."""
    k = float(np.exp(np.mean(np.log(phone / host))))
    mape1 = float(np.mean(np.abs(k * host - phone) / phone))
    a, b = np.polyfit(host, phone, 1)
    mape2 = float(np.mean(np.abs(a * host + b - phone) / phone))
    return {"scale": k, "scale_mape": mape1, "affine_scale": float(a),
            "floor_ms": float(-b / a), "affine_mape": mape2}


def report(nets: list[dict], res: dict[str, list[dict]]) -> None:
    from scipy.stats import spearmanr

    phone = np.array([n["pixel1_ms"] for n in nets])
    macs = np.array([n["macs_M"] for n in nets])
    ref = np.array([r["ms"] for r in res["executorch"]]) if "executorch" in res else None
    print(f"\n{len(nets)} published networks; Pixel 1 {phone.min():.1f}-{phone.max():.1f} ms; "
          f"MACs vs Pixel 1 Spearman {spearmanr(macs, phone).statistic:.3f}")
    print(f"{'backend':<12} {'s/model':>7} {'range ms':>13} {'x ET':>6} {'rho ET':>6} "
          f"{'rho P1':>6} {'1-scale MAPE':>12} {'affine MAPE':>11} {'floor ms':>8}")
    for b, rows in res.items():
        ms = np.array([r["ms"] for r in rows])
        f = fits(ms, phone)
        vs_et = (f"{np.exp(np.mean(np.log(ms / ref))):6.2f} "
                 f"{spearmanr(ms, ref).statistic:6.3f}") if ref is not None else f"{'-':>6} {'-':>6}"
        print(f"{b:<12} {np.mean([r['seconds'] for r in rows]):7.1f} "
              f"{ms.min():5.2f}-{ms.max():6.2f} {vs_et} {spearmanr(ms, phone).statistic:6.3f} "
              f"{100 * f['scale_mape']:11.1f}% {100 * f['affine_mape']:10.1f}% "
              f"{f['floor_ms']:8.2f}")
    print(f"(load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")


def main(argv=None) -> int:
    from mnas_core.latency.host import BACKENDS

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    p.add_argument("--backends", default=",".join(BACKENDS))
    p.add_argument("--quick", action="store_true", help="every 4th network only")
    p.add_argument("--out", type=Path, help="also write the raw figures as JSON")
    args = p.parse_args(argv)
    if not args.csv.is_file():
        print(f"backends: no published table at {args.csv}", file=sys.stderr)
        return 2
    nets = networks(args.csv)[::4 if args.quick else 1]
    res: dict[str, list[dict]] = {}
    for b in args.backends.split(","):
        if b not in BACKENDS:
            print(f"backends: unknown backend {b!r} (known: {', '.join(BACKENDS)})",
                  file=sys.stderr)
            return 2
        res[b] = []
        t0 = time.perf_counter()
        for n in nets:
            res[b].append(time_one(n, b))
        print(f"{b}: {len(nets)} networks in {time.perf_counter() - t0:.0f} s", flush=True)
    if args.out:
        args.out.write_text(json.dumps({"networks": nets, "results": res}, indent=1))
    report(nets, res)
    return 0


if __name__ == "__main__":
    from mnas_core.runtime import reexec_with_malloc_tunables

    reexec_with_malloc_tunables("benchmarks.backends", sys.argv[1:])
    sys.exit(main())
