"""Proxy fidelity on real CIFAR-10: which cheap training budget ranks models like a long one?

  python benchmarks/fidelity.py --data DIR [--results FILE] [--models 24] [--only BUDGET,...]
  python benchmarks/fidelity.py --results FILE --report      # the table from what is recorded

DIR is a CIFAR-10 class-folder tree with DIR/train (e.g. `tar -xzf
../shared/data/cifar10-jpeg.tar.gz -C DIR`); validation images are held out of DIR/train (5,000,
the same images for every budget), so the test split stays unused. Models: `--models` random
architectures of the default space (seeded) plus MobileNetV2 x0.35/x0.5/x1.0 and MnasNet-A1
x0.5/x1.0. Each model trains under every candidate budget with two seeds and once under the
reference budget (>= 8x the candidates' images x epochs, full width, 32x32).

Every training is one line of FILE (JSON lines), written as it finishes: a killed study resumes
where it stopped (`--results` again), and the app and notebooks read the same file. Models run
in order with all their budgets, so a partial study is a complete study of fewer models.
Budgets vary what EcoNAS (Zhou et al., CVPR 2020) found matters: training images vs epochs at
equal steps, resolution (16 or 32; at 16 the last blocks see 2x2 maps) and a narrower copy of
each candidate (width x0.5).

The report prints, per budget: seed-to-seed Spearman, Spearman and Kendall vs the reference,
Spearman of accuracy vs MACs and vs latency (when a latency column is present), and seconds per
model. Accuracies are deterministic per seed whatever the machine's load; seconds are not, so
each row records the load average it ran under.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ZOO = ("mobilenet_v2_x0.35", "mobilenet_v2_x0.5", "mobilenet_v2", "mnasnet_a1_x0.5",
       "mnasnet_a1")
SEEDS = (0, 1)


@dataclass(frozen=True)
class Budget:
    """One proxy training: `images` training images for `epochs` at `resolution`, each
    candidate trained at `width` x its own width multiplier."""

    name: str
    images: int
    epochs: float
    resolution: int = 32
    width: float = 1.0

    @property
    def passes(self) -> float:
        return self.images * self.epochs


# Candidates spend 10k image passes each, so they compare at equal steps; the reference 80k.
CANDIDATES = (
    Budget("2.5k x4 r16", 2_500, 4, 16),
    Budget("10k x1 r16", 10_000, 1, 16),
    Budget("10k x1 r32", 10_000, 1, 32),
    Budget("10k x1 r32 w0.5", 10_000, 1, 32, 0.5),
)
REFERENCE = Budget("ref 20k x4 r32", 20_000, 4, 32)


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


def read_results(path: Path) -> list[dict]:
    """The recorded rows; a torn last line (a kill mid-write) is ignored, not fatal."""
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return rows


def run_one(arch, budget: Budget, seed: int, data_root: str, threads: int) -> dict:
    from mnas_core.data import DataConfig, load_dataset
    from mnas_core.profile import totals
    from mnas_core.train import TrainConfig, TrainingDiverged, evaluate_candidate

    data = load_dataset(_data_config(DataConfig, data_root, budget))
    net = arch.replace(width=arch.width * budget.width, **data.arch_overrides())
    cfg = TrainConfig(epochs=budget.epochs, seed=seed, threads=threads)
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
            "load1": os.getloadavg()[0], "budget_spec": dataclasses.asdict(budget)}


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
    done = {(r["model"], r["budget"], r["seed"]) for r in read_results(args.results)}
    todo = [(name, arch, b, s) for name, arch in models(args.models, args.space_seed)
            for b in budgets for s in (SEEDS if b is not REFERENCE else SEEDS[:1])
            if (name, b.name, s) not in done]
    print(f"{len(done)} trainings recorded in {args.results}, {len(todo)} to go", flush=True)
    from tqdm import tqdm
    with open(args.results, "a") as out, tqdm(todo, unit="training") as bar:
        for name, arch, b, s in bar:
            bar.set_description(f"{name} {b.name} seed {s}")
            row = {"model": name, **run_one(arch, b, s, args.data, args.threads)}
            out.write(json.dumps(row) + "\n")
            out.flush()
            os.fsync(out.fileno())
            bar.set_postfix_str(f"top1 {row['top1']:.3f} {row['seconds']:.0f}s")


def table(rows: list[dict]) -> list[dict]:
    """Per candidate budget, over the models that have it (both seeds) and the reference."""
    from scipy.stats import kendalltau, spearmanr

    acc: dict[tuple[str, str, int], float] = {(r["model"], r["budget"], r["seed"]): r["top1"]
                                              for r in rows}
    macs = {r["model"]: r["macs"] for r in rows}
    lat = {r["model"]: r["latency_ms"] for r in rows if r.get("latency_ms")}
    secs: dict[str, list[float]] = {}
    for r in rows:
        secs.setdefault(r["budget"], []).append(r["seconds"])
    ref = {m: a for (m, b, _), a in acc.items() if b == REFERENCE.name}
    out = []
    names = [b.name for b in CANDIDATES] + [REFERENCE.name]
    for name in names:
        ms = sorted(m for m in ref if all((m, name, s) in acc for s in
                                          (SEEDS if name != REFERENCE.name else SEEDS[:1])))
        if len(ms) < 4:
            continue
        a0 = np.array([acc[(m, name, 0)] for m in ms])
        row = {"budget": name, "models": len(ms), "mean_top1": float(a0.mean()),
               "seconds": float(np.median(secs[name]))}
        if name != REFERENCE.name:
            a1 = np.array([acc[(m, name, 1)] for m in ms])
            mean = (a0 + a1) / 2
            r_ref = np.array([ref[m] for m in ms])
            row.update(seed_spearman=spearmanr(a0, a1).statistic,
                       ref_spearman=spearmanr(mean, r_ref).statistic,
                       ref_kendall=kendalltau(mean, r_ref).statistic)
        else:
            mean = a0
        row["macs_spearman"] = spearmanr(mean, [macs[m] for m in ms]).statistic
        if all(m in lat for m in ms):
            row["latency_spearman"] = spearmanr(mean, [lat[m] for m in ms]).statistic
        out.append(row)
    return out


def report(rows: list[dict]) -> None:
    cols = [("budget", "{}", 16), ("models", "{}", 6), ("mean_top1", "{:.3f}", 9),
            ("seed_spearman", "{:.3f}", 13), ("ref_spearman", "{:.3f}", 12),
            ("ref_kendall", "{:.3f}", 11), ("macs_spearman", "{:.3f}", 13),
            ("latency_spearman", "{:.3f}", 16), ("seconds", "{:.1f}", 7)]
    print("  ".join(f"{c:>{w}}" for c, _, w in cols))
    for r in table(rows):
        print("  ".join(f"{(f.format(r[c]) if c in r else '-'):>{w}}" for c, f, w in cols))
    loads = [r["load1"] for r in rows]
    if loads:
        print(f"(seconds per model on {os.cpu_count()} cores, median; load average while "
              f"training: median {np.median(loads):.1f}, max {max(loads):.1f})")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", help="CIFAR-10 class-folder root holding train/")
    p.add_argument("--results", type=Path, default=Path("sample_runs/fidelity_cifar10.jsonl"))
    p.add_argument("--models", type=int, default=24, help="random models besides the zoo")
    p.add_argument("--space-seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--only", help="comma-separated budget names to run")
    p.add_argument("--report", action="store_true", help="print the table and exit")
    args = p.parse_args(argv)
    if not args.report:
        if not args.data or not (Path(args.data) / "train").is_dir():
            print("fidelity: --data must be a folder holding train/<class>/*.jpg",
                  file=sys.stderr)
            return 2
        args.results.parent.mkdir(parents=True, exist_ok=True)
        study(args)
    report(read_results(args.results))
    return 0


if __name__ == "__main__":
    from mnas_core.runtime import reexec_with_malloc_tunables

    reexec_with_malloc_tunables("benchmarks.fidelity", sys.argv[1:])
    sys.exit(main())
