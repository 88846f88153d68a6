"""`mnas verify` (mnas_core.verify): a real predicted search, its top models trained on the
predictor's own task and budget, both figures recorded in the run file, a resumable check that
survives kill -9, and refusals that leave the file as it was."""
from __future__ import annotations

import hashlib
import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mnas_core.accuracy.predictor import FitConfig, Predictor, file_sha256, fit
from mnas_core.accuracy.trained import TrainedAccuracy, TrainedConfig
from mnas_core.arch import parse_arch
from mnas_core.data import DataConfig
from mnas_core.reward import RewardConfig, reward
from mnas_core.search import (AccuracySetup, LatencySetup, SearchConfig, run_search,
                              start_run)
from mnas_core.space import SearchSpace
from mnas_core.store import RunStore, TrialStatus, check_run, read_trials, read_verified
from mnas_core.train import TrainConfig
from mnas_core.verify import Verification, VerifyConfig, recorded, select, verify
from tests.accuracy.test_predictor import DIGITS, make_run
from tests.test_builder import SAME_NET

# The proxy task the predictor is fitted on: tiny, so that a verification costs seconds.
BUDGET = TrainConfig(steps=4, batch_size=32, bn_recalibrate=64)
ROOT = Path(__file__).resolve().parents[1]


def fit_predictor(folder: Path, train: TrainConfig = BUDGET, seed: int = 1) -> Path:
    p = fit([make_run(folder / f"fit-{seed}.db", 40, seed=seed, train=train)],
            FitConfig(folds=3))
    p.save(folder / f"predictor-{seed}.json")
    return folder / f"predictor-{seed}.json"


def search_predicted(path: Path, predictor: Path, folder: Path, trials: int = 12) -> Path:
    """A real predicted search (run_search) with its own, different and unused budget."""
    cfg = SearchConfig(
        strategy="random", trials=trials, batch_size=trials, seed=0,
        reward=RewardConfig(target_ms=5.0, alpha=-0.07, beta=-0.07),
        train=TrainConfig(steps=3),  # not the predictor's: a predicted search trains nothing
        accuracy=AccuracySetup("predicted", {"path": str(predictor)}),
        latency=LatencySetup(source="measured", resolution=64, options=dict(
            runs=3, warmup=1, blocks=1, backend="eager", db_path=str(folder / "lat.db"))),
        executor="inprocess")
    store = start_run(cfg, path)
    try:
        run_search(store)
    finally:
        store.close()
    return path


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    folder = tmp_path_factory.mktemp("verify")
    predictor = fit_predictor(folder)
    return {"folder": folder, "predictor": predictor,
            "run": search_predicted(folder / "predicted.db", predictor, folder)}


@pytest.fixture
def run(made, tmp_path) -> Path:
    """A fresh copy of the predicted run (verify writes into it)."""
    return Path(shutil.copy(made["run"], tmp_path / "run.db"))


def tiny(top: int, **kw) -> VerifyConfig:
    return VerifyConfig(top=top, executor="inprocess", threads=1, **kw)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ------------------------------------------------------------ the check
def test_it_trains_the_top_k_by_reward_on_the_predictor_s_budget_and_records_both(made, run):
    trials = read_trials(run)
    report = verify(run, tiny(2))
    best = trials.sort_values(["reward", "trial"], ascending=[False, True]).drop_duplicates(
        "arch").head(2)
    t = report.table
    assert list(t.trial) == list(best.trial) and report.trained_now == 2
    assert (t.status == TrialStatus.OK).all()
    assert np.allclose(t.predicted, best.accuracy) and t.trained.between(0, 1).all()
    assert np.allclose(t.difference, t.trained - t.predicted)

    rows = read_verified(run).set_index("trial").loc[t.trial]
    assert np.allclose(rows.accuracy, t.trained) and np.allclose(rows.predicted, t.predicted)
    budget = json.loads(rows.train_budget.iloc[0])
    assert budget["steps"] == 4 and budget["batch_size"] == 32  # the predictor's, not the run's
    assert json.loads(rows.dataset.iloc[0])["name"] == "digits"
    assert (rows.predictor_sha256 == file_sha256(made["predictor"])).all()

    # The recorded figure is the proxy training of that network on that budget, as is.
    again = TrainedAccuracy(TrainedConfig(DataConfig(), TrainConfig(
        steps=4, batch_size=32, bn_recalibrate=64, threads=1))).accuracy(
        parse_arch(t.arch.iloc[0]))
    assert again.top1 == t.trained.iloc[0]

    diff = np.abs(t.trained - t.predicted)
    assert report.scores["mae"] == pytest.approx(diff.mean())
    # Two models: they are ranked the same way (1), the other way (-1), or tie (None).
    same = np.sign(np.diff(t.trained)[0] * np.diff(t.predicted)[0])
    for name in ("spearman", "kendall"):
        assert (report.scores[name] is None) if same == 0 else \
            report.scores[name] == pytest.approx(same)


