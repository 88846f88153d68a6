"""`mnas verify RUN --top K`: train the top-K models of a predicted run with the real proxy
training (the task its predictor was fitted on), record the measured top-1 next to the
predicted one in the run file, and print both with their rank agreement (mnas_core.verify)."""
from __future__ import annotations

import argparse
import signal

from ..registry import EXECUTORS
from ..verify import RANK_BY, Verification, VerifyConfig, VerifyReport


def _num(v, fmt: str) -> str:
    return "-" if v is None or v != v else format(v, fmt)  # v != v: NaN


def print_report(r: VerifyReport, path) -> None:
    """The table (best first by the ranking) and the agreement over the trained ones."""
    print(f"\nbest first by {RANK_BY[r.by]}:")
    print(f"{'trial':>6} {'reward':>8} {'predicted':>10} {'trained':>8} {'difference':>11}")
    for t in r.table.itertuples(index=False):
        trained = (_num(t.trained, ".4f") if t.status == "ok" else
                   t.status if isinstance(t.status, str) else "not yet")
        print(f"{t.trial:>6} {_num(t.reward, '.4f'):>8} {t.predicted:>10.4f} {trained:>8} "
              f"{_num(t.difference, '+.4f'):>11}")
    for t in r.table[r.table.status == "failed"].itertuples(index=False):
        print(f"trial {t.trial} failed: {t.error}")
    s = r.scores
    print(f"\nover the {r.n_ok} trained of these {len(r.table)} (top-1 as a fraction; difference"
          f" = trained - predicted): Spearman {_num(s['spearman'], '.3f')}, Kendall "
          f"{_num(s['kendall'], '.3f')}, MAE {_num(s['mae'], '.4f')}")
    print("these are the run's best by its predictions: a narrower range than the "
          "predictor's held-out score ranks over, so expect a lower rank agreement here")
    print(f"trained now: {r.trained_now}; recorded in {path} (table verified)")


def cmd_verify(args: argparse.Namespace) -> int:
    # As `mnas search`: SIGTERM (the app's Stop, a plain kill) stops it like Ctrl-C.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    cfg = VerifyConfig(top=args.top, by=args.by, retry_failed=args.retry_failed,
                       predictor=args.predictor, data_path=args.data_path,
                       cache_dir=args.cache_dir, executor=args.executor, workers=args.workers,
                       scheduler=args.scheduler, threads=args.threads)
    bar = None
    with Verification(args.run, cfg) as v:
        for line in v.describe():
            print(line)
        try:
            if not args.no_progress and len(v.todo):
                from tqdm import tqdm
                bar = tqdm(total=len(v.todo), unit="model", desc="verify")
            report = v.run(progress=bar)
        except KeyboardInterrupt:
            print(f"\nstopped; finished trainings are kept. Continue: mnas verify {args.run} "
                  f"--top {args.top}")
            return 130
        finally:
            if bar is not None:
                bar.close()
        print_report(report, args.run)
    return 0


def register(sub) -> None:
    p = sub.add_parser(
        "verify", help="train the top-K models of a predicted run and compare",
        description="Train the top-K distinct architectures of a predicted run (best by "
                    "reward, or by predicted accuracy with --by accuracy) with the real proxy "
                    "training the predictor was fitted on, record the measured top-1 beside "
                    "the predicted one, and print both with Spearman, Kendall and MAE. "
                    "Resumable: what is verified is not trained again.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("run", metavar="RUN", help="a run file searched with --accuracy predicted")
    p.add_argument("--top", type=int, required=True, metavar="K",
                   help="how many distinct architectures to train")
    p.add_argument("--by", choices=sorted(RANK_BY), default="reward",
                   help="rank by the search's reward or by predicted accuracy")
    p.add_argument("--retry-failed", action="store_true",
                   help="train again the models whose verification failed")
    p.add_argument("--predictor", metavar="FILE",
                   help="the run's predictor file, if it moved (it must give the run's "
                        "figures)")
    p.add_argument("--data-path", help="CIFAR: extracted folder or .tar.gz to read")
    p.add_argument("--cache-dir", help="dataset cache (default ~/.cache/mnas-explorer/data)")
    p.add_argument("--executor", choices=EXECUTORS.names(),
                   help="default: the run's; " + EXECUTORS.describe())
    p.add_argument("--workers", type=int, help="default: the run's")
    p.add_argument("--scheduler", help="Dask scheduler address, e.g. tcp://HOST:8786")
    p.add_argument("--threads", type=int,
                   help="torch threads per training (default: cores / workers)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_verify)
