"""The LatencySource contract (mnas_core/latency/base.py), run against every implementation.

To add a source (e.g. the phone), write a factory `def make_x(tmp_path) -> LatencySource` and
add ONE line to FACTORIES: `pytest.param(make_x, id="x")`. Each factory gets a fresh temporary
directory for its database and should configure the source to be fast (tiny runs).
"""
from __future__ import annotations

import pytest

from mnas_core.latency import LatencyResult, make_source

from ..phone.factory import make_phone
from .helpers import FAST, TINY


def make_measured(tmp_path):
    return make_source("measured", db_path=str(tmp_path / "lat.db"), **FAST)


def make_measured_torchscript(tmp_path):
    return make_source("measured", db_path=str(tmp_path / "lat.db"),
                       **{**FAST, "backend": "torchscript"})


def make_measured_paired(tmp_path):
    return make_source("measured", db_path=str(tmp_path / "lat.db"),
                       **{**FAST, "reference": "mobilenet_v2_x0.35"})


def make_predicted(tmp_path):
    return make_source("predicted", db_path=str(tmp_path / "lat.db"), backend="eager",
                       layer_warmup=1, layer_runs=2, layer_blocks=1)


FACTORIES = [
    pytest.param(make_measured, id="measured-eager"),
    pytest.param(make_measured_torchscript, id="measured-torchscript"),
    pytest.param(make_measured_paired, id="measured-paired"),
    pytest.param(make_predicted, id="predicted"),
    pytest.param(make_phone, id="phone"),
]


@pytest.fixture(params=FACTORIES)
def source(request, tmp_path):
    return request.param(tmp_path)


def test_latency_returns_a_tagged_result(source):
    r = source.latency(TINY)
    assert isinstance(r, LatencyResult)
    assert r.ms > 0 and r.source == source.name and r.fingerprint == source.fingerprint()
    assert r.source in ("measured", "predicted", "phone") and r.backend
    assert isinstance(r.noisy, bool) and set(r.to_dict()) >= {"ms", "source", "fingerprint"}
    if r.runs:
        assert r.p10 <= r.ms <= r.p90 and r.cv >= 0


def test_second_call_is_cached_or_identical(source):
    first, second = source.latency(TINY), source.latency(TINY)
    assert second.ms == first.ms
    assert second.cached or not first.runs  # measuring sources must cache


def test_fingerprint_is_cheap_stable_and_side_effect_free(tmp_path, source):
    before = sorted(p.name for p in tmp_path.iterdir())
    assert source.fingerprint() == source.fingerprint()
    assert isinstance(source.fingerprint(), str) and source.fingerprint()
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_architecture_that_cannot_run_is_a_value_error(source):
    with pytest.raises(ValueError, match="too small"):
        source.latency(TINY.replace(resolution=16))


def test_make_source_rejects_unknown_settings():
    with pytest.raises(ValueError, match="unknown setting"):
        make_source("measured", speed="fast")
    with pytest.raises(ValueError, match="unknown latency source"):
        make_source("guessed")
