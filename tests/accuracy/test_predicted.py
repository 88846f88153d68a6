"""The `predicted` accuracy source: the shipped contract with a predictor fitted on run files,
one predict call per batch, and a resumed run that refuses a changed predictor file."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from mnas_core import zoo
from mnas_core.accuracy import make_accuracy_source
from mnas_core.accuracy.predicted import PredictedAccuracy, PredictedConfig
from mnas_core.accuracy.predictor import Predictor, file_sha256, fit
from mnas_core.reward import RewardConfig
from mnas_core.testing.accuracy import AccuracySourceContract

from .test_predictor import DIGITS, _archs, make_run


@pytest.fixture(scope="module")
def predictor_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("predictor")
    p = fit([make_run(folder / "a.db", 60, seed=1), make_run(folder / "b.db", 40, seed=2)])
    p.save(folder / "p.json")
    return folder / "p.json"


class TestPredictedContract(AccuracySourceContract):
    @pytest.fixture(autouse=True)
    def _file(self, predictor_file):
        self.file = predictor_file

    def make_source(self, tmp_path):
        path = tmp_path / "predictor.json"
        shutil.copy(self.file, path)
        return PredictedAccuracy(PredictedConfig(str(path)))


def test_the_registry_builds_it_from_a_run_s_options(predictor_file):
    s = make_accuracy_source("predicted", {"path": str(predictor_file)}).open()
    assert isinstance(s, PredictedAccuracy) and s.task() == DIGITS
    assert s.sha256 == file_sha256(predictor_file)
    with pytest.raises(ValueError, match="missing field.*path"):
        make_accuracy_source("predicted", {})


def test_describe_says_what_it_rests_on_and_that_it_is_not_a_measurement(predictor_file):
    p = Predictor.load(predictor_file)
    text = PredictedAccuracy(PredictedConfig(str(predictor_file))).describe()
    assert text.startswith("predicted by ") and text.endswith("not a measurement")
    assert "fitted on 100 digits trainings from 2 runs (budget 3 steps)" in text
    assert f"held-out Spearman {p.scores[p.kind]['spearman']:.2f}" in text
    assert f"MACs alone {p.scores['macs_fit']['spearman']:.2f}" in text


def test_a_resumed_run_refuses_a_predictor_file_that_changed(predictor_file, tmp_path):
    path = tmp_path / "p.json"
    shutil.copy(predictor_file, path)
    digest = file_sha256(path)
    PredictedAccuracy(PredictedConfig(str(path), sha256=digest)).open()  # unchanged: fine
    path.write_text(path.read_text().replace('"seed": 0', '"seed": 1'))
    with pytest.raises(ValueError, match="not the predictor this run was started with"):
        PredictedAccuracy(PredictedConfig(str(path), sha256=digest)).open()


def test_a_missing_or_foreign_file_fails_at_open(tmp_path):
    with pytest.raises(ValueError, match="no predictor file"):
        PredictedAccuracy(PredictedConfig(str(tmp_path / "none.json"))).open()
    (tmp_path / "x.json").write_text('{"hello": 1}')
    with pytest.raises(ValueError, match="x.json: not an MNAS Explorer accuracy predictor"):
        PredictedAccuracy(PredictedConfig(str(tmp_path / "x.json"))).open()
    with pytest.raises(ValueError, match="needs the path"):
        PredictedConfig("")


def test_evaluate_answers_a_batch_with_one_prediction(predictor_file, monkeypatch):
    s = PredictedAccuracy(PredictedConfig(str(predictor_file))).open()
    archs = _archs(64, seed=21)
    calls = []
    real = Predictor.predict
    monkeypatch.setattr(Predictor, "predict", lambda self, a: calls.append(len(a)) or
                        real(self, a))
    bad = archs[3].replace(resolution=32)
    got = dict(s.evaluate(archs[:3] + [bad] + archs[3:]))
    assert calls == [64]
    assert "another task: resolution 32" in got[3]
    top1 = np.array([got[i].top1 for i in range(65) if i != 3])
    assert np.array_equal(top1, real(s.predictor, archs))
    assert all(got[i].source == "predicted" and got[i].top5 is None for i in got if i != 3)


def test_a_network_the_features_refuse_fails_alone(predictor_file):
    s = PredictedAccuracy(PredictedConfig(str(predictor_file))).open()
    archs = _archs(4, seed=22)
    short = zoo.get("mobilenet_v2", **DIGITS)
    short = short.replace(blocks=short.blocks[:5])  # a 5-block network: no features for it
    got = dict(s.evaluate([archs[0], short, *archs[1:]]))
    assert "7-block networks" in got[1]
    assert all(got[i].top1 == s.accuracy(a).top1 for i, a in zip((0, 2, 3, 4), archs))
    with pytest.raises(ValueError, match="7-block"):
        s.accuracy(short)


def test_a_new_predicted_run_records_its_predictor_and_its_resume_refuses_another(
        predictor_file, tmp_path):
    from mnas_core.search import (AccuracySetup, LatencySetup, SearchConfig, load_config,
                                  run_search, start_run)
    from mnas_core.store import RunStore, read_trials

    path = tmp_path / "p.json"
    shutil.copy(predictor_file, path)
    cfg = SearchConfig(strategy="random", trials=8, batch_size=4, reward=RewardConfig(10.0),
                       accuracy=AccuracySetup("predicted", {"path": str(path)}),
                       latency=LatencySetup("predicted", options={
                           "db_path": str(tmp_path / "lat.db"), "backend": "eager",
                           "layer_warmup": 1, "layer_runs": 1, "layer_blocks": 1}))
    store = start_run(cfg, tmp_path / "run.db")
    assert load_config(tmp_path / "run.db").accuracy.options == {
        "path": str(path), "sha256": file_sha256(path)}
    try:
        run_search(store)
    finally:
        store.close()
    df = read_trials(tmp_path / "run.db")
    assert len(df) == cfg.trials and set(df.accuracy_source) == {"predicted"}
    assert df.train_budget.isna().all()  # no training budget: nothing was trained
    path.write_text(path.read_text().replace('"seed": 0', '"seed": 1'))
    again = RunStore(tmp_path / "run.db")
    try:
        with pytest.raises(ValueError, match="not the predictor this run was started with"):
            run_search(again)
    finally:
        again.close()
