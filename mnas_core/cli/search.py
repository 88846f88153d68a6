"""`mnas search`: run or resume a search; print the Pareto front and the best model."""
from __future__ import annotations

import argparse
import dataclasses
import json
import signal
import time
from contextlib import contextmanager
from pathlib import Path

from ..data import load_with_bar
from ..fidelity import RESULTS_FILE, proxy_task
from ..pareto import pareto_mask
from ..registry import ACCURACY_SOURCES, DATASETS, EXECUTORS, LATENCY_SOURCES, STRATEGIES
from ..reward import PRESETS, RewardConfig
from ..search import (AccuracySetup, LatencySetup, SearchConfig, check_config, load_config,
                      run_search, start_run)
from ..store import RunStore, TrialStatus
from .core import load_space


def config_from_args(args: argparse.Namespace) -> SearchConfig:
    alpha, beta = PRESETS[args.preset]
    alpha = args.alpha if args.alpha is not None else alpha
    beta = args.beta if args.beta is not None else beta
    try:
        target = None if args.target == "auto" else float(args.target)
        RewardConfig(target)  # T alone first, so that its error names --target
    except ValueError as err:
        raise ValueError(f"--target: {err}") from None
    reward = RewardConfig(target, alpha, beta)
    data, train = proxy_task(args.dataset)  # the dataset's default budget, then the flags
    data = dataclasses.replace(data, **{k: v for k, v in (
        ("resolution", args.resolution), ("train_images", args.train_images),
        ("path", args.data_path)) if v})
    train = dataclasses.replace(train, **{k: v for k, v in (
        ("epochs", args.epochs), ("steps", args.steps), ("threads", args.threads),
        ("width", args.train_width)) if v})
    return SearchConfig(strategy=args.strategy, trials=args.trials, batch_size=args.batch,
                        reward=reward, dataset=data, train=train,
                        latency=LatencySetup(source=args.latency, options=source_options(
                            args.latency_option, "--latency-option")),
                        accuracy=AccuracySetup(source=args.accuracy, options=source_options(
                            args.accuracy_option, "--accuracy-option")),
                        space=load_space(args.space),
                        executor=args.executor, workers=args.workers,
                        scheduler=args.scheduler, seed=args.seed)


def source_options(pairs: list[str] | None, flag: str) -> dict:
    """--latency-option / --accuracy-option KEY=VALUE pairs as the source's settings: a dotted
    KEY sets a nested one (connect.host=192.168.1.23 for the phone), VALUE is read as JSON
    when it is JSON (5555, true, null) and as text otherwise. The source's config checks them."""
    options: dict = {}
    for pair in pairs or []:
        key, eq, text = pair.partition("=")
        if not eq or not key or any(not k for k in key.split(".")):
            raise ValueError(f"{flag} {pair!r}: expected KEY=VALUE, e.g. "
                             "runs=20 or connect.host=192.168.1.23")
        try:
            value = json.loads(text)
        except ValueError:
            value = text
        *parents, last = key.split(".")
        node = options
        for k in parents:
            node = node.setdefault(k, {})
            if not isinstance(node, dict):
                raise ValueError(f"{flag} {pair!r}: {k} is already set to a value")
        node[last] = value
    return options


RECORDED_RANDOM = Path(__file__).resolve().parents[2] / "sample_runs" / "random.db"


def digits_note(recorded: Path = RECORDED_RANDOM) -> str:
    """What digits can teach, with the figure measured on the recorded random search when
    this checkout has it."""
    from ..findings import size_signal
    from ..store import read_trials

    measured = ""
    try:
        found = size_signal(read_trials(recorded)) if recorded.is_file() else None
    except ValueError:  # not a readable run file: say it without the figure
        found = None
    if found:
        measured = (f" (Spearman of accuracy with latency {found[0]:.2f} over the {found[1]} "
                    f"models of {recorded.parent.name}/{recorded.name})")
    return ("note: digits is the offline demo of the mechanics; on it a big network is hardly "
            f"more accurate than a small one{measured}, so searches drift to the smallest "
            "networks. For real accuracy use --dataset cifar10 or folder:PATH.")


RECORDED_FIDELITY = RECORDED_RANDOM.with_name(RESULTS_FILE)


