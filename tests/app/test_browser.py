"""The app in a real browser: Debian's chromium driven by Playwright (never a downloaded
browser). Starts `mnas app` on a free loopback port, screenshots every page at 1400 px (kept
under /tmp/mnas-shots/ for review), checks that no table there scrolls sideways, and runs a
tiny search from the form until its Pareto chart shows trials."""
from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from mnas_core.space import BlockOptions, SearchSpace
from tests.app.browser import (CHROMIUM, SHOTS, chromium_page, running_app,
                               screenshot_full, tables_too_wide, wait_idle)
from tests.app.conftest import HARD, SOFT
from tests.app.rundata import make_trials, write_run

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                 reason="needs Debian's chromium (apt-get install chromium)")]


def _stop_searches(runs: Path) -> None:
    from mnas_core.background import stop_search
    from mnas_core.store import read_meta
    for path in runs.glob("*.db"):
        stop_search(path)
        deadline = time.monotonic() + 30
        while read_meta(path)["status"] == "running" and time.monotonic() < deadline:
            time.sleep(0.5)


@pytest.mark.timeout(600)
def test_every_page_and_a_tiny_search_in_chromium(tmp_path):
    from playwright.sync_api import expect
    runs, samples, shots = tmp_path / "runs", tmp_path / "samples", tmp_path / "shots"
    for d in (runs, samples, shots):
        d.mkdir()
    write_run(samples / "ppo-hard.db", make_trials(300, HARD, seed=1, archs=300), HARD)
    write_run(samples / "ppo-soft.db", make_trials(300, SOFT, seed=2, archs=300), SOFT)

    def shot(page, name, tables=0):
        """Screenshot the page; its `tables` data tables must fit the window."""
        if tables:
            assert tables_too_wide(page, tables) == [], f"{name}: a table is cut off"
        page.mouse.move(0, 0)  # no hover tooltips in the pictures
        screenshot_full(page, shots / f"{name}.png")

    try:
        with running_app(runs, samples, tmp_path / "app.log") as url, \
                chromium_page() as (page, errors):
            page.goto(url)
            wait_idle(page)
            expect(page.get_by_role("heading", name="Search space")).to_be_visible()
            page.get_by_role("button", name="Sample a random architecture").click()
            wait_idle(page)
            expect(page.locator(".js-plotly-plot")).to_have_count(2)
            shot(page, "1-search-space", tables=1)
            # Save and load the space as JSON through the real download and upload widgets.
            with page.expect_download() as saved:
                page.get_by_role("button", name="Save space as JSON").click()
            space = SearchSpace.from_json(Path(saved.value.path()).read_text())
            assert space == SearchSpace()
            edited = space.replace(blocks=(BlockOptions(kernels=(3,)), *space.blocks[1:]))
            (tmp_path / "space.json").write_text(edited.to_json())
            page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(
                str(tmp_path / "space.json"))
            wait_idle(page)
            expect(page.get_by_text("10^18.15")).to_be_visible()

            page.goto(f"{url}/reward")
            wait_idle(page)
            page.get_by_role("button", name="Hard constraint").click()
            wait_idle(page)
            expect(page.get_by_text("Winner now")).to_be_visible()
            shot(page, "2-reward-explorer", tables=1)
            # Through the sidebar (same session): the chosen reward survives the round trip.
            page.get_by_role("link", name="Model inspector").click()
            wait_idle(page)
            page.get_by_role("link", name="Reward explorer").click()
            wait_idle(page)
            expect(page.get_by_text("Current: hard reward")).to_be_visible()

            page.goto(f"{url}/results")
            wait_idle(page)
            expect(page.locator(".js-plotly-plot")).to_have_count(3)
            shot(page, "4-results", tables=5)

            page.goto(f"{url}/inspector")
            wait_idle(page)
            expect(page.get_by_text("MBConv3 (k5x5), SE")).to_be_visible()
            shot(page, "5-model-inspector", tables=1)

            page.goto(f"{url}/phone")
            wait_idle(page)
            shot(page, "6-phone")

            page.goto(f"{url}/instant")
            wait_idle(page)
            shot(page, "8-instant-search")

            # A tiny search from the form: 2 trials on 200 digits, fixed T (no calibration).
            page.goto(f"{url}/search")
            wait_idle(page)
            shot(page, "3-run-a-search-form")
            fields = {"Run name": "browser-tiny", "Trials": "2",
                      "Batch (models per controller step)": "2",
                      "Training images (0 = all)": "200", "Epochs per candidate": "0.2",
                      "Workers": "1", "Target T in ms (0 = auto)": "10"}
            for label, value in fields.items():
                box = page.get_by_label(label, exact=True)
                box.fill(value)
                box.press("Tab")
            page.get_by_role("button", name="Start search").click()
            wait_idle(page)
            # Live refresh draws the trials as they finish: wait for a point on the scatter.
            page.locator(".js-plotly-plot .scatterlayer .point").first.wait_for(
                state="attached", timeout=300_000)
            assert (runs / "browser-tiny.db").exists()
            page.wait_for_timeout(1500)
            shot(page, "3-run-a-search-live")
            assert not errors, errors
    finally:
        _stop_searches(runs)
        SHOTS.mkdir(exist_ok=True)
        for png in shots.glob("*.png"):
            shutil.copy(png, SHOTS / png.name)
