"""Zero-cost proxies against real recorded trainings: do they rank our models?

  python -m benchmarks.zerocost [--runs sample_runs/random.db ...] [--models 80] [--seed 0]
      [--batch 64] [--proxies synflow,jacob_cov,naswot] [--fidelity FILE] [--cifar DIR]

For each recorded training the network is rebuilt with the seed it was trained from (so the
proxy scores the very initial weights that were trained) and scored from one minibatch of its
own training set (mnas_core.accuracy.zerocost); the table gives, per data set, the Spearman and
Kendall rank correlation of each score with the recorded validation top-1, beside MACs alone
and params alone as baselines. Abdelfattah et al. (ICLR 2021) found such scores rank the
NAS-Bench-201 cell space well; whether they rank this space's models, trained by this
project's proxy, is what this measures.

Data sets: run files (`--runs`: the `ok` trials; `--models N` takes a seeded subset of N of
each, so a run fits in a couple of minutes on 2 cores), and the reference rows of the CIFAR-10
fidelity study (`--fidelity`, the long trainings; its images from `--cifar DIR`/train, loaded
as benchmarks/fidelity.py loads them; skipped with a reason when absent). The recorded MACs
and params are those of the network as deployed (224x224, 1000 classes), as the run file
stores them; `macs_trained` is the network as it was trained (the proxy resolution).
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

DEFAULT_RUNS = ("sample_runs/random.db",)
BASELINES = ("macs", "params", "macs_trained")


def rank_table(data: str, target, columns: dict) -> list[dict]:
    """One row per column: Spearman and Kendall (tau-b) of the column against `target` over
    the entries where both are finite (n); NaN correlations when n < 3 or a side is constant.
    -inf/+inf scores (a singular kernel, an overflow) are left out and counted in `dropped`."""
    from scipy.stats import kendalltau, spearmanr

    t = np.asarray(target, dtype=np.float64)
    rows = []
    for name, values in columns.items():
        v = np.asarray(values, dtype=np.float64)
        if v.shape != t.shape:
            raise ValueError(f"column {name!r} has {v.size} values for {t.size} targets")
        ok = np.isfinite(v) & np.isfinite(t)
        n = int(ok.sum())
        rho = tau = math.nan
        if n >= 3 and np.ptp(v[ok]) > 0 and np.ptp(t[ok]) > 0:
            rho = float(spearmanr(v[ok], t[ok]).statistic)
            tau = float(kendalltau(v[ok], t[ok]).statistic)
        rows.append({"data": data, "score": name, "n": n, "dropped": int(t.size - n),
                     "spearman": rho, "kendall": tau})
    return rows


def format_table(rows: list[dict]) -> str:
    """The rows of `rank_table` as a fixed-width text table."""
    head = f"{'data':<30} {'score':<13} {'n':>4} {'drop':>4} {'spearman':>9} {'kendall':>8}"
    lines = [head, "-" * len(head)]
    fmt = lambda x: "nan" if math.isnan(x) else f"{x:+.3f}"  # noqa: E731
    for r in rows:
        lines.append(f"{r['data']:<30} {r['score']:<13} {r['n']:>4} {r['dropped']:>4} "
                     f"{fmt(r['spearman']):>9} {fmt(r['kendall']):>8}")
    return "\n".join(lines)


def score_models(label: str, models: list[dict], data, args) -> list[dict]:
    """Score each {'arch', 'seed', ...} of `models` on one minibatch of `data`; prints one
    timing line per model. Returns the models with the proxies and seconds added."""
    from mnas_core.accuracy import zerocost
    from mnas_core.builder import build_model

    images = zerocost.minibatch(data, args.batch, args.seed)
    out = []
    for i, m in enumerate(models, 1):
        t0 = time.perf_counter()
        net = build_model(m["arch"], seed=m["seed"])
        built = time.perf_counter() - t0
        times, scores = {}, {}
        cpu0 = time.thread_time()
        for p in args.proxies:  # one proxy at a time, so each gets its own time
            t = time.perf_counter()
            scores.update(zerocost.score(net, images, (p,)))
            times[p] = time.perf_counter() - t
        # CPU time beside wall time: on a shared machine the wall time says more about the
        # neighbours than about the proxy.
        row = {**m, **scores, "build_s": built, "seconds": time.perf_counter() - t0,
               "cpu_s": time.thread_time() - cpu0, **{f"{p}_s": s for p, s in times.items()}}
        out.append(row)
        each = " ".join(f"{p} {1000 * times[p]:.0f}" for p in args.proxies)
        print(f"  {label} {i:>3}/{len(models)} top1 {m['top1']:.3f} "
              f"build {1000 * built:.0f} {each} ms (scoring CPU {1000 * row['cpu_s']:.0f} ms)",
              flush=True)
    return out


def run_models(path: Path, n: int | None, seed: int) -> tuple[list[dict], object]:
    """(ok trials of run file `path` as model dicts, a seeded subset of n; its DataConfig)."""
    from mnas_core.arch import parse_arch
    from mnas_core.profile import totals
    from mnas_core.search import load_config
    from mnas_core.store import read_trials

    cfg = load_config(path)
    df = read_trials(path)
    df = df[df["status"] == "ok"].reset_index(drop=True)
    if n is not None and n < len(df):
        df = df.iloc[np.sort(np.random.default_rng(seed).choice(len(df), n, replace=False))]
    models = []
    for r in df.itertuples():
        arch = parse_arch(r.arch)
        models.append({"arch": arch, "seed": cfg.train.seed, "top1": float(r.accuracy),
                       "macs": float(r.macs), "params": float(r.params),
                       "macs_trained": float(totals(arch).macs)})
    return models, cfg.dataset


def fidelity_models(path: Path) -> list[dict]:
    """The reference trainings of the CIFAR-10 fidelity study, as 224x224 architectures."""
    from benchmarks.fidelity import REFERENCE, read_results
    from mnas_core.arch import parse_arch

    rows = [r for r in read_results(path) if r["budget"] == REFERENCE.name]
    return [{"arch": parse_arch(r["arch"]), "seed": int(r["seed"]), "top1": float(r["top1"]),
             "macs": float(r["macs"]), "params": float(r["params"]), "model": r["model"]}
            for r in rows]


def study_run(path: Path, args) -> list[dict]:
    from mnas_core.data import load_dataset

    models, data_cfg = run_models(path, args.models, args.seed)
    data = load_dataset(data_cfg)
    print(f"{path}: {len(models)} ok trials on {data.summary()}", flush=True)
    return _rows(path.name, score_models(path.name, models, data, args), args)


def study_fidelity(args) -> list[dict]:
    from benchmarks.fidelity import REFERENCE, Budget, _data_config
    from mnas_core.data import DataConfig, load_dataset
    from mnas_core.profile import totals

    if not args.fidelity.is_file():
        print(f"skipping the CIFAR-10 fidelity study: {args.fidelity} not found")
        return []
    if not (args.cifar / "train").is_dir():
        print(f"skipping the CIFAR-10 fidelity study: no CIFAR-10 class folders at "
              f"{args.cifar}/train (the images its minibatch is drawn from)")
        return []
    models = fidelity_models(args.fidelity)
    if len(models) < 3:
        print(f"skipping the CIFAR-10 fidelity study: {len(models)} reference trainings "
              "recorded, a rank correlation needs 3")
        return []
    # The reference budget's data: the same training images (and normalisation) it trained on.
    data = load_dataset(_data_config(DataConfig, str(args.cifar), Budget(
        "ref", REFERENCE.images, REFERENCE.epochs, REFERENCE.resolution)))
    print(f"{args.fidelity}: {len(models)} reference trainings ({REFERENCE.name}) on "
          f"{data.summary()}", flush=True)
    for m in models:
        m["arch"] = m["arch"].replace(**data.arch_overrides())
        m["macs_trained"] = float(totals(m["arch"]).macs)
    label = f"cifar10 {REFERENCE.name}"
    return _rows(label, score_models("cifar10", models, data, args), args)


def _rows(label: str, scored: list[dict], args) -> list[dict]:
    cols = {p: [m[p] for m in scored] for p in args.proxies}
    cols.update({b: [m[b] for m in scored] for b in BASELINES})
    print(f"  {label}: wall seconds per model (build + all proxies): median "
          f"{np.median([m['seconds'] for m in scored]):.2f}, max "
          f"{max(m['seconds'] for m in scored):.2f}; scoring CPU seconds median "
          f"{np.median([m['cpu_s'] for m in scored]):.2f}; per proxy, median wall ms: " +
          ", ".join(f"{p} {1000 * np.median([m[p + '_s'] for m in scored]):.0f}"
                    for p in args.proxies), flush=True)
    for size in ("params", "macs"):  # is a proxy more than a size measure?
        args.vs_size.extend(rank_table(f"{label} ~{size}", [m[size] for m in scored],
                                       {p: cols[p] for p in args.proxies}))
    args.scored.extend({"data": label, "arch": m["arch"].to_string(),
                        **{k: v for k, v in m.items() if k != "arch"}} for m in scored)
    return rank_table(label, [m["top1"] for m in scored], cols)


def parse_args(argv=None):
    from mnas_core.accuracy.zerocost import PROXIES

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", nargs="*", type=Path, default=[Path(r) for r in DEFAULT_RUNS],
                   help="run files (e.g. sample_runs/hard_ppo.db sample_runs/soft_ppo.db)")
    p.add_argument("--models", type=int, default=80,
                   help="seeded subset of each run file's ok trials (0: all)")
    p.add_argument("--seed", type=int, default=0, help="subset and minibatch seed")
    p.add_argument("--batch", type=int, default=64, help="minibatch images")
    p.add_argument("--proxies", default=",".join(PROXIES))
    p.add_argument("--fidelity", type=Path, default=Path("sample_runs/fidelity_cifar10.jsonl"))
    p.add_argument("--cifar", type=Path, default=Path("/work/cache/cifar10"),
                   help="CIFAR-10 root holding train/<class>/ (decoded once into the cache)")
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    p.add_argument("--json", type=Path, help="also write the tables and per-model scores here")
    args = p.parse_args(argv)
    args.proxies = tuple(x for x in args.proxies.split(",") if x)
    bad = [x for x in args.proxies if x not in PROXIES]
    if bad or not args.proxies:
        p.error(f"--proxies: choose from {', '.join(PROXIES)}")
    if args.models < 0 or args.batch < 2:
        p.error("--models must be >= 0 and --batch >= 2")
    args.models = args.models or None
    args.vs_size, args.scored = [], []
    return args


def main(argv=None) -> int:
    import torch

    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    rows = []
    try:
        for path in args.runs:
            rows += study_run(path, args)
        rows += study_fidelity(args)
    except ValueError as err:  # a run file or data set that does not load: one line
        print(f"zerocost: {err}", file=sys.stderr)
        return 2
    print(f"\nRank correlation with recorded validation top-1 (batch {args.batch}, "
          f"seed {args.seed}, {time.perf_counter() - start:.0f} s in all)")
    print(format_table(rows))
    print("\nHow much each proxy is a size measure: rank correlation with params and MACs "
          "(as recorded)")
    print(format_table(args.vs_size))
    if args.json:  # the table and every model's scores, to re-analyse without re-scoring
        args.json.write_text(json.dumps({"accuracy": rows, "size": args.vs_size,
                                         "models": args.scored}, indent=1))
    return 0


if __name__ == "__main__":
    from mnas_core.runtime import reexec_with_malloc_tunables

    reexec_with_malloc_tunables("benchmarks.zerocost", sys.argv[1:])
    sys.exit(main())
