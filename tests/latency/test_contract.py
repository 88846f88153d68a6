"""The shipped LatencySource contract (mnas_core.testing.latency) over every registered source,
in each of its setups.

To add a source, write a factory `def make_x(tmp_path) -> LatencySource` and add ONE line to
FACTORIES: `pytest.param(make_x, id="x")`. Each factory gets a fresh temporary directory for its
database and should configure the source to be fast (tiny runs).
"""
from __future__ import annotations

import pytest

from mnas_core.latency import make_source
from mnas_core.registry import LATENCY_SOURCES
from mnas_core.testing.latency import LatencySourceContract

from ..phone.factory import make_phone
from .helpers import FAST


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


def test_every_registered_source_has_a_factory():
    assert {p.id.partition("-")[0] for p in FACTORIES} == set(LATENCY_SOURCES)


class TestRegisteredSources(LatencySourceContract):
    @pytest.fixture(autouse=True, params=FACTORIES)
    def registered(self, request):
        self.factory = request.param

    def make_source(self, tmp_path):
        return self.factory(tmp_path)

    def test_builds_the_source_its_id_names(self, request, source):
        assert source.name == request.node.callspec.id.partition("-")[0]


def test_make_source_rejects_unknown_settings():
    with pytest.raises(ValueError, match=r"measured source: unknown field\(s\) 'speed'"):
        make_source("measured", speed="fast")
    with pytest.raises(ValueError, match="measured source: runs must be an integer"):
        make_source("measured", runs="many")
    with pytest.raises(ValueError, match="unknown latency source"):
        make_source("guessed")
