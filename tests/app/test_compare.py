"""The analyst's task in a real browser: put three models side by side on the Compare page (two
trials of a recorded run and a zoo model) and download the comparison as CSV."""
from __future__ import annotations

import io
import shutil
from pathlib import Path

import pandas as pd
import pytest

from mnas_core.arch import parse_arch
from mnas_core.store import read_trials
from tests.app.browser import (CHROMIUM, SHOTS, chromium_page, running_app, screenshot_full,
                               tables_too_wide, wait_idle)
from tests.app.conftest import HARD, SOFT
from tests.app.rundata import make_trials, write_run


def pick(page, label: str) -> None:
    """Open the selectbox labelled `label` (its options then show as role "option")."""
    page.get_by_role("combobox", name=label, exact=True).click()


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.skipif(not Path(CHROMIUM).exists(),
                    reason="needs Debian's chromium (apt-get install chromium)")
def test_the_analyst_compares_three_models_and_downloads_the_comparison(tmp_path):
    from playwright.sync_api import expect

    runs, samples = tmp_path / "runs", tmp_path / "samples"
    for d in (runs, samples):
        d.mkdir()
    write_run(samples / "ppo-hard.db", make_trials(300, HARD, seed=1, archs=300), HARD)
    write_run(samples / "ppo-soft.db", make_trials(120, SOFT, seed=2, archs=120), SOFT)
    best = read_trials(samples / "ppo-hard.db").sort_values(
        ["reward", "trial"], ascending=[False, True])
    with running_app(runs, samples, tmp_path / "app.log") as url, \
            chromium_page(width=1400) as (page, errors):
        page.goto(f"{url}/compare")
        wait_idle(page)
        expect(page.get_by_text("No models yet")).to_be_visible()
        add = page.get_by_role("button", name="Add", exact=True)
        add.click()  # the largest run's best trial, the picker's first choice
        wait_idle(page)
        pick(page, "Trial (best reward first)")
        page.get_by_role("option").nth(1).click()  # its second best
        wait_idle(page)
        add.click()
        wait_idle(page)
        page.get_by_text("Zoo model", exact=True).click()  # the segmented control
        wait_idle(page)
        pick(page, "Zoo model")
        page.get_by_role("option", name="mnasnet_a1", exact=True).click()
        wait_idle(page)
        add.click()
        wait_idle(page)
        expect(page.get_by_text("Blocks, aligned.")).to_be_visible()
        expect(page.locator(".js-plotly-plot", has_text="Cost per block")).to_have_count(1)
        assert tables_too_wide(page, 2) == []  # the figures and the aligned blocks fit
        page.mouse.move(0, 0)
        screenshot_full(page, tmp_path / "compare.png", width=1400)
        SHOTS.mkdir(exist_ok=True)
        shutil.copy(tmp_path / "compare.png", SHOTS / "7-compare.png")
        with page.expect_download() as got:
            page.get_by_role("button", name="Download CSV").click()
        text = Path(got.value.path()).read_text()
        assert not errors, errors

    table, aligned, strings = (pd.read_csv(io.StringIO(part)) for part in text.split("\n\n"))
    assert list(table.model) == [f"ppo-hard #{int(t)}" for t in best.trial[:2]] + ["mnasnet_a1"]
    assert table["accuracy %"].iloc[2] == 75.2 and pd.isna(table.reward.iloc[2])
    assert table.reward.iloc[:2].notna().all()
    assert len(aligned) == 3 and "block 1" in aligned.columns
    assert parse_arch(strings["block string"].iloc[2]).blocks  # what rebuilds each model
