"""`mnas latency ARCH` (direct, with statistics), `mnas latency ARCH --predict` (lookup table),
`mnas latency build-table [ARCH ...] [--sample N] [--on phone]` (time unseen layer configs on
this CPU or on a connected phone, then fit the table's linear correction on a few whole-network
measurements)."""
from __future__ import annotations

import argparse
import time
from contextlib import ExitStack

import numpy as np

from ..latency import HostLatencyConfig, HostLatencySource, LatencyDB, LutConfig, LutPredictor
from ..latency.db import default_db_path
from ..latency.host import BACKENDS
from ..latency.lut import covering_archs
from .core import add_arch_options, arch_overrides, load_space, resolve_arch
from .phone import add_connect_options


def _host_config(args: argparse.Namespace) -> HostLatencyConfig:
    return HostLatencyConfig(threads=args.threads, backend=args.backend, warmup=args.warmup,
                             runs=args.runs, blocks=args.blocks, timer=args.timer,
                             reference=_reference(args), db_path=args.db)


def _reference(args: argparse.Namespace) -> str | None:
    return None if args.reference == "none" else args.reference


def _lut(args: argparse.Namespace, db: LatencyDB, stack: ExitStack) -> LutPredictor:
    cfg = LutConfig(threads=args.threads, backend=args.backend, timer=args.timer,
                    reference=_reference(args), db_path=args.db)
    if args.on == "host":
        return LutPredictor(cfg, db=db)
    from ..phone import AdbPhone, PhoneConfig, PhoneLatency, RunConfig
    from .phone import connect_config, tap_allow
    phone_cfg = PhoneConfig(connect=connect_config(args), db_path=args.db,
                            run=RunConfig(runner_local=args.runner, threads=args.threads))
    phone = PhoneLatency(phone_cfg, phone=AdbPhone(phone_cfg.connect, on_auth=tap_allow), db=db)
    stack.enter_context(phone)
    return LutPredictor(cfg, db=db, timer=phone)


def _print_result(r, extra: dict | None) -> None:
    print(f"latency: {r.ms:.3f} ms ({r.source}, {r.backend}"
          f"{', cached' if r.cached else ''}; fingerprint {r.fingerprint})")
    if r.runs:
        print(f"  p10 {r.p10:.3f}  p90 {r.p90:.3f}  CV {100 * r.cv:.1f}%  runs {r.runs}")
    if extra:
        print(f"  clock {extra.get('clock')}: block medians {extra.get('block_medians')}; "
              f"wall median {extra.get('wall_median', float('nan')):.3f} ms, thread CPU median "
              f"{extra.get('cpu_median', float('nan')):.3f} ms, preempted runs "
              f"{100 * extra.get('preempted_share', 0):.0f}%")
        if extra.get("anchor_ms"):
            print(f"  paired with the reference: it ran at {extra['reference_median']:.3f} ms "
                  f"beside this model; the figure is the median model/reference ratio x its "
                  f"stored {extra['anchor_ms']:.3f} ms")
    if r.noisy:
        print("  warning: the machine was too noisy to trust this figure (CV above the "
              "threshold after re-measuring); measure again when it is quieter (--fresh)")


def cmd_latency(args: argparse.Namespace) -> int:
    command = cmd_build_table if args.arch == "build-table" else cmd_measure
    if args.on == "host":
        return command(args)
    from ..phone import PhoneError
    from .phone import fail
    try:
        return command(args)
    except PhoneError as err:
        return fail(err)


def cmd_measure(args: argparse.Namespace) -> int:
    if args.on != "host" and not args.predict:
        raise ValueError("`mnas latency ARCH --on phone` predicts from the phone's table "
                         "(add --predict); time a whole model with `mnas phone time ARCH`")
    if args.extra:
        raise ValueError(f"unexpected argument(s) {args.extra}: give one architecture")
    arch = resolve_arch(args.arch, **arch_overrides(args))
    with LatencyDB(args.db) as db, ExitStack() as stack:
        if args.predict:
            lut = _lut(args, db, stack)
            t0 = time.perf_counter()
            r = lut.latency(arch)
            cal = lut.calibration() if lut.config.calibrated else None
            print(f"predicted in {1e3 * (time.perf_counter() - t0):.2f} ms"
                  + (f" (correction: {cal[0]:.3f} x sum + {cal[1]:.3f} ms, fitted on {cal[2]} "
                     "models)" if cal else " (raw layer sum: no calibration stored yet; run "
                                            "`mnas latency build-table`)"))
            _print_result(r, None)
            return 0
        src = HostLatencySource(_host_config(args), db=db)
        key = arch.to_string()
        if args.fresh:
            r, timing = src.measure(arch)
            db.put_fingerprint(src.fingerprint(), src.fingerprint_info())
            db.put(key, r, extra=timing.summary())
        else:
            r = src.latency(arch)
        _print_result(r, db.get_extra(key, src.fingerprint(), src.name))
    return 0


