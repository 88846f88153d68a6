"""The AccuracySource contract (mnas_core.accuracy.base) as a pytest suite: subclass
`AccuracySourceContract` and define `make_source(tmp_path)`."""
from __future__ import annotations

import dataclasses
import json

import pytest

from .. import zoo
from ..accuracy.base import AccuracyResult, AccuracySource
from ..arch import Architecture
from ..registry import ACCURACY_SOURCES

TASK_FIELDS = {"in_chans", "num_classes", "resolution", "small_input"}


class AccuracySourceContract:
    """Every clause of the AccuracySource docstrings, for the source `make_source` builds.

    `make_source(tmp_path)` returns a fresh, unopened source that keeps any files in
    `tmp_path`, configured to be fast (a training of a few steps). `architectures(source)`
    are what it is asked to score: small networks of its task."""

    def make_source(self, tmp_path) -> AccuracySource:
        raise NotImplementedError("an AccuracySourceContract subclass defines make_source")

    def architectures(self, source: AccuracySource) -> list[Architecture]:
        task = source.task()
        return [zoo.get(name).replace(**task)
                for name in ("mnasnet_a1_x0.35", "mobilenet_v2_x0.35")]

    @pytest.fixture
    def source(self, tmp_path):
        s = self.make_source(tmp_path).open()
        yield s
        s.close()

    # ------------------------------------------------------------ the interface
    def test_is_a_registered_accuracy_source(self, source):
        assert isinstance(source, AccuracySource), \
            f"{type(source).__name__} does not subclass AccuracySource"
        assert source.name in ACCURACY_SOURCES
        assert source.measured is ACCURACY_SOURCES.get(source.name).info["measured"]

    def test_open_returns_the_source_close_is_harmless(self, tmp_path):
        s = self.make_source(tmp_path)
        s.close()  # before open
        assert s.open() is s and s.open() is s
        s.close()
        s.close()

    def test_what_it_pins_rebuilds_a_source_with_the_same_figures(self, tmp_path, source):
        pinned = source.pinned()
        assert isinstance(pinned, dict)
        json.dumps(pinned)
        config = getattr(source, "config", None)
        if pinned and config is not None:  # a config dataclass takes the pinned fields
            again = type(source)(dataclasses.replace(config, **pinned)).open()
            arch = self.architectures(source)[0]
            assert again.accuracy(arch).top1 == source.accuracy(arch).top1
            again.close()

    def test_describe_is_one_line_and_owns_up_to_a_stand_in(self, source):
        text = source.describe()
        assert isinstance(text, str) and text and "\n" not in text
        if not source.measured:
            assert "not a measurement" in text, text

    def test_task_names_the_input_a_candidate_is_built_for(self, source):
        task = source.task()
        assert set(task) == TASK_FIELDS, task
        assert task["resolution"] > 0 and task["num_classes"] > 1 and task["in_chans"] > 0
        json.dumps(task)
        zoo.get("mnasnet_a1").replace(**task)  # an Architecture accepts it

    # ------------------------------------------------------------ accuracy
    def test_a_figure_is_a_fraction_that_says_where_it_came_from(self, source):
        for arch in self.architectures(source):
            r = source.accuracy(arch)
            assert isinstance(r, AccuracyResult)
            assert 0.0 <= r.top1 <= 1.0 and r.source == source.name
            assert r.top5 is None or r.top1 <= r.top5 <= 1.0
            assert r.seconds >= 0
            json.dumps(r.to_dict())  # stored with the trial

    def test_the_same_architecture_gets_the_same_figure(self, source):
        arch = self.architectures(source)[0]
        assert source.accuracy(arch).top1 == source.accuracy(arch).top1

    def test_an_architecture_of_another_task_is_a_value_error(self, source):
        arch = self.architectures(source)[0]
        other = arch.replace(num_classes=arch.num_classes + 3)
        with pytest.raises(ValueError):
            source.accuracy(other)

    # ------------------------------------------------------------ evaluate
    def test_evaluate_yields_every_index_once_with_the_figure_accuracy_gives(self, source):
        archs = self.architectures(source)
        bad = archs[0].replace(num_classes=archs[0].num_classes + 3)
        batch = [archs[0], bad, *archs[1:]]
        got = dict(source.evaluate(batch))
        assert sorted(got) == list(range(len(batch)))
        assert isinstance(got[1], str) and got[1]  # the failure, named
        for i, arch in enumerate(batch):
            if i != 1:
                assert isinstance(got[i], AccuracyResult)
                assert got[i].top1 == source.accuracy(arch).top1