def test_a_re_run_trains_nothing_and_a_larger_k_only_the_new_ones(run):
    first = verify(run, tiny(2))
    before = read_verified(run)
    second = verify(run, tiny(2))
    assert second.trained_now == 0
    assert read_verified(run).equals(before)  # not a row rewritten
    assert second.table.equals(first.table)
    third = verify(run, tiny(3))
    assert third.trained_now == 1 and len(read_verified(run)) == 3
    assert list(third.table.trial[:2]) == list(first.table.trial)


def test_by_accuracy_ranks_by_the_predicted_figure_and_skips_repeated_architectures(run):
    df = read_trials(run)
    df = df[df.status == TrialStatus.OK]
    doubled = pd.concat([df, df]).assign(trial=range(2 * len(df)))  # each one sampled twice
    chosen = select(doubled, 3, "accuracy")
    assert chosen.arch.is_unique and len(chosen) == 3
    assert list(chosen.predicted) == sorted(df.accuracy, reverse=True)[:3]
    assert list(chosen.trial) == [int(doubled[doubled.arch == a].trial.min())
                                  for a in chosen.arch]  # each one's first trial on a tie


def test_strings_of_one_network_count_once():
    other = SAME_NET[0].replace("r2_k5_s22", "r2_k3_s22")  # another network: kernel 3
    ok = pd.DataFrame({"trial": [1, 2, 3], "arch": [SAME_NET[0], SAME_NET[1], other],
                       "reward": [0.9, 0.9, 0.8], "accuracy": [0.9, 0.9, 0.8]})
    chosen = select(ok, 3, "reward")
    assert list(chosen.trial) == [1, 3]  # the second string is the first one's network
    assert list(select(ok, 1, "reward").trial) == [1]


KILL_AFTER_FIRST = """
import os, signal, sys
from mnas_core.executors import InProcess
from mnas_core.verify import VerifyConfig, verify

class KillAfterFirst(InProcess):
    # kill -9 while the second training would start: the first one is committed by then.
    def run(self, fn, items):
        gen = super().run(fn, items)
        yield next(gen)
        os.kill(os.getpid(), signal.SIGKILL)
        yield from gen

verify(sys.argv[1], VerifyConfig(top=3, threads=1), executor=KillAfterFirst())
"""


