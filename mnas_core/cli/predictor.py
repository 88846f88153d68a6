"""`mnas predictor fit RUN... -o FILE` (fit an accuracy predictor on recorded trainings and
print every candidate's held-out scores beside MACs alone), `mnas predictor show FILE` (what a
predictor file was fitted on and how well it ranks) and `mnas predictor estimated` (the
published-results estimate's fit and leave-one-out error)."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..accuracy.predictor import FitConfig, Predictor, file_sha256, fit

# Row labels of the scores table, in print order.
LABELS = {"ridge": "ridge regression", "trees": "gradient-boosted trees",
          "macs": "MACs alone (log MACs as is)", "macs_fit": "MACs alone (line on log MACs)"}


def _num(v, fmt: str) -> str:
    return "-" if v is None else format(v, fmt)


def print_report(p: Predictor) -> None:
    """What `p` was fitted on, then one row of held-out scores per model and baseline."""
    on = p.fitted_on
    budget = ", ".join(f"{k}={v}" for k, v in on["budget"].items() if k in ("epochs", "steps",
                                                                             "batch_size", "lr"))
    print(f"fitted on {on['trials']} ok trials ({on.get('architectures', '?')} distinct "
          f"architectures) of {len(on['runs'])} run(s); dataset {on['dataset'].get('name')} "
          f"at {on['dataset'].get('resolution')}px, budget {budget}")
    print(f"task: {', '.join(f'{k}={v}' for k, v in p.task.items())}")
    for run in on["runs"]:
        print(f"  {run.get('file')}: {run.get('ok')} ok of {run.get('trials')} trials "
              f"(sha256 {str(run.get('sha256'))[:12]})")
    print(f"\nheld-out scores, {on.get('folds')}-fold (folds grouped by architecture, seed "
          f"{on.get('seed')}); accuracy as a fraction:")
    print(f"  {'model':<32}{'Spearman':>9}{'(sd)':>7}{'Kendall':>9}{'MAE':>8}")
    for name, s in p.scores.items():
        mark = "   <- chosen" if name == p.kind else ""
        print(f"  {LABELS.get(name, name):<32}{_num(s.get('spearman'), '.3f'):>9}"
              f"{_num(s.get('spearman_sd'), '.3f'):>7}{_num(s.get('kendall'), '.3f'):>9}"
              f"{_num(s.get('mae'), '.4f'):>8}{mark}")
    print("the chosen model is the best of the candidates on these folds, so its score is "
          "a little optimistic; predictions are not measurements")


def cmd_fit(args: argparse.Namespace) -> int:
    missing = [r for r in args.runs if not Path(r).is_file()]
    if missing:
        raise ValueError(f"no run file at {', '.join(missing)}")
    out = Path(args.out)
    if out.is_dir() or not out.parent.is_dir():
        raise ValueError(f"cannot write {out}: " + ("it is a directory" if out.is_dir()
                                                      else f"no folder {out.parent}"))
    print(f"fitting on {len(args.runs)} run(s), {args.folds}-fold cross-validation...",
          flush=True)
    p = fit(args.runs, FitConfig(folds=args.folds, seed=args.seed))
    print_report(p)
    p.save(out)
    print(f"\nwrote {out} ({out.stat().st_size / 1024:.0f} KB, sha256 "
          f"{file_sha256(out)[:12]}); search with it: mnas search --accuracy predicted "
          f"--accuracy-option path={out}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    p = Predictor.load(args.file)
    print(f"{args.file}: {p.kind} predictor, sha256 {file_sha256(args.file)[:12]}, made by "
          f"MNAS Explorer {p.mnas_version}")
    print_report(p)
    return 0


def cmd_estimated(args: argparse.Namespace) -> int:
    from ..accuracy.estimated import report
    print(report())
    return 0


def register(sub) -> None:
    p = sub.add_parser("predictor", help="fit or inspect an accuracy predictor",
                       description="mnas predictor fit RUN... -o FILE | mnas predictor show "
                                   "FILE | mnas predictor estimated")
    cmds = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    f = cmds.add_parser("fit", help="fit a predictor on the ok trials of run files that share "
                                    "dataset and training budget",
                        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    f.add_argument("runs", nargs="+", metavar="RUN", help="run files (.db)")
    f.add_argument("-o", "--out", required=True, metavar="FILE",
                   help="predictor file to write (JSON)")
    f.add_argument("--folds", type=int, default=FitConfig.folds, help="cross-validation folds")
    f.add_argument("--seed", type=int, default=FitConfig.seed, help="fold and model seed")
    f.set_defaults(func=cmd_fit)
    s = cmds.add_parser("show", help="what a predictor file was fitted on, and its scores")
    s.add_argument("file", metavar="FILE")
    s.set_defaults(func=cmd_show)
    e = cmds.add_parser("estimated", help="the ImageNet estimate from published results: its "
                                          "fit and leave-one-out error (not a measurement)")
    e.set_defaults(func=cmd_estimated)
