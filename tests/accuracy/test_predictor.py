"""The accuracy predictor (mnas_core.accuracy.predictor): fitted on run files written by the
real run store, scored out of fold, saved as JSON that loads without running code."""
from __future__ import annotations

import json
import pickle
import subprocess
import sys

import numpy as np
import pytest

from mnas_core.accuracy.features import features
from mnas_core.accuracy.predictor import (MIN_TRIALS, FitConfig, Predictor, cross_validate,
                                          fit, fit_ridge, fit_trees, folds, rank_scores)
from mnas_core.data import DataConfig
from mnas_core.search import SearchConfig
from mnas_core.space import SearchSpace
from mnas_core.store import RunStore, TrialStatus
from mnas_core.train import TrainConfig

DIGITS = dict(resolution=16, in_chans=1, num_classes=10, small_input=True)


def signal(arch) -> float:
    """A made-up accuracy that depends on the design, not on size: SE and skips help."""
    live = [b for b in arch.blocks if b.repeats]
    return 0.3 + 0.07 * sum(b.se_ratio > 0 for b in live) + 0.04 * sum(
        b.skip == "identity" for b in live)


def make_run(path, n=60, seed=0, accuracy=signal, train=None, data=None, space=None,
             source=None, noise=0.01):
    """A closed run file of `n` ok trials, written with RunStore as a search writes it, with
    accuracy(arch) + noise as their accuracy (seeded)."""
    rng = np.random.default_rng(seed)
    space = space or SearchSpace(**DIGITS)
    cfg = SearchConfig(strategy="random", trials=n, dataset=data or DataConfig(),
                       train=train or TrainConfig(steps=3), executor="inprocess")
    store = RunStore.create(path, cfg.to_dict())
    archs = [space.sample(rng) for _ in range(n)]
    ids = store.add_pending(1, [{"arch": a.to_string(), "tokens": "[]"} for a in archs], {})
    for i, arch in zip(ids, archs):
        fields = {"status": TrialStatus.OK,
                  "accuracy": float(np.clip(accuracy(arch) + rng.normal(0, noise), 0, 1))}
        if source:
            fields["accuracy_source"] = source
        store.finish(i, fields)
    store.close()
    return path


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("runs")
    return [make_run(folder / "a.db", 80, seed=1), make_run(folder / "b.db", 70, seed=2)]


@pytest.fixture(scope="module")
def predictor(runs):
    return fit(runs)


def _archs(n=30, seed=9, **task):
    rng = np.random.default_rng(seed)
    space = SearchSpace(**{**DIGITS, **task})
    return [space.sample(rng) for _ in range(n)]


# ------------------------------------------------------------ fitting
def test_it_learns_a_design_signal_that_macs_cannot_see(predictor):
    s = predictor.scores
    assert s[predictor.kind]["spearman"] > 0.8, s
    assert abs(s["macs"]["spearman"]) < 0.4 and s[predictor.kind]["spearman"] > \
        s["macs_fit"]["spearman"] + 0.3, s
    on = predictor.fitted_on
    assert on["trials"] == 150 and [r["file"] for r in on["runs"]] == ["a.db", "b.db"]
    assert all(len(r["sha256"]) == 64 for r in on["runs"])
    assert on["budget"]["steps"] == 3 and on["dataset"]["name"] == "digits"
    assert predictor.task == DIGITS


def test_held_out_scores_are_out_of_fold_so_noise_scores_near_zero():
    # 300 networks whose "accuracy" is pure noise: a model scored on its own training data
    # would rank them well (the trees memorise: checked below); held out it cannot.
    archs = _archs(300, seed=4)
    X = features(archs)
    y = np.random.default_rng(5).uniform(0.2, 0.9, len(archs))
    scores = cross_validate(X, y, [a.to_string() for a in archs], k=5, seed=0)
    for name in ("ridge", "trees", "macs", "macs_fit"):
        assert abs(scores[name]["spearman"]) < 0.2, (name, scores[name])
    in_sample = rank_scores(y, fit_trees(X, y).predict(X))["spearman"]
    assert in_sample > 0.5


def test_folds_hold_every_copy_of_an_architecture_out_together():
    groups = ["a", "b", "a", "c", "d", "a", "b", "e", "f", "g"]
    fold = folds(groups, 3, seed=0)
    for g in set(groups):
        assert len({f for f, h in zip(fold, groups) if h == g}) == 1
    assert np.array_equal(fold, folds(groups, 3, seed=0))  # seeded
    assert set(fold) == {0, 1, 2}


