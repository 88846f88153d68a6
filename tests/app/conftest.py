"""Fixtures for the app tests: small real run-store files and an AppTest per page."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from mnas_core.reward import RewardConfig
from tests.app.rundata import make_trials, write_run

ROOT = Path(__file__).resolve().parents[2]
HARD, SOFT = RewardConfig.preset("hard", 4.0), RewardConfig.preset("soft", 4.0)


@pytest.fixture
def run_dirs(tmp_path):
    """(runs_dir, sample_dir): a hard and a soft recorded run, and an empty runs folder."""
    samples, runs = tmp_path / "sample_runs", tmp_path / "runs"
    samples.mkdir()
    runs.mkdir()
    write_run(samples / "ppo-hard.db", make_trials(60, HARD, seed=1), HARD)
    write_run(samples / "ppo-soft.db", make_trials(60, SOFT, seed=2), SOFT)
    return runs, samples


def page_app(name: str, runs_dir: Path | None = None, sample_dir: Path | None = None,
             timeout: float = 60) -> AppTest:
    """An AppTest running one page function with an explicit AppConfig."""
    samples = f"(Path({str(sample_dir)!r}),)" if sample_dir else "()"
    runs = f"Path({str(runs_dir)!r})" if runs_dir else "Path('/nonexistent-mnas-runs')"
    script = (f"import sys\nsys.path.insert(0, {str(ROOT)!r})\nfrom pathlib import Path\n"
              f"from app.config import AppConfig\nfrom app.views import {name}\n"
              f"{name}.page(AppConfig(runs_dir={runs}, sample_dirs={samples}, "
              f"refresh_s=0.5))\n")
    return AppTest.from_string(script, default_timeout=timeout)
