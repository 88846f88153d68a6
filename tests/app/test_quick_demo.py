"""The teacher's task in a real browser: press Quick demo, see the phase line within 2 s and
then the first result on the live chart, also in a second tab (issue 16; benchmarks/
quick_demo.py measures its time on an idle machine). The search is stopped afterwards."""
from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from tests.app.browser import CHROMIUM, SHOTS, chromium_page, running_app, wait_idle


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.skipif(not Path(CHROMIUM).exists(),
                    reason="needs Debian's chromium (apt-get install chromium)")
def test_the_teacher_starts_the_quick_demo_and_sees_what_it_does(tmp_path, monkeypatch):
    from playwright.sync_api import expect

    from mnas_core.background import stop_search
    from mnas_core.store import read_meta

    monkeypatch.setenv("MNAS_HOME", str(tmp_path / "home"))  # an empty latency database
    runs, samples = tmp_path / "runs", tmp_path / "samples"
    for d in (runs, samples):
        d.mkdir()
    with running_app(runs, samples, tmp_path / "app.log") as url, \
            chromium_page(width=1400) as (page, errors):
        try:
            page.goto(f"{url}/search")
            wait_idle(page)
            page.get_by_role("button", name="Quick demo").click()
            clicked = time.monotonic()
            expect(page.get_by_text("Now:")).to_be_visible(timeout=2_000)  # within 2 s
            # The first point on the live scatter: the first finished trial.
            page.locator(".js-plotly-plot .scatterlayer .point").first.wait_for(
                state="attached", timeout=120_000)
            first = time.monotonic() - clicked
            page.wait_for_timeout(1000)
            page.mouse.move(0, 0)
            SHOTS.mkdir(exist_ok=True)
            page.screenshot(path=str(tmp_path / "demo.png"))
            shutil.copy(tmp_path / "demo.png", SHOTS / "3-quick-demo.png")
            line = page.locator("p", has=page.get_by_text("Now:", exact=True))
            expect(line).to_contain_text("batch")  # by now the loop's own phase
            # A second tab on the running search draws the same live chart (it once stayed
            # an empty white area).
            other = page.context.browser.new_page(viewport={"width": 1400, "height": 1000})
            other.goto(f"{url}/search")
            wait_idle(other)
            other.locator(".js-plotly-plot .scatterlayer .point").first.wait_for(
                state="attached", timeout=30_000)
            other.close()
            assert not errors, errors
        finally:
            for run in runs.glob("*.db"):
                if read_meta(run)["status"] == "running":
                    stop_search(run)
    # The 30 s target is measured by benchmarks/quick_demo.py (20.7 s from the spawn on the
    # idle machine); here the app and chromium share the 2 cores, so this only prints it.
    print(f"quick demo: first result {first:.1f} s after the click")
