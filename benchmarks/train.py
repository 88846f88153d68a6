"""Proxy-trainer benchmarks, every figure measured in this run (README "Proxy task").

  python benchmarks/train.py [--quick] [--only throughput,candidate,sanity,fidelity,batch,compile]

1. throughput: mnas_core.train.train vs a minimal hand-written PyTorch loop on the same model
   and the same data, interleaved A/B/A/B so machine noise hits both alike (ratio >= 0.95).
2. candidate: seconds for evaluate_candidate (build + train + validate) of MnasNet-A1 x0.5 and
   x1.0 on the built-in dataset (default budget) and on 10,000 random 32x32 images (1 epoch).
3. sanity: A1 on the built-in data at the default budget and at 4x: above chance, not worse.
4. fidelity: 20 random architectures of the default space (seeded), Spearman rank correlation
   of proxy accuracies between two training seeds and between the default and a 4x budget.
5. batch: training images/s at 32x32 against the batch size, for MnasNet-A1 x0.5 and a random
   model of the space, interleaved, as a ratio to batch 64 (the default) measured alike:
   what a larger batch would buy a CIFAR-10 budget (the fidelity study's cost).
6. compile: the minimal loop at 32x32 on the same random model, eager vs torch.compile: the
   compiled model's first steps (its compile time) and its steady img/s as a ratio to eager.

Runs under the glibc malloc tunables (re-executes itself with them, see mnas_core.runtime).
Log lines carry CPU time / wall time: well below the thread count means the run was preempted.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

from mnas_core import zoo
from mnas_core.builder import build_model
from mnas_core.data import DataConfig, Dataset, load_dataset
from mnas_core.runtime import reexec_with_malloc_tunables
from mnas_core.space import SearchSpace
from mnas_core.train import TrainConfig, TrainingDiverged, evaluate_candidate, train


def random_dataset(n: int = 10_000, res: int = 32, classes: int = 10, seed: int = 0) -> Dataset:
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (n + 1000, 3, res, res), generator=g, dtype=torch.uint8)
    y = torch.randint(0, classes, (n + 1000,), generator=g)
    return Dataset("random32", x[:n], y[:n], x[n:], y[n:], classes,
                   [str(i) for i in range(classes)], augment="crop_flip")


def minimal_loop(model, x, y, steps, bs, cfg: TrainConfig, channels_last: bool) -> float:
    """The baseline: pre-normalized float batches, SGD+momentum, cross-entropy. img/s."""
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum)
    model.train()
    n = len(y) // bs
    start = time.perf_counter()
    for step in range(steps):
        i = step % n
        loss = F.cross_entropy(model(x[i * bs:(i + 1) * bs]), y[i * bs:(i + 1) * bs])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        loss.item()
    return steps * bs / (time.perf_counter() - start)


def timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    wall = time.perf_counter() - wall
    return out, wall, (time.process_time() - cpu) / max(wall, 1e-9)


def bench_throughput(args, data: Dataset, name: str, steps: int, reps: int):
    arch = zoo.get(name, **data.arch_overrides())
    cfg = TrainConfig(steps=steps, threads=args.threads)
    mean, std = data.mean_std()
    x = ((data.train_x.float() - mean[None, :, None, None]) / std[None, :, None, None])
    y = data.train_y
    rates = {"trainer": [], "trainer (no channels_last)": [], "minimal": [],
             "minimal + channels_last": []}
    torch.set_num_threads(args.threads)
    for rep in range(reps):  # interleaved: slow phases of a shared machine hit every variant
        rates["trainer"].append(train(build_model(arch, 0), data, cfg).images_per_second)
        rates["trainer (no channels_last)"].append(train(
            build_model(arch, 0), data, dataclasses.replace(cfg, channels_last=False)
        ).images_per_second)
        rates["minimal"].append(minimal_loop(build_model(arch, 0), x, y, steps,
                                             cfg.batch_size, cfg, False))
        rates["minimal + channels_last"].append(minimal_loop(build_model(arch, 0), x, y, steps,
                                                             cfg.batch_size, cfg, True))
    med = {k: float(np.median(v)) for k, v in rates.items()}
    print(f"\n[throughput] {name} on {data.name} {data.in_chans}x{data.resolution}^2, batch "
          f"{cfg.batch_size}, {steps} steps x {reps} interleaved reps, {args.threads} threads")
    for k, v in rates.items():
        print(f"  {k:28s} median {med[k]:7.0f} img/s   runs {[round(r) for r in v]}")
    print(f"  ratio trainer / minimal loop:                 {med['trainer'] / med['minimal']:.3f}")
    print(f"  ratio trainer / minimal loop + channels_last: "
          f"{med['trainer'] / med['minimal + channels_last']:.3f}")
    print(f"  channels_last speed-up in the trainer:        "
          f"{med['trainer'] / med['trainer (no channels_last)']:.3f}")


def bench_candidate(args, digits: Dataset, cfg: TrainConfig):
    rand = random_dataset(2_000 if args.quick else 10_000)
    cases = [(digits, cfg, "default budget"),
             (rand, dataclasses.replace(cfg, epochs=1.0), "1 epoch")]
    print(f"\n[candidate] evaluate_candidate = build + train + validate, {args.threads} threads")
    for data, c, budget in cases:
        for name in ("mnasnet_a1_x0.5", "mnasnet_a1"):
            arch = zoo.get(name, **data.arch_overrides())
            r, wall, util = timed(lambda: evaluate_candidate(arch, data, c))
            print(f"  {name:16s} {data.name:8s} {len(data.train_y):6d} img x{data.resolution} "
                  f"{budget:14s} {wall:6.1f} s  ({r.steps} steps, {r.images_per_second:.0f} "
                  f"img/s, val top-1 {r.top1:.3f}, cpu/wall {util:.2f})")


def bench_sanity(args, digits: Dataset, cfg: TrainConfig):
    arch = zoo.get("mnasnet_a1", **digits.arch_overrides())
    print(f"\n[sanity] MnasNet-A1 on {digits.summary()}; chance = {1 / digits.num_classes:.2f}")
    for factor in (1, 4):
        accs = []
        for seed in (0, 1):
            r = evaluate_candidate(arch, digits, dataclasses.replace(cfg.scaled(factor),
                                                                     seed=seed))
            accs.append(r.top1)
        print(f"  {factor}x budget ({r.steps} steps, {r.epochs:.1f} epochs): val top-1 "
              f"{np.mean(accs):.3f} (seeds 0/1: {accs[0]:.3f} / {accs[1]:.3f}), "
              f"{r.total_seconds:.1f} s per run")


def bench_fidelity(args, digits: Dataset, cfg: TrainConfig):
    from scipy.stats import spearmanr

    n = 6 if args.quick else args.models
    space = SearchSpace().replace(**digits.arch_overrides())
    rng = np.random.default_rng(args.space_seed)
    archs = [space.sample(rng) for _ in range(n)]
    runs = {"seed0": dataclasses.replace(cfg, seed=0), "seed1": dataclasses.replace(cfg, seed=1),
            "4x": dataclasses.replace(cfg.scaled(4), seed=0)}
    acc = {k: [] for k in runs}
    secs = []
    print(f"\n[fidelity] {n} random architectures of the default space on {digits.summary()}")
    print(f"  budget: {cfg.total_steps(len(digits.train_y))} steps of {cfg.batch_size} "
          f"(epochs={cfg.epochs}), lr {cfg.lr}, {cfg.optimizer}")
    for i, arch in enumerate(archs):
        row = []
        for k, c in runs.items():
            try:
                r = evaluate_candidate(arch, digits, c)
                acc[k].append(r.top1)
                if k != "4x":
                    secs.append(r.total_seconds)
            except TrainingDiverged:
                acc[k].append(0.0)
            row.append(f"{k} {acc[k][-1]:.3f}")
        print(f"  model {i:2d}: {', '.join(row)}  ({secs[-1]:.1f} s)", flush=True)
    a = {k: np.array(v) for k, v in acc.items()}
    s_seed = spearmanr(a["seed0"], a["seed1"]).statistic
    s_budget = spearmanr((a["seed0"] + a["seed1"]) / 2, a["4x"]).statistic
    s_budget1 = spearmanr(a["seed0"], a["4x"]).statistic
    print(f"  accuracy at the default budget: mean {a['seed0'].mean():.3f}, min "
          f"{a['seed0'].min():.3f}, max {a['seed0'].max():.3f}; at 4x: mean {a['4x'].mean():.3f}")
    print(f"  seconds per candidate (default budget): median {np.median(secs):.2f}, "
          f"max {np.max(secs):.2f}")
    print(f"  Spearman seed 0 vs seed 1:              {s_seed:.3f}")
    print(f"  Spearman default (seed 0) vs 4x budget: {s_budget1:.3f}")
    print(f"  Spearman default (mean of 2) vs 4x:     {s_budget:.3f}")


def bench_batch(args, sizes=(64, 128, 256)):
    data = random_dataset(2_000)
    space = SearchSpace().replace(**data.arch_overrides())
    models = {"mnasnet_a1_x0.5": zoo.get("mnasnet_a1_x0.5", **data.arch_overrides()),
              "random model": space.sample(np.random.default_rng(args.space_seed))}
    steps, reps = (4, 1) if args.quick else (12, 3)
    print(f"\n[batch] training img/s at 32x32, {steps} steps per run, {reps} interleaved reps, "
          f"{args.threads} threads")
    for name, arch in models.items():
        rates = {bs: [] for bs in sizes}
        for _ in range(reps):
            for bs in sizes:
                cfg = TrainConfig(steps=steps, batch_size=bs, threads=args.threads,
                                  bn_recalibrate=0)
                rates[bs].append(train(build_model(arch, 0), data, cfg).images_per_second)
        med = {bs: float(np.median(v)) for bs, v in rates.items()}
        print(f"  {name:16s} " + "   ".join(
            f"batch {bs}: {med[bs]:6.0f} img/s ({med[bs] / med[sizes[0]]:.2f}x)" for bs in sizes))


def bench_compile(args):
    data = random_dataset(2_000)
    arch = SearchSpace().replace(**data.arch_overrides()).sample(
        np.random.default_rng(args.space_seed))
    x, y = data.train_x.float() / 255, data.train_y
    steps = 4 if args.quick else 30
    cfg = TrainConfig()
    print(f"\n[compile] minimal loop, a random model at 32x32, batch {cfg.batch_size}, "
          f"{steps} steps after 2 warm-up steps, {args.threads} threads")
    rates = {}
    for name in ("eager", "torch.compile"):
        model = build_model(arch, 0)
        model = torch.compile(model) if name == "torch.compile" else model
        _, warm, _ = timed(lambda: minimal_loop(model, x, y, 2, cfg.batch_size, cfg, True))
        rates[name] = minimal_loop(model, x, y, steps, cfg.batch_size, cfg, True)
        print(f"  {name:14s} first 2 steps {warm:6.1f} s, then {rates[name]:5.0f} img/s "
              f"({rates[name] / rates['eager']:.2f}x eager)")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="fewer models, steps and images")
    p.add_argument("--only", default="throughput,candidate,sanity,fidelity,batch,compile")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--models", type=int, default=20)
    p.add_argument("--space-seed", type=int, default=0)
    p.add_argument("--resolution", type=int, help="override the default (to explore)")
    p.add_argument("--epochs", type=float, help="override the default budget (to explore)")
    p.add_argument("--batch-size", type=int, help="override the default (to explore)")
    p.add_argument("--lr", type=float, help="override the default (to explore)")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    data_cfg = DataConfig(**({"resolution": args.resolution} if args.resolution else {}))
    cfg = TrainConfig(threads=args.threads, **{k: getattr(args, k) for k in
                                               ("epochs", "batch_size", "lr") if getattr(args, k)})
    digits = load_dataset(data_cfg)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; defaults: "
          f"{data_cfg}\n{cfg}")
    only = set(args.only.split(","))
    if "throughput" in only:
        steps, reps = (10, 2) if args.quick else (30, 3)
        bench_throughput(args, digits, "mnasnet_a1_x0.5", steps, reps)
        bench_throughput(args, random_dataset(2_000), "mnasnet_a1_x0.5", steps // 2, reps)
    if "candidate" in only:
        bench_candidate(args, digits, cfg)
    if "sanity" in only:
        bench_sanity(args, digits, cfg)
    if "fidelity" in only:
        bench_fidelity(args, digits, cfg)
    if "batch" in only:
        bench_batch(args)
    if "compile" in only:
        bench_compile(args)
    return 0


if __name__ == "__main__":
    reexec_with_malloc_tunables("benchmarks.train", sys.argv[1:])
    sys.exit(main())
