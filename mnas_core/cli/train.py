"""`mnas train`: train one architecture on a proxy dataset and report its validation accuracy."""
from __future__ import annotations

import argparse
import json

from ..registry import DATASETS
from .core import resolve_arch


def data_config(args: argparse.Namespace):
    """A DataConfig from the shared data options (also used by other subcommands)."""
    from ..data import DataConfig
    kwargs = {k: getattr(args, k) for k in ("resolution", "train_images", "val_fraction",
                                            "cache_dir", "max_classes", "max_per_class")
              if getattr(args, k, None) is not None}
    return DataConfig(name=args.dataset, seed=args.data_seed, path=args.data_path,
                      url=args.data_url, md5=args.data_md5, **kwargs)


def add_data_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("data")
    g.add_argument("--dataset", default="digits", help=DATASETS.describe())
    g.add_argument("--resolution", type=int, help="input resolution (default: 16)")
    g.add_argument("--train-images", type=int, help="use a seeded subset of N training images")
    g.add_argument("--val-fraction", type=float, help="share of training data held out to "
                                                       "validate (default 0.25)")
    g.add_argument("--data-seed", type=int, default=0, help="seed of the split and subset")
    g.add_argument("--cache-dir", help="dataset cache (default ~/.cache/mnas-explorer/data)")
    g.add_argument("--data-path", help="CIFAR: extracted folder or .tar.gz to read instead")
    g.add_argument("--data-url", help="CIFAR: archive URL override")
    g.add_argument("--data-md5", help="CIFAR: expected md5 of the archive at --data-url")
    g.add_argument("--max-classes", type=int, help="folder: use the first N classes")
    g.add_argument("--max-per-class", type=int, help="folder: use N images per class")


def add_train_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("training")
    g.add_argument("--epochs", type=float, help="budget in epochs (default 2)")
    g.add_argument("--steps", type=int, help="budget in steps (overrides --epochs)")
    g.add_argument("--batch-size", type=int)
    g.add_argument("--optimizer", choices=("sgd", "rmsprop"))
    g.add_argument("--lr", type=float)
    g.add_argument("--weight-decay", type=float)
    g.add_argument("--label-smoothing", type=float)
    g.add_argument("--no-augment", dest="augment", action="store_false", default=None)
    g.add_argument("--seed", type=int, help="training seed (weights, batch order)")
    g.add_argument("--threads", type=int, help="torch threads (default: torch's)")
    g.add_argument("--device", help="auto (default) | cpu | cuda")


def train_config(args: argparse.Namespace):
    from ..train import TrainConfig
    names = ("epochs", "steps", "batch_size", "optimizer", "lr", "weight_decay",
             "label_smoothing", "augment", "seed", "threads", "device")
    return TrainConfig(**{k: getattr(args, k) for k in names if getattr(args, k) is not None})


def cmd_train(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ..builder import build_model
    from ..data import load_with_bar
    from ..train import TrainingDiverged, check_fits, train

    cfg = train_config(args)
    data = load_with_bar(data_config(args), show=not args.quiet)  # "decoding" bar, first load
    overrides = data.arch_overrides()
    if args.width is not None:
        overrides["width"] = args.width
    arch = resolve_arch(args.arch, **overrides)
    check_fits(arch, data)
    print(data.summary())
    model = build_model(arch, seed=cfg.seed)
    with tqdm(desc="training", unit="step", disable=args.quiet) as bar:
        def on_step(step, total, loss):
            bar.total = total
            bar.update(1)
            if step % 5 == 0 or step == total:
                bar.set_postfix(loss=f"{loss:.3f}")
        try:
            result = train(model, data, cfg, progress=on_step)
        except TrainingDiverged as err:
            bar.close()
            print(f"mnas train: {err}")
            return 1
    if args.json:
        print(json.dumps(result.to_dict()))
        return 0
    top5 = f", top-5 {result.top5:.2%}" if result.top5 is not None else ""
    print(f"validation top-1 {result.top1:.2%}{top5} after {result.steps} steps "
          f"({result.epochs:.2f} epochs) in {result.train_seconds:.1f} s, "
          f"{result.images_per_second:.0f} images/s on {result.device} "
          f"({result.threads} threads), {result.params:,} params")
    return 0


def register(sub) -> None:
    p = sub.add_parser("train", help="train an architecture on a proxy dataset (ACC(m))")
    p.add_argument("arch", help="zoo name (e.g. mnasnet_a1_x0.5), block string or JSON file; "
                                "its resolution/classes/channels are set from the dataset")
    p.add_argument("--width", type=float, help="width multiplier override")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    add_data_options(p)
    add_train_options(p)
    p.set_defaults(func=cmd_train)
