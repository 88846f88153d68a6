"""The student's task in a real browser: on the Reward explorer, move α with the keyboard and
see the ranking and the marked winner change to what eq. 2 says they are under the new α; then
send the new winner to Compare models (issue 16). The settle time is benchmarks/slider.py's."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.app.browser import (CHROMIUM, SHOTS, chromium_page, running_app, screenshot_full,
                               wait_idle)

RUN = Path(__file__).resolve().parents[2] / "sample_runs" / "random.db"
ALPHA = "α (exponent when LAT ≤ T)"


def _winner(alpha: float):
    """The trial eq. 2 ranks first on RUN under the soft reward's β and the run's own T."""
    from app import analysis
    from mnas_core.reward import RewardConfig
    from mnas_core.search import load_config
    from mnas_core.store import read_trials

    cfg = RewardConfig(load_config(RUN).reward.target_ms, round(alpha, 2), -0.07)
    return analysis.rerank(read_trials(RUN), cfg).iloc[0]


def _presses_until_a_new_winner(start: float = -0.07) -> int:
    """How many ArrowLeft presses (0.01 each) make eq. 2 pick another winner."""
    first = _winner(start)["trial"]
    for n in range(1, 94):
        if _winner(start - 0.01 * n)["trial"] != first:
            return n
    raise AssertionError("no α in [-1, -0.07] changes the winner of the recorded run")


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.skipif(not Path(CHROMIUM).exists(),
                    reason="needs Debian's chromium (apt-get install chromium)")
@pytest.mark.skipif(not RUN.is_file(), reason="needs the recorded sample_runs/random.db")
def test_the_student_moves_alpha_and_sees_the_new_winner(tmp_path):
    from playwright.sync_api import expect

    presses = _presses_until_a_new_winner()
    before, after = _winner(-0.07), _winner(-0.07 - 0.01 * presses)
    samples = tmp_path / "samples"
    samples.mkdir()
    shutil.copy(RUN, samples / RUN.name)
    with running_app(tmp_path / "runs", samples, tmp_path / "app.log") as url, \
            chromium_page(width=1400) as (page, errors):
        page.goto(f"{url}/reward")
        wait_idle(page)
        winner = page.get_by_test_id("stMetric").filter(has_text="Winner now")
        expect(winner).to_contain_text(f"trial {int(before['trial'])}", timeout=20_000)
        page.get_by_role("slider", name=ALPHA).focus()
        for _ in range(presses):
            page.keyboard.press("ArrowLeft")
            page.wait_for_timeout(60)
        expect(page.get_by_role("slider", name=ALPHA)).to_have_value(
            f"{-0.07 - 0.01 * presses:.2f}".rstrip("0"), timeout=20_000)
        expect(winner).to_contain_text(f"trial {int(after['trial'])}", timeout=20_000)
        wait_idle(page)
        # The star on the accuracy-latency chart sits on the new winner.
        star = page.evaluate("""() => { const d = document.querySelector(
            '.st-key-rw_pareto .js-plotly-plot')._fullData.find(t => t.name === 'winner');
            return [d.x[0], d.y[0]]; }""")
        assert star == pytest.approx([after["latency_ms"], 100 * after["accuracy"]])
        # The table's first row is the new winner, with its recorded rank beside it.
        table = page.locator(".st-key-rw_top")
        expect(table).to_be_visible()
        SHOTS.mkdir(exist_ok=True)
        screenshot_full(page, tmp_path / "reward.png", width=1400)
        shutil.copy(tmp_path / "reward.png", SHOTS / "2-reward-moved.png")
        # Select the first row (its checkbox cell at the left of the grid) and add it.
        table.scroll_into_view_if_needed()
        box = table.bounding_box()
        page.mouse.click(box["x"] + 12, box["y"] + 35 + 17)
        add = page.get_by_role("button", name="Add to the comparison")
        expect(add).to_be_enabled(timeout=10_000)
        add.click()
        expect(page.get_by_text(f"Added random #{int(after['trial'])} to the comparison."))\
            .to_be_visible(timeout=10_000)
        assert not errors, errors