def real_data_note(cfg, recorded: Path = RECORDED_FIDELITY) -> str:
    """On real data, what the budget is worth (fidelity.proxy_note), with the recorded study's
    figures when this checkout has them."""
    from ..fidelity import proxy_note, read_results, this_host

    try:
        rows = read_results(recorded) if recorded.is_file() else None
    except (OSError, ValueError):  # a damaged file: say it without the figures
        rows = None
    return (f"note: {proxy_note(cfg.dataset, cfg.train, rows, this_host())} README, "
            "\"Proxy task on real CIFAR-10\", has the study.")


def cmd_search(args: argparse.Namespace) -> int:
    # The app stops a background search with SIGINT; a plain `kill` means the same. Both
    # handlers are set explicitly: a process started from a backgrounded shell inherits
    # SIGINT as ignored, and Python then leaves it ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    # Everything that can be refused is checked before the run file is created or written:
    # the config, the dataset, the strategy, the latency source (a phone is connected).
    if args.resume:
        cfg = load_config(args.resume)
        if cfg.accuracy.uses_dataset:  # a first decode shows a bar
            load_with_bar(cfg.dataset, show=not args.no_progress)
        store = RunStore(args.resume)  # checks the whole file, then locks it; writes nothing
    else:
        cfg = config_from_args(args)
        if cfg.dataset.name == "digits" and cfg.accuracy.uses_dataset:
            print(digits_note())
        elif cfg.accuracy.uses_dataset:
            print(real_data_note(cfg))
        if args.estimate:
            return _print_estimate(cfg, show=not args.no_progress)
        out = Path(args.out or f"runs/{time.strftime('%Y%m%d-%H%M%S')}-{cfg.strategy}.db")
        if out.exists():  # before loading data or connecting a phone (RunStore.create too)
            raise ValueError(f"{out} already exists; use --resume, or pick another --out")
        # A first decode of a folder shows a bar; check_config then reads the tensor cache.
        if cfg.accuracy.uses_dataset:
            load_with_bar(cfg.dataset, show=not args.no_progress)
        check_config(cfg)
        store = None
    bar = source = None
    try:
        with _source_errors(cfg, store.path if store else out):
            try:
                source = cfg.latency.make_source().open()
            except ValueError as err:  # a resumed run's settings: say whose
                raise ValueError(f"{store.path}: {err}" if store else str(err)) from None
            if store is None:
                store = start_run(cfg, out, name=args.name)
                print(f"run file: {out}   (resume with: mnas search --resume {out})")
            else:
                print(f"resuming {args.resume}")
            if not args.no_progress:
                from tqdm import tqdm
                bar = tqdm(total=cfg.trials, unit="trial", desc="search")
            run_search(store, progress=bar, source=source)
        report(store)
    except KeyboardInterrupt:
        if store is None:
            raise  # nothing was created: plain "interrupted"
        print(f"\nstopped; finished trials are kept. Resume: mnas search --resume {store.path}")
        return 130
    finally:
        if bar is not None:
            bar.close()
        if source is not None:
            source.close()
        if store is not None:
            store.close()
    return 0


def _print_estimate(cfg: SearchConfig, show: bool) -> int:
    from ..estimate import estimate

    load_with_bar(cfg.dataset, show=show)  # a first decode shows a bar
    check_config(cfg)
    with _source_errors(cfg, Path("/nonexistent")):
        print(f"estimated cost, measured on this machine: {estimate(cfg).summary()}")
    return 0


@contextmanager
def _source_errors(cfg: SearchConfig, path: Path):
    """A latency source that is missing or lost (a SourceError: no phone answers) ends in
    one line too, saying that what was recorded is kept."""
    from ..latency import SourceError
    try:
        yield
    except SourceError as err:
        said = " ".join(str(err).split()).rstrip(".")
        kept = f". Finished trials are kept: mnas search --resume {path}" if path.exists() else ""
        raise ValueError(f"--latency {cfg.latency.source}: {said}{kept}") from None


