"""`mnas phone info` and `mnas phone time ARCH`: a USB- or TCP-connected Android phone."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .core import add_arch_options, arch_overrides, resolve_arch


def connect_config(args):
    from ..phone import ConnectConfig
    kw = {"host": args.host, "port": args.port, "serial": args.serial,
          "auth_timeout_s": args.auth_timeout}
    if args.key:
        kw["key_path"] = args.key
    return ConnectConfig(**kw)


def _run_config(args):
    from ..phone import RUNNERS, RunConfig
    return RunConfig(runner=RUNNERS[args.runner_kind], runner_local=args.runner, runs=args.runs,
                     warmup=args.warmup, threads=args.threads, pin_big_cores=not args.no_pin,
                     timeout_s=args.timeout, cooldown_s=args.cooldown)


def tap_allow() -> None:
    print("The phone asks whether to trust this computer: unlock it and tap 'Allow' on "
          "'Allow USB debugging?'", file=sys.stderr, flush=True)


def fail(err: Exception) -> int:
    print(f"mnas phone: error: {err}", file=sys.stderr)
    return 1


def cmd_info(args: argparse.Namespace) -> int:
    from ..phone import AdbPhone, PhoneError, read_device_info, read_thermal
    try:
        with AdbPhone(connect_config(args), on_auth=tap_allow) as phone:
            info = read_device_info(phone)
            thermal = read_thermal(phone, info)
    except PhoneError as err:
        return fail(err)
    if args.json:
        print(json.dumps({"device": info.to_dict(), "thermal": thermal.to_dict(),
                          "big_mask": info.big_mask(1)}, indent=2))
        return 0
    print(info.describe())
    print(f"serial {info.serial}, hardware {info.hardware}; big-core taskset mask "
          f"{info.big_mask(1)} (1 thread)")
    temp = f"{thermal.max_temp_c:.1f} C" if thermal.max_temp_c is not None else "unknown"
    capped = thermal.capped_cpus(info)
    print(f"thermal status {thermal.status if thermal.status is not None else 'unknown'}, "
          f"hottest zone {temp}" + (f", frequency-capped cpus {capped}" if capped else ""))
    return 0


def _print_timing(what: str, t, res=None) -> None:
    spread = f" (p10 {t.p10:.2f}, p90 {t.p90:.2f})" if t.p10 is not None else ""
    print(f"{what}: {t.ms:.2f} ms median{spread} over {t.runs} runs, {t.threads} thread(s), "
          f"cpu mask {t.cpu_mask or 'none'}" + (f", fingerprint {res.fingerprint}" if res else ""))
    for w in t.warnings:
        print(f"warning: {w}", file=sys.stderr)


def cmd_time(args: argparse.Namespace) -> int:
    from ..phone import (AdbPhone, PhoneConfig, PhoneError, PhoneLatency, read_device_info,
                         time_model)
    run = _run_config(args)
    try:
        if args.arch.endswith((".pte", ".tflite")) and Path(args.arch).is_file():
            # A ready model file: timed as is, not stored (no architecture to key it by).
            with AdbPhone(connect_config(args), on_auth=tap_allow) as phone:
                timing = time_model(phone, args.arch, read_device_info(phone), run)
            _print_timing(Path(args.arch).name, timing)
            return 0
        arch = resolve_arch(args.arch, **arch_overrides(args))
        cfg = PhoneConfig(connect=connect_config(args), run=run, db_path=args.db)
        with PhoneLatency(cfg, phone=AdbPhone(cfg.connect, on_auth=tap_allow)) as source:
            if args.force:
                result, timing = source.record(arch)
            else:
                result = source.latency(arch)
                timing = None
            print(source.info.describe())
            if timing is not None:
                _print_timing(args.arch, timing, result)
            else:
                note = " (cached)" if result.cached else ""
                spread = f" (p10 {result.p10:.2f}, p90 {result.p90:.2f})" \
                    if result.p10 is not None else ""
                print(f"{args.arch}: {result.ms:.2f} ms median{spread} over {result.runs} runs"
                      f"{note}, fingerprint {result.fingerprint}")
                if result.noisy:
                    print("warning: the phone throttled during this measurement (stored as "
                          "noisy); re-measure with --force --cooldown 60", file=sys.stderr)
    except PhoneError as err:
        return fail(err)
    return 0


def add_connect_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", help="phone IP for ADB over TCP (after `adb tcpip 5555`); "
                                  "default: USB")
    p.add_argument("--port", type=int, default=5555)
    p.add_argument("--serial", help="USB serial, when several phones are plugged in (not "
                                    "with --host)")
    p.add_argument("--key", help="ADB private key (default ~/.android/adbkey, created if absent)")
    p.add_argument("--auth-timeout", dest="auth_timeout", type=float, default=30.0,
                   help="seconds to wait for 'Allow USB debugging?' to be tapped")


def register(sub) -> None:
    p = sub.add_parser("phone", help="device info and timing on an Android phone (adb)")
    psub = p.add_subparsers(dest="phone_command", required=True, metavar="ACTION")

    q = psub.add_parser("info", help="model, Android version, ABI, CPU clusters, thermal state")
    add_connect_options(q)
    q.add_argument("--json", action="store_true", help="machine-readable output")
    q.set_defaults(func=cmd_info)

    q = psub.add_parser("time", help="export ARCH to .pte, push it and time it on the phone")
    q.add_argument("arch", help="zoo name, block string, architecture JSON, or a ready "
                                ".pte/.tflite file")
    add_arch_options(q)
    add_connect_options(q)
    q.add_argument("--runner", help="runner binary on this computer to push (built for the "
                                    "phone, see docs/phone.md); default: the one already there")
    q.add_argument("--runner-kind", dest="runner_kind", default="executorch",
                   choices=("executorch", "tflite"))
    q.add_argument("--runs", type=int, default=30, help="timed runs kept")
    q.add_argument("--warmup", type=int, default=5, help="first runs dropped")
    q.add_argument("--threads", type=int, default=1)
    q.add_argument("--no-pin", dest="no_pin", action="store_true",
                   help="do not pin to the big cores with taskset")
    q.add_argument("--cooldown", type=float, default=0.0,
                   help="wait up to this many seconds for a hot phone to unthrottle first")
    q.add_argument("--timeout", type=float, default=None,
                   help="limit for the runner, seconds (default: 60 + 5 per run, warm-up "
                        "included: 235 s for 30 + 5)")
    q.add_argument("--db", help="latency database (default: $MNAS_HOME/latency.db)")
    q.add_argument("--force", action="store_true", help="re-measure even if stored")
    q.set_defaults(func=cmd_time)