def cmd_build_table(args: argparse.Namespace) -> int:
    archs = [resolve_arch(a, **arch_overrides(args)) for a in args.extra]
    if args.sample or args.cover:
        space = load_space(args.space)
        rng = np.random.default_rng(args.seed)
        archs += [space.sample(rng) for _ in range(args.sample)]
        if args.cover:  # every layer configuration random samples meet: an instant search
            archs += covering_archs(space, seed=args.seed)  # then times nothing
    if not archs:
        raise ValueError("build-table needs architectures: give ARCH names/strings, "
                         "--sample N (random architectures of the search space) or --cover")
    with LatencyDB(args.db) as db, ExitStack() as stack:
        lut = _lut(args, db, stack)
        t0 = time.perf_counter()
        n = lut.build(archs, progress=True)
        print(f"timed {n} new layer configurations in {time.perf_counter() - t0:.1f} s; the "
              f"table now holds {len(lut.table())} for fingerprint {lut.table_fingerprint()} "
              f"({db.path})")
        k = min(args.calibrate, len(archs))
        if k >= 2:
            measured = HostLatencySource(_host_config(args), db=db) if args.on == "host" \
                else None  # None: the phone itself measures the whole networks
            chosen = [archs[i] for i in lut.pick_calibration(archs, k)]
            scale, offset = lut.calibrate(chosen, measured)
            print(f"correction fitted on {k} whole-network measurements (spread over the "
                  f"table's range): "
                  f"ms = {scale:.3f} x layer sum + {offset:.3f}")
    return 0


def register(sub) -> None:
    p = sub.add_parser(
        "latency", help="measure or predict latency on this CPU; build the lookup table",
        description="mnas latency ARCH [--predict] | mnas latency build-table [ARCH ...] "
                    "[--sample N]")
    p.add_argument("arch", metavar="ARCH", help="zoo name, block string or JSON file; or "
                                                "'build-table'")
    p.add_argument("extra", nargs="*", metavar="ARCH",
                   help="build-table: architectures whose layers to time")
    add_arch_options(p)
    p.add_argument("--predict", action="store_true", help="use the lookup-table predictor")
    p.add_argument("--db", default=str(default_db_path()),
                   help="latency database (default: $MNAS_HOME/latency.db or "
                        "~/.cache/mnas/latency.db)")
    p.add_argument("--backend", default=HostLatencyConfig.backend, choices=BACKENDS,
                   help="README 'Latency backends vs the Pixel 1' compares them")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--warmup", type=int, default=HostLatencyConfig.warmup)
    p.add_argument("--runs", type=int, default=HostLatencyConfig.runs, help="runs per block")
    p.add_argument("--blocks", type=int, default=HostLatencyConfig.blocks,
                   help="repeated blocks (plain protocol: the figure is the minimum block "
                        "median)")
    p.add_argument("--timer", default="auto", choices=("auto", "cpu", "wall"))
    p.add_argument("--reference", default=HostLatencyConfig.reference,
                   help="zoo model timed beside every run, so the machine's drift cancels "
                        "(figure = median model/reference ratio x the reference's stored "
                        "latency); 'none' for the plain protocol")
    p.add_argument("--fresh", action="store_true",
                   help="measure again even if the database has a figure (and replace it)")
    p.add_argument("--sample", type=int, default=0,
                   help="build-table: also time N random architectures of the space")
    p.add_argument("--cover", action="store_true",
                   help="build-table: time every layer configuration of the space that random "
                        "samples meet (~3,300 for the paper's space; once per machine), so an "
                        "instant search (--accuracy predicted) times nothing")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--space", help="build-table: search space JSON (default: the paper's)")
    p.add_argument("--calibrate", type=int, default=8,
                   help="build-table: fit the correction on N of the architectures, spread "
                        "over their layer sums (measured directly; 0 to skip)")
    p.add_argument("--on", default="host", choices=("host", "phone"),
                   help="where the table's layers are timed (build-table, --predict); phone: "
                        "each layer exported to .pte and timed on a connected phone")
    g = p.add_argument_group("phone (with --on phone)")
    add_connect_options(g)
    g.add_argument("--runner", help="runner binary on this computer to push (see docs/phone.md)")
    p.set_defaults(func=cmd_latency)
