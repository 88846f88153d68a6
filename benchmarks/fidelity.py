"""Proxy fidelity on real CIFAR-10: which cheap training budget ranks models like a long one?

  python benchmarks/fidelity.py --data DIR [--results FILE] [--models 24] [--only BUDGET,...]
                                [--device cpu|cuda]
  python benchmarks/fidelity.py --results FILE --report [--latency]   # the table so far

DIR is a CIFAR-10 class-folder tree with DIR/train (e.g. `tar -xzf
../shared/data/cifar10-jpeg.tar.gz -C DIR`); validation images are held out of DIR/train (5,000,
the same images for every budget), so the test split stays unused. Models: `--models` random
architectures of the default space (seeded) plus MobileNetV2 x0.35/x0.5/x1.0 and MnasNet-A1
x0.5/x1.0. Each model trains under every candidate budget with two seeds and once under the
reference budget (>= 8x the candidates' images x epochs, full width, 32x32).

Every training is one line of FILE (JSON lines), written as it finishes: a killed study resumes
where it stopped (`--results` again), and the app and notebooks read the same file. Models run
in order with all their budgets, so a partial study is a complete study of fewer models.
The budgets and the analysis live in mnas_core.fidelity (the app and notebook 04 use them).

The report prints, per budget: seed-to-seed Spearman, Spearman and Kendall vs the reference,
Spearman of accuracy vs MACs and (with `--latency`, which times each model as a search does)
vs latency, and seconds per model. Accuracies are deterministic per seed whatever the
machine's load; seconds are not, so each row records the load average it ran under, and the
device: a GPU's trainings (`--device cuda`, where one is lent) count in the rankings, not in
the 2-core seconds.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

from mnas_core.fidelity import (CANDIDATES, REFERENCE, SEEDS, Budget, by_host, read_results,
                                table, this_host, timing_rows, verdict)

ZOO = ("mobilenet_v2_x0.35", "mobilenet_v2_x0.5", "mobilenet_v2", "mnasnet_a1_x0.5",
       "mnasnet_a1")


def models(n_random: int, seed: int = 0) -> list[tuple[str, "object"]]:
    """(name, Architecture at 224) for the study: n random ones of the default space + zoo."""
    from mnas_core import zoo
    from mnas_core.space import SearchSpace

    space = SearchSpace()
    rng = np.random.default_rng(seed)
    out = [(f"random{i:02d}", space.sample(rng)) for i in range(n_random)]
    # One zoo model after every 5 random ones: a partial study still spans the sizes.
    for k, name in enumerate(ZOO):
        out.insert(min(len(out), 6 * k), (name, zoo.get(name)))
    return out


def run_one(arch, budget: Budget, seed: int, data_root: str, threads: int,
            device: str = "cpu") -> dict:
    from mnas_core.data import DataConfig, load_dataset
    from mnas_core.profile import totals
    from mnas_core.train import TrainConfig, TrainingDiverged, evaluate_candidate

    data = load_dataset(_data_config(DataConfig, data_root, budget))
    net = arch.replace(width=arch.width * budget.width, **data.arch_overrides())
    cfg = TrainConfig(epochs=budget.epochs, seed=seed, threads=threads, device=device)
    start = time.perf_counter()
    try:
        r = evaluate_candidate(net, data, cfg)
        top1, top5, steps = r.top1, r.top5, r.steps
    except TrainingDiverged as err:
        top1, top5, steps = 0.0, None, err.step
    cost = totals(arch)  # the searched network at 224x224, as its latency is measured
    return {"arch": arch.to_string(), "width": arch.width, "budget": budget.name,
            "seed": seed, "top1": top1, "top5": top5, "steps": steps,
            "seconds": time.perf_counter() - start, "macs": cost.macs, "params": cost.params,
            "load1": os.getloadavg()[0], "budget_spec": dataclasses.asdict(budget),
            "device": device, "host": this_host()}


def _data_config(DataConfig, root: str, budget: Budget):
    return DataConfig(name=f"folder:{Path(root) / 'train'}", resolution=budget.resolution,
                      train_images=budget.images, val_fraction=0.1, val_images=5_000)


def study(args) -> None:
    import torch

    from mnas_core.data import DataConfig, load_dataset

    torch.set_num_threads(args.threads)
    budgets = [b for b in (*CANDIDATES, REFERENCE)
               if not args.only or b.name in args.only.split(",")]
    for res in sorted({b.resolution for b in budgets}):  # decode each resolution once, up front
        d = load_dataset(_data_config(DataConfig, args.data, Budget("x", 1, 1, res)))
        print(d.summary(), flush=True)
    recorded = read_results(args.results) if args.results.is_file() else []
    done = {(r["model"], r["budget"], r["seed"]) for r in recorded}
    todo = [(name, arch, b, s) for name, arch in models(args.models, args.space_seed)
            for b in budgets for s in (SEEDS if b is not REFERENCE else SEEDS[:1])
            if (name, b.name, s) not in done]
    print(f"{len(done)} trainings recorded in {args.results}, {len(todo)} to go", flush=True)
    from tqdm import tqdm
    with open(args.results, "a") as out, tqdm(todo, unit="training") as bar:
        for name, arch, b, s in bar:
            bar.set_description(f"{name} {b.name} seed {s}")
            row = {"model": name, **run_one(arch, b, s, args.data, args.threads, args.device)}
            out.write(json.dumps(row) + "\n")
            out.flush()
            os.fsync(out.fileno())
            bar.set_postfix_str(f"top1 {row['top1']:.3f} {row['seconds']:.0f}s")


def measured_latency(rows: list[dict]) -> dict[str, float]:
    """Each model's latency as a search measures it (the default host source, at 224x224;
    cached in the latency database, so a second report times nothing)."""
    from mnas_core.arch import parse_arch
    from mnas_core.search import LatencySetup

    setup = LatencySetup()
    archs = {r["model"]: (r["arch"], r["width"]) for r in rows}
    source = setup.make_source().open()
    try:
        return {m: source.latency(setup.deployed(parse_arch(a).replace(width=w))).ms
                for m, (a, w) in archs.items()}
    finally:
        source.close()


def report(rows: list[dict], latency: dict[str, float] | None = None) -> None:
    cols = [("budget", "{}", 16), ("models", "{}", 6), ("mean_top1", "{:.3f}", 9),
            ("seed_spearman", "{:.3f}", 13), ("ref_spearman", "{:.3f}", 12),
            ("ref_kendall", "{:.3f}", 11), ("macs_spearman", "{:.3f}", 13),
            ("latency_spearman", "{:.3f}", 16), ("plain_spearman", "{:.3f}", 14),
            ("seconds", "{:.1f}", 7)]
    print("  ".join(f"{c:>{w}}" for c, _, w in cols))
    shown = table(rows, latency)
    for r in shown.to_dict("records"):
        print("  ".join(f"{_cell(r.get(c), f):>{w}}" for c, f, w in cols))
    print(verdict(shown))
    host, timed = timing_rows(rows)
    loads = [r["load1"] for r in timed]
    if loads:
        print(f"(seconds: median per training on {host}, the host of {len(timed)} of the "
              f"{len(rows)} trainings; load average while training: median "
              f"{np.median(loads):.1f}, max {max(loads):.1f})")
    for other, its in by_host(rows).items():
        if other != host:  # the same budgets' seconds there, which the table cannot mix in
            secs = {b.name: [r["seconds"] for r in its if r["budget"] == b.name]
                    for b in (*CANDIDATES, REFERENCE)}
            print(f"(on {other}: " + ", ".join(f"{b} {np.median(v):.0f} s ({len(v)})"
                                               for b, v in secs.items() if v) + ")")
    gpu = sum(r.get("device", "cpu") != "cpu" for r in rows)
    if gpu:
        print(f"({gpu} trainings ran on a GPU: in the accuracies, not in the seconds)")


def _cell(value, fmt: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return fmt.format(value)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", help="CIFAR-10 class-folder root holding train/")
    p.add_argument("--results", type=Path, default=Path("sample_runs/fidelity_cifar10.jsonl"))
    p.add_argument("--models", type=int, default=24, help="random models besides the zoo")
    p.add_argument("--space-seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--only", help="comma-separated budget names to run")
    p.add_argument("--device", default="cpu",
                   help="cpu (the study's 2-core costs) or cuda[:N] (a lent GPU; its rows say "
                        "so and stay out of the seconds column)")
    p.add_argument("--report", action="store_true", help="print the table and exit")
    p.add_argument("--latency", action="store_true",
                   help="also time every model (host latency, as a search does) for the "
                        "accuracy-vs-latency column")
    args = p.parse_args(argv)
    if not args.report:
        if not args.data or not (Path(args.data) / "train").is_dir():
            print("fidelity: --data must be a folder holding train/<class>/*.jpg",
                  file=sys.stderr)
            return 2
        from mnas_core.train import resolve_device
        try:
            resolve_device(args.device)  # before an hour of work, not in its first training
        except (ValueError, RuntimeError) as err:
            print(f"fidelity: {err}", file=sys.stderr)
            return 2
        args.results.parent.mkdir(parents=True, exist_ok=True)
        study(args)
    try:
        rows = read_results(args.results)
    except (OSError, ValueError) as err:
        print(f"fidelity: {err}", file=sys.stderr)
        return 2
    report(rows, measured_latency(rows) if args.latency else None)
    return 0


if __name__ == "__main__":
    from mnas_core.runtime import reexec_with_malloc_tunables

    reexec_with_malloc_tunables("benchmarks.fidelity", sys.argv[1:])
    sys.exit(main())