def report(store: RunStore) -> None:
    df = store.trials()
    ok = df[df.status == TrialStatus.OK]
    r = SearchConfig.from_dict(store.config()).reward
    target = "auto, not measured yet" if r.target_ms is None else f"{r.target_ms:.2f} ms"
    print(f"\n{len(ok)} of {len(df)} trials succeeded; reward: T = {target}, "
          f"alpha = {r.alpha}, beta = {r.beta}")
    if ok.empty:
        return
    front = ok[pareto_mask(ok.accuracy, ok.latency_ms)].sort_values("latency_ms")
    cols = ["trial", "accuracy", "latency_ms", "params", "macs", "reward"]
    print("\nPareto front (max accuracy, min latency):")
    print(front[cols].to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    best = ok.loc[ok.reward.idxmax()]
    print(f"\nbest reward: trial {best.trial}, accuracy {best.accuracy:.4f}, latency "
          f"{best.latency_ms:.2f} ms, {best.params:,} params, {best.macs / 1e6:.1f}M MACs")
    print(f"  {best.arch}")


def register(sub) -> None:
    p = sub.add_parser("search", help="run a search (soft-constraint PPO on digits by default)",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--resume", metavar="RUN", help="continue the run stored in this file")
    p.add_argument("--out", help="run file to create (default: runs/DATE-STRATEGY.db)")
    p.add_argument("--name", help="a name for the run")
    d = SearchConfig()  # the default search: its defaults are the CLI's and the app's
    p.add_argument("--strategy", default=d.strategy, choices=STRATEGIES.names(),
                   help=STRATEGIES.describe())
    p.add_argument("--trials", type=int, default=d.trials)
    p.add_argument("--batch", type=int, default=d.batch_size, help="models per ask/tell batch")
    p.add_argument("--dataset", default=d.dataset.name, help=DATASETS.describe())
    p.add_argument("--data-path", help="CIFAR: extracted folder or .tar.gz instead of a download")
    p.add_argument("--resolution", type=int, help="training resolution (default: the "
                   "dataset's proxy task; README \"Proxy task\")")
    p.add_argument("--train-images", type=int, help="subset of the training images")
    p.add_argument("--epochs", type=float, help="training budget per model, in epochs")
    p.add_argument("--train-width", type=float, help="train a copy at this x the model's "
                   "width multiplier (real data's default 0.5: EcoNAS's reduced channels)")
    p.add_argument("--steps", type=int, help="training budget per model, in steps")
    p.add_argument("--threads", type=int, help="torch threads per training worker")
    p.add_argument("--preset", default=d.reward.kind, choices=sorted(PRESETS),
                   help="hard: alpha=0, beta=-1; soft: alpha=beta=-0.07")
    p.add_argument("--target", default=d.reward.target_ms or "auto",
                   help="target latency T in ms, or auto: MobileNetV2's latency on the source")
    p.add_argument("--alpha", type=float, help="overrides the preset's alpha")
    p.add_argument("--beta", type=float, help="overrides the preset's beta")
    p.add_argument("--latency", default=d.latency.source, choices=LATENCY_SOURCES.names(),
                   help=LATENCY_SOURCES.describe())
    p.add_argument("--latency-option", action="append", metavar="KEY=VALUE",
                   help="a setting of the latency source, repeatable: runs=20, or for the "
                        "phone connect.host=IP, run.runner_local=PATH (docs/phone.md)")
    p.add_argument("--accuracy", default=d.accuracy.source, choices=ACCURACY_SOURCES.names(),
                   help=ACCURACY_SOURCES.describe())
    p.add_argument("--accuracy-option", action="append", metavar="KEY=VALUE",
                   help="a setting of the accuracy source, repeatable: for predicted, "
                        "path=PREDICTOR.json (mnas predictor fit)")
    p.add_argument("--space", help="search space JSON file (default: the paper's)")
    p.add_argument("--executor", default=d.executor, choices=EXECUTORS.names(),
                   help=EXECUTORS.describe())
    p.add_argument("--workers", type=int, default=d.workers)
    p.add_argument("--scheduler", help="Dask scheduler address, e.g. tcp://HOST:8786")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--estimate", action="store_true",
                   help="measure what the search would cost here (a probe training and a "
                        "latency timing), print it and exit; no run file is made")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (background runs)")
    p.set_defaults(func=cmd_search)