def test_the_trees_predict_as_scikit_learn_does():
    from sklearn.ensemble import GradientBoostingRegressor
    archs = _archs(120, seed=6)
    X, y = features(archs), np.array([signal(a) for a in archs])
    ours = fit_trees(X, y, seed=3)
    theirs = GradientBoostingRegressor(n_estimators=200, max_depth=3, learning_rate=0.05,
                                       subsample=0.8, min_samples_leaf=5,
                                       random_state=3).fit(X, y)
    test = features(_archs(50, seed=7))
    assert np.allclose(ours.predict(test), theirs.predict(test), rtol=0, atol=1e-12)


def test_ridge_chooses_alpha_and_recovers_a_linear_rule():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5))
    y = X @ np.array([1.0, -2.0, 0.0, 0.5, 0.0]) + 3.0
    r = fit_ridge(X, y)
    assert r.alpha <= 0.1  # no noise: the least shrinkage wins
    assert np.allclose(r.predict(X), y, atol=0.05)


def test_runs_trained_with_another_budget_are_refused_naming_both(tmp_path):
    a = make_run(tmp_path / "short.db", 40, train=TrainConfig(steps=3))
    b = make_run(tmp_path / "long.db", 40, train=TrainConfig(steps=30))
    with pytest.raises(ValueError, match=r"short\.db and .*long\.db.*training budget differs"
                                         r" \(steps 30 vs 3\)"):
        fit([a, b])


def test_runs_on_another_dataset_are_refused(tmp_path):
    a = make_run(tmp_path / "a.db", 40)
    b = make_run(tmp_path / "b.db", 40, data=DataConfig(resolution=12))
    with pytest.raises(ValueError, match="dataset differs.*resolution 12 vs 16"):
        fit([a, b])


def test_runs_that_differ_only_in_threads_mix(tmp_path):
    a = make_run(tmp_path / "a.db", 40, train=TrainConfig(steps=3, threads=1))
    b = make_run(tmp_path / "b.db", 40, train=TrainConfig(steps=3, threads=2), seed=3)
    assert fit([a, b]).fitted_on["trials"] == 80


def test_runs_for_another_task_are_refused(tmp_path):
    a = make_run(tmp_path / "a.db", 40)
    b = make_run(tmp_path / "b.db", 40, space=SearchSpace(**{**DIGITS, "resolution": 32}))
    with pytest.raises(ValueError, match="2 different tasks"):
        fit([a, b])


def test_too_few_trials_are_refused_saying_how_many(tmp_path):
    a = make_run(tmp_path / "a.db", 12)
    with pytest.raises(ValueError, match=f"a.db: 12 ok trained trial.*at least {MIN_TRIALS}"):
        fit([a])


def test_predicted_figures_are_never_fitted_on(tmp_path):
    trained = make_run(tmp_path / "trained.db", 40)
    predicted = make_run(tmp_path / "predicted.db", 40, source="predicted", seed=5)
    p = fit([trained, predicted])
    assert p.fitted_on["trials"] == 40
    # left out: its figures are a predictor's, and its dataset and budget unused settings
    assert [(r["file"], r["ok"]) for r in p.fitted_on["runs"]] == [("trained.db", 40)]
    other = make_run(tmp_path / "other.db", 40, source="predicted", seed=6,
                     train=TrainConfig(steps=3))  # another budget: not refused, left out
    assert fit([trained, other]).fitted_on["trials"] == 40


def test_a_file_that_is_not_a_run_is_refused_by_name(tmp_path):
    bad = tmp_path / "notes.db"
    bad.write_text("not a database")
    with pytest.raises(ValueError, match="notes.db"):
        fit([bad])
    with pytest.raises(ValueError, match="notes.db|no run store"):
        fit([tmp_path / "missing.db"])


def test_folds_below_two_are_refused():
    with pytest.raises(ValueError, match="folds"):
        FitConfig(folds=1)


# ------------------------------------------------------------ predicting
def test_predictions_are_fractions_deterministic_and_independent_of_the_batch(predictor):
    archs = _archs(40)
    top1 = predictor.predict(archs)
    assert top1.shape == (40,) and np.all((top1 >= 0) & (top1 <= 1))
    assert np.array_equal(top1, predictor.predict(archs))
    assert [predictor.predict([a])[0] for a in archs] == top1.tolist()


def test_an_architecture_of_another_task_is_refused(predictor):
    arch = _archs(1)[0]
    with pytest.raises(ValueError, match="another task: num_classes 13 \\(fitted on 10\\)"):
        predictor.predict([arch.replace(num_classes=13)])


