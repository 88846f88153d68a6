"""The app's settings, parsed once from the command line in app/main.py and handed to every
page explicitly (`mnas app --runs-dir DIR` passes them through `streamlit run ... -- ARGS`)."""
from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class AppConfig:
    runs_dir: Path = Path("runs")                      # where searches started here write
    sample_dirs: tuple[Path, ...] = field(default_factory=lambda: (REPO / "sample_runs",))
    refresh_s: float = 2.0                              # live refresh period of running searches

    def run_folders(self) -> tuple[Path, ...]:
        """Every folder whose *.db files the app lists: new runs first, then recorded ones."""
        return (self.runs_dir, *self.sample_dirs)


def parse_args(argv: list[str]) -> AppConfig:
    p = argparse.ArgumentParser(prog="mnas app", add_help=False)
    p.add_argument("--runs-dir", default="runs")
    p.add_argument("--sample-dir", action="append", default=None)
    p.add_argument("--refresh", type=float, default=2.0)
    args, _ = p.parse_known_args(argv)
    samples = tuple(Path(d) for d in args.sample_dir) if args.sample_dir \
        else AppConfig().sample_dirs
    return AppConfig(Path(args.runs_dir).expanduser().resolve(), samples,
                     max(0.5, args.refresh))
