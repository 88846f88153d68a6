"""Latency evidence: direct measurement vs the lookup-table predictor vs MACs and params.

MnasNet's claim (Tan et al. 2019, Sec. 1 and Fig. 1) is that FLOPs/MACs are an inaccurate proxy
for real latency, so latency must be measured on the target. This benchmark, on 50 random
architectures of the default space at 224x224 (seeded) plus the zoo models:
  1. measures each directly (HostLatencySource, default protocol),
  2. builds the per-layer table from scratch (timed), fits its correction on `--calibrate`
     random models spread over the table's raw sums (LutPredictor.pick_calibration) and scores
     the predictor on all the *other* models (and, for comparison, a fit on the first k),
  3. ranks MACs and params against the measurements (Spearman),
  4. measures the same models in 3 separate processes (cross-process spread of the default
     paired protocol, of the plain one and of a naive wall-clock median), and
  5. compares the eager, frozen TorchScript and ExecuTorch backends on zoo models.

    flock /tmp/mnas-cpu.lock timeout 3000 python benchmarks/latency.py [--quick] [--out x.json]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from mnas_core import zoo
from mnas_core.arch import parse_arch
from mnas_core.latency import HostLatencyConfig, HostLatencySource, LatencyDB, LutConfig, \
    LutPredictor
from mnas_core.latency.lut import fit_correction
from mnas_core.profile import totals
from mnas_core.runtime import malloc_tuned, tuned_env
from mnas_core.space import SearchSpace


def child(arch_text: str, backend: str, db_path: str) -> None:
    """One separate process: measure by the default (paired) protocol, reading the reference's
    anchor from the benchmark's database but never the model's cached figure, and by the plain
    protocol; print JSON."""
    arch = parse_arch(arch_text)
    paired, _ = HostLatencySource(HostLatencyConfig(backend=backend, db_path=db_path)).measure(arch)
    plain, t = HostLatencySource(HostLatencyConfig(backend=backend, reference=None,
                                                   db_path=":memory:")).measure(arch)
    print(json.dumps({"ms": paired.ms, "cv": paired.cv, "plain_ms": plain.ms,
                      "naive_wall_median": float(np.median(t.wall))}))


def in_processes(arch, backend: str, db_path: str, n: int = 3) -> list[dict]:
    out = []
    for _ in range(n):
        cmd = [sys.executable, __file__, "--child", arch.to_string(), "--backend", backend,
               "--db", db_path]
        res = subprocess.run(cmd, env=tuned_env(), capture_output=True, text=True, timeout=600)
        if res.returncode:
            raise RuntimeError(f"child failed: {res.stderr[-2000:]}")
        out.append(json.loads(res.stdout.strip().splitlines()[-1]))
    return out


def spread(values) -> float:
    return max(values) / min(values) - 1


def backend_row(arch, backend: str) -> dict:
    """Plain protocol: each backend's own milliseconds and preparation cost, no reference."""
    src = HostLatencySource(HostLatencyConfig(backend=backend, reference=None, db_path=":memory:"))
    t0 = time.perf_counter()
    r, t = src.measure(arch)
    return {"ms": r.ms, "cv": r.cv, "wall_median": float(np.median(t.wall)),
            "seconds": time.perf_counter() - t0}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="8 random models, 3 zoo, 1 backend model")
    ap.add_argument("--n", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--calibrate", type=int, default=10, help="random models the fit uses")
    ap.add_argument("--backend", default=HostLatencyConfig.backend)
    ap.add_argument("--db", help="database (default: a fresh temporary one, so the table "
                                 "build is timed from scratch)")
    ap.add_argument("--out", help="write the figures as JSON here")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(args.child, args.backend, args.db)
        return 0
    n = 8 if args.quick else args.n
    k = min(args.calibrate, n // 2) if args.quick else args.calibrate
    rng = np.random.default_rng(args.seed)
    space = SearchSpace()
    randoms = [space.sample(rng) for _ in range(n)]
    zoo_names = ["mnasnet_a1", "mobilenet_v2_x0.5", "mnasnet_b1_x1.4"] if args.quick else \
        zoo.names()
    zoos = [zoo.get(z) for z in zoo_names]
    archs = randoms + zoos
    names = [f"random{i}" for i in range(n)] + zoo_names
    db_path = args.db or str(Path(tempfile.mkdtemp(prefix="mnas-lat-")) / "latency.db")
    db = LatencyDB(db_path)
    print(f"{len(archs)} models ({n} random seed {args.seed}, {len(zoos)} zoo) backend "
          f"{args.backend}; malloc tuned: {malloc_tuned()}; db {db_path}", flush=True)

    # 1. direct measurement
    measured = HostLatencySource(HostLatencyConfig(backend=args.backend, db_path=db_path), db=db)
    meas, meas_s, noisy = [], [], 0
    for name, a in zip(names, archs):
        t0 = time.perf_counter()
        r = measured.latency(a)
        meas_s.append(time.perf_counter() - t0)
        meas.append(r.ms)
        noisy += r.noisy
        print(f"  {name:>20}: {r.ms:7.2f} ms  CV {100 * r.cv:4.1f}%{'  NOISY' if r.noisy else ''}"
              f"{'  (cached)' if r.cached else ''}", flush=True)
    meas = np.array(meas)

    # 2. the table: build from scratch, fit on k random models spread over the layer sums,
    #    score on the rest; a fit on the first k random models is scored for comparison
    lut = LutPredictor(LutConfig(backend=args.backend, db_path=db_path), db=db)
    t0 = time.perf_counter()
    n_layers = lut.build(archs)
    build_s = time.perf_counter() - t0
    raw = np.array([lut.raw_sum(a) for a in archs])
    first_scale, first_offset = fit_correction(raw[:k], meas[:k])  # compared, never stored
    first_pred = first_scale * raw + first_offset
    chosen = lut.pick_calibration(randoms, k)      # spread over the layer sums
    scale, offset = lut.calibrate([randoms[i] for i in chosen], measured)
    held = np.setdiff1d(np.arange(len(archs)), chosen)
    t0 = time.perf_counter()
    reps = 5
    for _ in range(reps):
        pred = np.array([lut.latency(a).ms for a in archs])
    pred_s = (time.perf_counter() - t0) / (reps * len(archs))

    def scores(p, on=held):
        err = (p[on] - meas[on]) / meas[on]
        return {"mape": float(np.mean(np.abs(err))), "bias": float(np.mean(err)),
                "within5": float(np.mean(np.abs(err) <= 0.05)),
                "within10": float(np.mean(np.abs(err) <= 0.10)),
                "spearman": float(spearmanr(p[on], meas[on])[0])}
    cost = [totals(a) for a in archs]
    macs = np.array([c.macs for c in cost])
    params = np.array([c.params for c in cost])
    res = {
        "models": len(archs), "held_out": len(held), "calibrated_on": k,
        "backend": args.backend, "noisy": int(noisy),
        "raw_sum": scores(raw), "calibrated": scores(pred),
        "calibrated_on_first_k": scores(first_pred, np.arange(k, len(archs))),
        "correction": {"scale": scale, "offset": offset},
        "macs_spearman": float(spearmanr(macs, meas)[0]),
        "params_spearman": float(spearmanr(params, meas)[0]),
        "macs_spearman_held": float(spearmanr(macs[held], meas[held])[0]),
        "table_layers": n_layers, "table_build_s": build_s,
        "measure_s_per_model": float(np.mean(meas_s)), "predict_s_per_model": pred_s,
    }
    res["speedup"] = res["measure_s_per_model"] / pred_s
    report_predictor(res)

    # 4. cross-process spread, 5. backends
    cross_models = zoos[:1] if args.quick else [zoo.get("mnasnet_a1"), zoo.get("mobilenet_v2_x0.5")]
    res["cross_process"] = {}
    for a in cross_models:
        runs = in_processes(a, args.backend, db_path)
        res["cross_process"][a.to_string()[:40]] = {
            "protocol_ms": [r["ms"] for r in runs],
            "protocol_spread": spread([r["ms"] for r in runs]),
            "plain_ms": [r["plain_ms"] for r in runs],
            "plain_spread": spread([r["plain_ms"] for r in runs]),
            "naive_wall_spread": spread([r["naive_wall_median"] for r in runs])}
    res["backends"] = {}
    bmodels = ["mobilenet_v2_x0.5"] if args.quick else zoo.names()
    for zname in bmodels:
        res["backends"][zname] = {b: backend_row(zoo.get(zname), b)
                                  for b in ("eager", "torchscript", "executorch")}
        print(f"  backends {zname}: " + ", ".join(f"{b} {v['ms']:.2f} ms" for b, v in
                                                   res["backends"][zname].items()), flush=True)
    report_spread_and_backends(res)
    if args.out:
        Path(args.out).write_text(json.dumps(res, indent=2))
    return 0


def report_predictor(r: dict) -> None:
    c, w = r["calibrated"], r["raw_sum"]
    print(f"\n== latency evidence: {r['models']} models, backend {r['backend']}, 1 thread; "
          f"predictor scored on {r['held_out']} models not used for its fit "
          f"({r['calibrated_on']} used) ==")
    rows = [
        ("predictor (calibrated) MAPE", f"{100 * c['mape']:.1f}%", ""),
        ("  within +-5% / +-10%", f"{100 * c['within5']:.0f}% / {100 * c['within10']:.0f}%",
         "target >= 90% within 10%"),
        ("  Spearman with measurement", f"{c['spearman']:.3f}", "target >= 0.95"),
        ("  the same, fitted on the first k", f"{100 * r['calibrated_on_first_k']['mape']:.1f}%"
         f"; {100 * r['calibrated_on_first_k']['within10']:.0f}% within 10%", "MAPE; share"),
        ("raw layer sum MAPE / mean bias", f"{100 * w['mape']:.1f}% / {100 * w['bias']:+.1f}%",
         f"Spearman {w['spearman']:.3f}"),
        ("correction", f"{r['correction']['scale']:.3f} x sum + "
                       f"{r['correction']['offset']:.3f} ms", ""),
        ("MACs Spearman with measurement", f"{r['macs_spearman']:.3f}", ""),
        ("params Spearman with measurement", f"{r['params_spearman']:.3f}", ""),
        ("table build", f"{r['table_build_s']:.1f} s", f"{r['table_layers']} layer configs"),
        ("s per prediction / per measurement", f"{r['predict_s_per_model'] * 1e3:.3f} ms / "
                                               f"{r['measure_s_per_model']:.2f} s",
         f"ratio {r['speedup']:,.0f}x (target >= 1000x)"),
        ("noisy measurements (CV > threshold)", str(r["noisy"]), ""),
    ]
    for name, val, note in rows:
        print(f"{name:<38} {val:>24}  {note}", flush=True)


def report_spread_and_backends(r: dict) -> None:
    print("\ncross-process (3 separate processes sharing the database's anchor, max/min - 1):")
    for arch, x in r["cross_process"].items():
        print(f"  {arch}...: paired (default) {100 * x['protocol_spread']:.1f}% "
              f"{[round(v, 2) for v in x['protocol_ms']]}; plain {100 * x['plain_spread']:.1f}% "
              f"{[round(v, 2) for v in x['plain_ms']]}; naive wall median "
              f"{100 * x['naive_wall_spread']:.1f}%")
    print("\nbackends (ms by the plain protocol / wall median / CV / seconds incl. preparation):")
    bs = r["backends"]
    for m in [m for m in ("mnasnet_a1", "mobilenet_v2", "mnasnet_a1_x0.5") if m in bs] or bs:
        print(f"  {m:<18} " + "  ".join(
            f"{b} {v['ms']:.2f}/{v['wall_median']:.2f}/{100 * v['cv']:.0f}%/{v['seconds']:.1f}s"
            for b, v in bs[m].items()))
    if len(bs) >= 3:
        et = np.array([v["executorch"]["ms"] for v in bs.values()])
        print(f"  over {len(bs)} zoo models:")
        for b in ("eager", "torchscript", "executorch"):
            ms = np.array([v[b]["ms"] for v in bs.values()])
            print(f"    {b:<11} geo-mean x{np.exp(np.mean(np.log(ms / et))):.2f} of executorch, "
                  f"Spearman with executorch {spearmanr(ms, et)[0]:.3f}, mean CV "
                  f"{100 * np.mean([v[b]['cv'] for v in bs.values()]):.1f}%, mean seconds per "
                  f"model {np.mean([v[b]['seconds'] for v in bs.values()]):.1f}")

if __name__ == "__main__":
    if not malloc_tuned() and sys.platform == "linux":  # glibc reads tunables at start only
        os.execve(sys.executable, [sys.executable, __file__, *sys.argv[1:]], tuned_env())
    sys.exit(main())