def test_a_kill_9_mid_way_keeps_the_finished_training(run):
    out = subprocess.run([sys.executable, "-c", KILL_AFTER_FIRST, str(run)], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == -signal.SIGKILL, out.stderr
    check_run(run)  # still a whole run file
    kept = read_verified(run)
    assert len(kept) == 1 and kept.status.iloc[0] == TrialStatus.OK
    resumed = verify(run, tiny(3))
    assert resumed.trained_now == 2 and (resumed.table.status == TrialStatus.OK).all()
    assert kept.trial.iloc[0] in set(resumed.table.trial)


def test_a_failed_training_is_recorded_with_its_error_and_retried_only_when_asked(tmp_path):
    # A budget that diverges (lr 1e6): the training fails, as a real one can.
    predictor = fit_predictor(tmp_path, TrainConfig(steps=4, batch_size=32, bn_recalibrate=64,
                                                    lr=1e6), seed=3)
    run = predicted_by_hand(tmp_path / "run.db", predictor, 4)
    report = verify(run, tiny(1))
    row = report.table.iloc[0]
    assert row.status == TrialStatus.FAILED and "diverged" in row.error
    assert report.scores == {"spearman": None, "kendall": None, "mae": None}
    assert read_verified(run).status.tolist() == [TrialStatus.FAILED]
    assert verify(run, tiny(1)).trained_now == 0
    assert verify(run, tiny(1, retry_failed=True)).trained_now == 1


def predicted_by_hand(path: Path, predictor: Path, n: int) -> Path:
    """A predicted run written with RunStore as a search writes it (no latency timing)."""
    p = Predictor.load(predictor)
    cfg = SearchConfig(strategy="random", trials=n, executor="inprocess",
                       accuracy=AccuracySetup("predicted", {"path": str(predictor)}))
    rng = np.random.default_rng(0)
    archs = [SearchSpace(**DIGITS).sample(rng) for _ in range(n)]
    store = RunStore.create(path, cfg.to_dict())
    ids = store.add_pending(1, [{"arch": a.to_string(), "tokens": "[]"} for a in archs], {})
    for i, arch, acc in zip(ids, archs, p.predict(archs)):
        store.finish(i, {"status": TrialStatus.OK, "accuracy": float(acc), "latency_ms": 4.0,
                         "accuracy_source": "predicted",
                         "reward": float(reward(acc, 4.0, RewardConfig(5.0)))})
    store.close()
    return path


# ------------------------------------------------------------ refusals
def test_a_run_that_is_not_predicted_is_refused_in_one_line(tmp_path):
    trained = make_run(tmp_path / "trained.db", 5)
    with pytest.raises(ValueError, match="not a predicted run: its accuracies were measured"):
        verify(trained, tiny(2))
    estimated = tmp_path / "estimated.db"
    RunStore.create(estimated, SearchConfig(accuracy=AccuracySetup("estimated")).to_dict()
                    ).close()
    with pytest.raises(ValueError, match="estimated from published results, which no proxy "
                                         "training on CIFAR or digits can check"):
        verify(estimated, tiny(2))


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_k_below_one_or_not_an_integer_is_refused(bad):
    with pytest.raises(ValueError, match="--top must be an integer >= 1"):
        VerifyConfig(top=bad)


@pytest.mark.parametrize("case", ["foreign", "truncated", "other predictor", "being written"])
def test_a_refused_file_is_left_unchanged(made, run, tmp_path, case):
    path = run
    if case == "foreign":
        path = tmp_path / "notes.db"
        path.write_text("hello, not a run")
    elif case == "truncated":
        data = run.read_bytes()
        run.write_bytes(data[:len(data) // 2])
    before = digest(path)
    cfg = tiny(2)
    if case == "other predictor":
        cfg = tiny(2, predictor=str(fit_predictor(tmp_path, seed=5)))
    writer = RunStore(path) if case == "being written" else None
    try:
        match = {"foreign": "not an MNAS Explorer run file", "truncated": "truncated",
                 "other predictor": "is not the predictor this run was (searched|started) with",
                 "being written": "already being written"}[case]
        with pytest.raises(ValueError, match=match):
            verify(path, cfg)
    finally:
        if writer is not None:
            writer.close()
    assert digest(path) == before
    if case in ("foreign", "truncated"):  # refused before the writer lock is even taken
        assert not path.with_name(path.name + ".lock").exists()
    else:
        assert read_verified(path).empty


def test_a_file_without_the_table_reads_as_verified_nothing(made):
    df = read_verified(made["run"])
    assert df.empty and "accuracy" in df and "predicted" in df


def test_recorded_reads_back_what_verify_reported_without_writing(made, run):
    assert recorded(made["run"]) is None  # nothing verified yet
    report = verify(run, tiny(3))
    before = digest(run)
    table, scores = recorded(run)
    assert digest(run) == before  # read only: the app reads runs a search may be writing
    assert list(table.trial) == list(report.table.trial)  # best reward first, as verify ranks
    assert np.allclose(table.trained, report.table.trained)
    assert np.allclose(table.predicted, report.table.predicted)
    assert scores == report.scores
    again, same = recorded(run, read_trials(run))  # from trials the caller has read already
    assert again.equals(table) and same == scores


def test_it_says_what_it_will_train_on_and_that_the_run_s_own_budget_is_unused(run):
    with Verification(run, tiny(2)) as v:
        text = "\n".join(v.describe())
    assert "top 2 distinct architectures by reward" in text
    assert "trained on digits for 4 steps" in text and "predicted by" in text
    assert "the run's own dataset/train settings (digits, 3 steps) are not what its " \
           "predictions rest on" in text
    assert "to train: 2 (already verified: 0)" in text


# ------------------------------------------------------------ storage (schema 1, on demand)
def test_the_verified_table_is_made_on_demand_and_the_file_stays_schema_1(run):
    from mnas_core.store import list_runs, probe
    assert read_verified(run).empty
    store = RunStore(run)
    try:
        trial = int(store.trials().trial.iloc[0])
        for bad, match in (({"status": "pending"}, "status ok or failed"),
                           ({"status": "ok", "speed": 1.0}, "unknown verified column.*speed")):
            with pytest.raises(ValueError, match=match):
                store.add_verified(trial, bad)
        with pytest.raises(ValueError, match="has no trial 9999"):
            store.add_verified(9999, {"status": "ok"})
        store.add_verified(trial, {"status": "ok", "accuracy": 0.5, "predicted": 0.4})
        store.add_verified(trial, {"status": "ok", "accuracy": 0.6, "predicted": 0.4})
    finally:
        store.close()
    df = read_verified(run)
    assert df.trial.tolist() == [trial] and df.accuracy.tolist() == [0.6]  # replaced
    assert probe(run) == "1" and len(list_runs(run.parent)) == 1
    check_run(run)
    assert len(read_trials(run)) == 12


def test_a_verified_table_that_lacks_columns_is_a_damaged_file(run):
    import sqlite3
    db = sqlite3.connect(run)
    db.execute("CREATE TABLE verified (trial INTEGER PRIMARY KEY, status TEXT)")
    db.commit()
    db.close()
    before = digest(run)
    with pytest.raises(ValueError, match="its verified table lacks .*accuracy"):
        verify(run, tiny(1))
    assert digest(run) == before