# ------------------------------------------------------------ the file
def test_save_and_load_give_identical_predictions(predictor, tmp_path):
    for kind in ("ridge", "trees"):  # each model kind, whichever the fit chose
        p = predictor if predictor.kind == kind else _with_model(predictor, kind)
        p.save(tmp_path / f"{kind}.json")
        q = Predictor.load(tmp_path / f"{kind}.json")
        archs = _archs(64, seed=11)
        assert np.array_equal(p.predict(archs), q.predict(archs)) and q.kind == kind
        assert q.to_dict() == json.loads((tmp_path / f"{kind}.json").read_text())


def _with_model(p: Predictor, kind: str) -> Predictor:
    from dataclasses import replace
    archs = _archs(80, seed=12)
    X, y = features(archs), np.array([signal(a) for a in archs])
    model = fit_ridge(X, y) if kind == "ridge" else fit_trees(X, y)
    return replace(p, kind=kind, model=model)


def _mutated(predictor, tmp_path, change):
    d = predictor.to_dict()
    change(d)
    path = tmp_path / "p.json"
    path.write_text(json.dumps(d))
    return path


def _tree_cycle(d):
    left = d["model"]["left"] if d["kind"] == "trees" else None
    if left is None:  # a ridge predictor: break its vector instead
        d["model"]["coef"] = d["model"]["coef"][:-1]
    else:
        left[0][0] = 0


CORRUPT = {
    "empty": (lambda p, t: _write(t, b""), "malformed"),
    "binary": (lambda p, t: _write(t, bytes(range(256)) * 8), "not UTF-8|malformed"),
    "a pickle": (lambda p, t: _write(t, pickle.dumps({"format": 1})), "not UTF-8|malformed"),
    "truncated": (lambda p, t: _write(t, json.dumps(p.to_dict())[:500].encode()), "malformed"),
    "a JSON list": (lambda p, t: _write(t, b"[1, 2]"), "not an MNAS Explorer accuracy"),
    "a run config": (lambda p, t: _write(t, b'{"strategy": "ppo"}'), "not an MNAS Explorer"),
    "newer version": (lambda p, t: _mutated(p, t, lambda d: d.update(version=2)),
                      "format version 2"),
    "unknown model": (lambda p, t: _mutated(p, t, lambda d: d.update(kind="svm")),
                      "unknown model kind"),
    "NaN in the model": (lambda p, t: _mutated(
        p, t, lambda d: d["model"].update(init=float("nan"), intercept=float("nan"))),
        "finite"),
    "a broken tree or vector": (lambda p, t: _mutated(p, t, _tree_cycle), "child|must be"),
    "no task": (lambda p, t: _mutated(p, t, lambda d: d.pop("task")), "KeyError"),
    "task of strings": (lambda p, t: _mutated(
        p, t, lambda d: d["task"].update(resolution="16")), "resolution must be"),
    "no scores": (lambda p, t: _mutated(p, t, lambda d: d.update(scores={})), "scores"),
    "missing file": (lambda p, t: t / "nothing.json", "no predictor file"),
    "a directory": (lambda p, t: t, "not a file"),
}


def _write(tmp_path, data: bytes):
    path = tmp_path / "p.json"
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("kind", CORRUPT)
def test_a_corrupt_or_foreign_file_is_a_value_error_naming_it(predictor, tmp_path, kind):
    make, says = CORRUPT[kind]
    path = make(predictor, tmp_path)
    with pytest.raises(ValueError, match=says) as err:
        Predictor.load(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_both_model_kinds_refuse_a_broken_table(predictor, tmp_path):
    trees = _with_model(predictor, "trees").to_dict()
    trees["model"]["left"][0][0] = 0  # a node that is its own child: a walk would never end
    (tmp_path / "t.json").write_text(json.dumps(trees))
    with pytest.raises(ValueError, match="child must follow its parent"):
        Predictor.load(tmp_path / "t.json")
    trees["model"]["left"][0][0] = 1
    trees["model"]["feature"][0][0] = 10_000
    (tmp_path / "t.json").write_text(json.dumps(trees))
    with pytest.raises(ValueError, match="outside 0..79"):
        Predictor.load(tmp_path / "t.json")
    ridge = _with_model(predictor, "ridge").to_dict()
    ridge["model"]["scale"][3] = 0.0
    (tmp_path / "r.json").write_text(json.dumps(ridge))
    with pytest.raises(ValueError, match="scale must be positive"):
        Predictor.load(tmp_path / "r.json")


def test_loading_and_predicting_import_no_torch(predictor, tmp_path):
    path = tmp_path / "p.json"
    predictor.save(path)
    code = ("import sys; from mnas_core.accuracy.predicted import PredictedAccuracy, "
            "PredictedConfig; from mnas_core import zoo; "
            f"s = PredictedAccuracy(PredictedConfig({str(path)!r})).open(); "
            "s.accuracy(zoo.get('mnasnet_a1', **s.task())); print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True)
    assert out.stdout.strip() == "False"

