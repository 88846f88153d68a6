"""The Instant search page: through AppTest (a small search, then the other preset next to it,
and a first run that builds the lookup table), and in a real Chromium (tests/app/browser.py).

The searches are real (run_search, a real run file, the shipped predictor); the latency
table is real too, timed on this CPU, for a small space (TINY: 128 architectures, ~27 layer
configurations) so that a test builds it in seconds."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mnas_core.space import BlockOptions, SearchSpace
from tests.app.browser import (CHROMIUM, SHOTS, chromium_page, running_app,
                               screenshot_full, wait_idle)
from tests.app.conftest import page_app

_ONE = dict(kernels=(3,), se_ratios=(0.0,), skips=("identity",), filter_mults=(1.0,),
            layer_deltas=(0,))
# Seven blocks, two ops each (the first sepconv or MBConv3, the others MBConv3 or MBConv6).
TINY = SearchSpace(blocks=(BlockOptions(ops=("sepconv", "mbconv3"), **_ONE),
                           *(BlockOptions(ops=("mbconv3", "mbconv6"), **_ONE)
                             for _ in range(6))))
# One architecture: MBConv3 k3 everywhere.
ONE = TINY.replace(blocks=tuple(BlockOptions(ops=("mbconv3",), **_ONE) for _ in range(7)))


@pytest.fixture(scope="module")
def tiny_table(tmp_path_factory):
    """(MNAS_HOME, T): a lookup table for every layer of TINY, timed in this process (its
    fingerprint is this process's), and a T between its fastest and slowest network."""
    import numpy as np

    from mnas_core.search import LatencySetup

    home = tmp_path_factory.mktemp("mnas_home")
    setup = LatencySetup("predicted", options={"db_path": str(home / "latency.db")})
    lut = setup.make_source()
    rng = np.random.default_rng(0)
    archs = [setup.deployed(TINY.sample(rng)) for _ in range(300)]
    lut.build(archs, progress=False)
    assert not lut.missing(archs)
    ms = [lut.latency(a).ms for a in archs]
    lut.timer.close()
    return home, round(float(np.median(ms)), 2)


def _ok(at):
    assert not at.exception, [e.value for e in at.exception]
    return at


def _button(at, label):
    return next(b for b in at.button if b.label.startswith(label))


def _number(at, label):
    return next(n for n in at.number_input if n.label.startswith(label))


def _values(x) -> list:
    """A plotly JSON array: a list, or a typed array ({"dtype", "bdata"}) as plotly writes
    numpy data."""
    if isinstance(x, dict):
        import base64

        import numpy as np
        return np.frombuffer(base64.b64decode(x["bdata"]), dtype=x["dtype"]).tolist()
    return list(x)


def _figures(at) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def _histograms(at) -> dict:
    return next(f for f in _figures(at)
                if "Latency of the sampled models" in f["layout"]["title"]["text"])


def test_instant_search_hard_then_soft_side_by_side(tiny_table, tmp_path, monkeypatch):
    home, target = tiny_table
    monkeypatch.setenv("MNAS_HOME", str(home))
    runs = tmp_path / "runs"
    at = page_app("instant", runs, timeout=120)
    at.session_state["space"] = TINY  # as the Search space page leaves an edited space
    _ok(at.run())
    at.radio(key="in_preset").set_value("hard")
    _ok(at.run())
    _number(at, "Trials").set_value(128)
    _number(at, "Target T").set_value(target)
    _ok(_button(at, "Run").click().run())
    done = at.success[0].value
    assert "**hard**: 128 trials" in done and "first samples were on screen" in done
    _ok(_button(at, "Run soft next to it").click().run())

    fig = _histograms(at)
    hists = [t for t in fig["data"] if t["type"] == "histogram"]
    assert len(hists) == 2 and all(len(_values(t["x"])) == 128 for t in hists)
    lay = fig["layout"]
    assert lay["xaxis"]["range"] == lay["xaxis2"]["range"] and lay["xaxis2"]["matches"] == "x"
    assert hists[0]["xbins"] == hists[1]["xbins"]  # one bin width on both panels
    lo, hi = lay["xaxis"]["range"]
    assert all(lo <= x <= hi for t in hists for x in _values(t["x"])) and lo < target < hi
    assert [a["text"].split(" · ")[0] for a in lay["annotations"][:2]] == ["hard", "soft"]
    # Every chart says it is predicted, with the predictor's own description.
    from mnas_core.accuracy.predicted import PredictedAccuracy, PredictedConfig
    from app.views.instant import SHIPPED
    said = PredictedAccuracy(PredictedConfig(str(SHIPPED))).describe()
    assert "held-out Spearman" in said
    for f in _figures(at):
        sub = f["layout"]["title"]["subtitle"]["text"].replace("<br>", " ")
        assert "Latency predicted, not measured" in sub
        if "Latency of the sampled" not in f["layout"]["title"]["text"]:
            assert said in sub
    # Both runs are ordinary run files, with the reward and T they were searched under.
    from mnas_core.search import load_config
    files = sorted(runs.glob("instant-*.db"))
    assert [p.name.split("-")[1] for p in files] == ["hard", "soft"]
    confs = [load_config(p) for p in files]
    assert [c.reward.kind for c in confs] == ["hard", "soft"]
    assert {c.reward.target_ms for c in confs} == {target}
    assert {c.accuracy.source for c in confs} == {"predicted"}


def test_first_instant_search_builds_the_table(tmp_path, monkeypatch):
    """A fresh machine: no table. The page times the layers of the space first (with its
    progress), says so, and then searches on that table."""
    monkeypatch.setenv("MNAS_HOME", str(tmp_path / "home"))
    at = page_app("instant", tmp_path / "runs", timeout=120)
    at.session_state["space"] = ONE
    _ok(at.run())
    at.radio(key="in_acc").set_value("estimated")
    _ok(at.run())
    at.selectbox[0].set_value("random")
    _number(at, "Trials").set_value(16)
    _number(at, "Batch").set_value(8)
    _number(at, "Target T").set_value(5.0)
    _ok(_button(at, "Run").click().run())
    done = at.success[0].value
    assert "16 trials" in done and "(timed " in done and " layers in " in done
    from mnas_core.search import LatencySetup, load_config
    lut = LatencySetup("predicted").make_source()
    arch = LatencySetup().deployed(ONE.decode([0] * 42))
    assert len(lut.table()) > len(lut.missing([arch])) == 0  # built, and only now
    lut.timer.close()
    (path,) = (tmp_path / "runs").glob("instant-soft-random-*.db")
    conf = load_config(path)
    assert (conf.strategy, conf.accuracy.source, conf.reward.target_ms) == \
        ("random", "estimated", 5.0)
    assert "estimated ImageNet top-1, not a measurement" in json.dumps(_figures(at))
    assert len(_values(_histograms(at)["data"][0]["x"])) == 16


def _build_table_like_the_app(home: Path, space_json: Path) -> None:
    """TINY's layers and MobileNetV2's (T = auto) timed by `mnas latency build-table` in a
    process with the app's environment (the malloc setting is part of the fingerprint)."""
    import os
    import subprocess
    import sys

    from mnas_core.runtime import tuned_env
    subprocess.run([sys.executable, "-m", "mnas_core", "latency", "build-table", "mobilenet_v2",
                    "--sample", "300", "--space", str(space_json), "--calibrate", "0"],
                   env={**tuned_env(), "MNAS_HOME": str(home)}, check=True, timeout=240,
                   stdout=subprocess.DEVNULL, cwd=os.getcwd())


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.skipif(not Path(CHROMIUM).exists(),
                    reason="needs Debian's chromium (apt-get install chromium)")
def test_instant_search_in_chromium(tmp_path, monkeypatch):
    """The app as `mnas app` starts it, with a table for TINY: load TINY on the Search space
    page, run hard with T = auto, then soft next to it; both histograms drawn."""
    from playwright.sync_api import expect

    monkeypatch.setenv("MNAS_HOME", str(tmp_path / "home"))
    runs, samples = tmp_path / "runs", tmp_path / "samples"
    for d in (runs, samples):
        d.mkdir()
    (tmp_path / "tiny.json").write_text(TINY.to_json())
    _build_table_like_the_app(tmp_path / "home", tmp_path / "tiny.json")
    with running_app(runs, samples, tmp_path / "app.log") as url, \
            chromium_page() as (page, errors):
        page.goto(url)
        wait_idle(page)
        page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(
            str(tmp_path / "tiny.json"))
        wait_idle(page)
        page.get_by_role("link", name="Instant search").click()  # same session: the space
        wait_idle(page)
        page.locator('[data-testid="stRadio"]').get_by_text("hard", exact=True).click()
        wait_idle(page)
        box = page.get_by_label("Trials", exact=True)
        box.fill("256")
        box.press("Tab")
        page.get_by_role("button", name="Run", exact=True).click()
        page.get_by_role("button", name="Run soft next to it").click(timeout=120_000)
        expect(page.get_by_text("Searching:")).to_be_visible(timeout=20_000)  # the phase line
        page.mouse.move(0, 0)
        SHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SHOTS / "instant-live.png"))  # mid-run, for a look
        expect(page.get_by_text("soft: 256 trials")).to_be_visible(timeout=120_000)
        wait_idle(page)
        hist = page.locator(".js-plotly-plot", has_text="Latency of the sampled models")
        expect(hist.locator(".bars .point path")).not_to_have_count(0)
        page.mouse.move(0, 0)
        screenshot_full(page, tmp_path / "instant.png")
        shutil.copy(tmp_path / "instant.png", SHOTS / "instant.png")
        titles = hist.locator(".annotation-text").all_text_contents()  # SVG: no innerText
        assert any(t.startswith("hard") for t in titles), titles
        assert any(t.startswith("soft") for t in titles), titles
        from mnas_core.search import load_config
        confs = [load_config(p) for p in sorted(runs.glob("instant-*.db"))]
        assert [c.reward.kind for c in confs] == ["hard", "soft"]
        assert len({c.reward.target_ms for c in confs}) == 1  # one T (MobileNetV2's) for both
        assert not errors, errors
