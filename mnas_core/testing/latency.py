"""The LatencySource contract (and LayerTimer's, for a source that is one) from
mnas_core.latency.base as a pytest suite: subclass `LatencySourceContract` and define
`make_source(tmp_path)`."""
from __future__ import annotations

import json
import time

import pytest

from .. import zoo
from ..arch import Architecture
from ..latency.base import LatencyResult, LatencySource, LayerTimer
from ..latency.db import LatencyDB
from ..latency.fingerprint import fingerprint_id
from ..layers import expand_layers


def _check_timing(t) -> None:
    """The fields a LayerTimer's timing has (LayerTimer's docstring)."""
    assert t.ms > 0 and t.total_runs >= 1
    if t.p10 is not None and t.p90 is not None:
        assert t.p10 <= t.ms <= t.p90
    assert t.cv is None or t.cv >= 0
    json.dumps(t.summary())  # stored beside the figure


class LatencySourceContract:
    """Every clause of the LatencySource docstrings, and of LayerTimer's when the source is one,
    for the source `make_source` builds.

    `make_source(tmp_path)` returns a fresh source that keeps its database (and any files) in
    `tmp_path`, configured to be fast (few runs). `architecture()` is what it is asked to time:
    a small network, so that a measurement takes milliseconds."""

    def make_source(self, tmp_path) -> LatencySource:
        raise NotImplementedError("a LatencySourceContract subclass defines make_source(tmp_path)")

    def architecture(self) -> Architecture:
        return zoo.get("mnasnet_a1_x0.35", resolution=64, num_classes=10)

    @pytest.fixture
    def source(self, tmp_path):
        return self.make_source(tmp_path)

    # ------------------------------------------------------------ the interface
    def test_is_a_latency_source_with_a_name(self, source):
        assert isinstance(source, LatencySource), \
            f"{type(source).__name__} does not subclass LatencySource"
        assert isinstance(source.name, str) and source.name

    def test_open_returns_the_source_and_may_be_called_again(self, source):
        assert source.open() is source and source.open() is source
        assert source.latency(self.architecture()).ms > 0

    def test_close_leaves_nothing_open_and_a_later_figure_reopens(self, tmp_path, source):
        source.close()  # before any figure: harmless
        first = source.open().latency(self.architecture()).ms
        source.close()
        source.close()
        left = [p.name for p in tmp_path.rglob("*") if p.name.endswith(("-wal", "-shm"))]
        assert not left, f"close() left {left} beside the database"
        assert source.open().latency(self.architecture()).ms == first  # the stored figure
        source.close()

    # ------------------------------------------------------------ fingerprint
    def test_fingerprint_is_stable_cheap_and_writes_nothing(self, tmp_path, source):
        before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
        first = source.fingerprint()  # before any latency: the search and the table need it so
        assert isinstance(first, str) and first
        start = time.perf_counter()
        assert all(source.fingerprint() == first for _ in range(20))
        took = time.perf_counter() - start
        assert took < 2.0, f"20 repeated fingerprint() calls took {took:.2f} s: not I/O-free"
        assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before

    # ------------------------------------------------------------ latency
    def test_latency_returns_a_tagged_result(self, source):
        r = source.latency(self.architecture())
        assert isinstance(r, LatencyResult)
        assert r.ms > 0 and r.source == source.name and r.fingerprint == source.fingerprint()
        assert isinstance(r.backend, str) and r.backend
        assert isinstance(r.noisy, bool) and isinstance(r.runs, int) and r.runs >= 0
        if r.runs:
            assert r.p10 <= r.ms <= r.p90 and r.cv >= 0
        else:
            assert not r.noisy, "a prediction (runs = 0) is never noisy"
        assert set(r.to_dict()) >= {"ms", "source", "fingerprint"}

    def test_asking_again_gives_the_same_figure(self, source):
        arch = self.architecture()
        first, second = source.latency(arch), source.latency(arch)
        assert second.ms == first.ms
        assert second.cached or not first.runs, "a source that measures caches its figures"

    def test_an_architecture_that_cannot_run_is_a_value_error(self, source):
        with pytest.raises(ValueError) as err:  # 16 px is too small for five stride-2 stages
            source.latency(self.architecture().replace(resolution=16))
        assert str(err.value).strip()

    # ------------------------------------------------------------ LayerTimer
    def _timer(self, source) -> LayerTimer:
        if not isinstance(source, LayerTimer):
            pytest.skip(f"{type(source).__name__} is not a LayerTimer")
        return source

    def test_a_timer_says_what_its_fingerprint_stands_for(self, source):
        timer = self._timer(source)
        info = timer.fingerprint_info()
        assert isinstance(info, dict) and info == timer.fingerprint_info()
        json.dumps(info)  # stored with the table
        assert fingerprint_id(info) == timer.fingerprint()
        assert isinstance(timer.db, LatencyDB)

    def test_a_timer_times_a_layer_and_the_call_overhead_without_storing(self, source):
        timer = self._timer(source)
        fp = timer.fingerprint()
        stored = (timer.db.get_layers(fp), timer.db.measurements())
        _check_timing(timer.measure_layer(expand_layers(self.architecture())[0]))
        _check_timing(timer.measure_call_overhead())
        assert (timer.db.get_layers(fp), timer.db.measurements()) == stored
