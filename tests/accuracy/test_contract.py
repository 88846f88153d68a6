"""The shipped AccuracySource contract (mnas_core.testing.accuracy) over every registered source.

To add a source, write a factory `def make_x(tmp_path) -> AccuracySource` and add ONE line to
FACTORIES. Each factory should configure its source to be fast."""
from __future__ import annotations

import pytest

from mnas_core.accuracy import make_accuracy_source
from mnas_core.registry import ACCURACY_SOURCES
from mnas_core.testing.accuracy import AccuracySourceContract


def make_trained(tmp_path):
    from mnas_core.accuracy.trained import TrainedAccuracy, TrainedConfig
    from mnas_core.data import DataConfig
    from mnas_core.train import TrainConfig
    return TrainedAccuracy(TrainedConfig(DataConfig(), TrainConfig(steps=4, bn_recalibrate=0,
                                                                   threads=1)))


def make_estimated(tmp_path):
    return make_accuracy_source("estimated")


FACTORIES = [
    pytest.param(make_trained, id="trained"),
    pytest.param(make_estimated, id="estimated"),
]


def test_every_registered_source_has_a_factory():
    # "predicted" is checked in tests/accuracy/test_predicted.py with a predictor it fits
    assert {p.id for p in FACTORIES} | {"predicted"} == set(ACCURACY_SOURCES)


class TestRegisteredSources(AccuracySourceContract):
    @pytest.fixture(autouse=True, params=FACTORIES)
    def registered(self, request):
        self.factory = request.param

    def make_source(self, tmp_path):
        return self.factory(tmp_path)
