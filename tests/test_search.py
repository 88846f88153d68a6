"""The search loop end to end on tiny budgets: recording, failures, exact resume, kill -9."""
import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from mnas_core.data import DataConfig
from mnas_core.executors import InProcess
from mnas_core.reward import RewardConfig, reward
from mnas_core.runtime import tuned_env
from mnas_core.background import stop_search
from mnas_core.search import LatencySetup, SearchConfig, load_config, run_search, start_run
from mnas_core.store import RunStore, read_meta, read_trials
from mnas_core.train import TrainConfig


def tiny_config(tmp_path, **changes) -> SearchConfig:
    cfg = SearchConfig(
        strategy="ppo", trials=6, batch_size=3, seed=0,
        reward=RewardConfig(target_ms=5.0, alpha=-0.07, beta=-0.07),
        dataset=DataConfig(train_images=160),
        train=TrainConfig(steps=3, batch_size=32, threads=1),
        latency=LatencySetup(source="measured", resolution=64, options=dict(
            runs=3, warmup=1, blocks=1, backend="eager", db_path=str(tmp_path / "lat.db"))),
        executor="inprocess")
    return SearchConfig.from_dict({**cfg.to_dict(), **changes})


class InterruptAfter(InProcess):
    """Stands in for Ctrl-C / a kill after `n` finished candidates."""

    def __init__(self, n):
        self.n = n

    def run(self, fn, items):
        for out in super().run(fn, items):
            if self.n == 0:
                raise KeyboardInterrupt
            self.n -= 1
            yield out


def test_config_round_trips_through_json(tmp_path):
    cfg = tiny_config(tmp_path)
    assert SearchConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    with pytest.raises(ValueError, match="search config: unknown field.*'trails'"):
        SearchConfig.from_dict({"trails": 5})


def test_configs_of_earlier_versions_read_as_one_reward_spec(tmp_path):
    new = tiny_config(tmp_path).to_dict()
    old_auto = {**new, "reward": None, "exponents": [0.0, -1.0]}
    assert SearchConfig.from_dict(old_auto).reward == RewardConfig(None, 0.0, -1.0)
    old_given = {**new, "exponents": [0.0, -1.0]}  # T given: `reward` held the exponents
    assert SearchConfig.from_dict(old_given).reward == RewardConfig(5.0, -0.07, -0.07)
    recorded = Path(__file__).parents[1] / "sample_runs" / "hard_ppo.db"  # written that way
    before = recorded.read_bytes()
    assert load_config(recorded).reward == RewardConfig(10.545, 0.0, -1.0)
    assert recorded.read_bytes() == before


def test_auto_target_is_measured_at_start_and_kept(tmp_path):
    auto = {"target_ms": None, "alpha": 0.0, "beta": -1.0}
    store = start_run(tiny_config(tmp_path, trials=2, batch_size=2, reward=auto),
                      tmp_path / "run.db")
    assert load_config(store.path).reward.target_ms is None  # not measured before the start
    run_search(store)
    rcfg = load_config(store.path).reward
    assert rcfg.target_ms > 0 and rcfg.kind == "hard"
    df = read_trials(store.path)
    np.testing.assert_allclose(df.reward, reward(df.accuracy, df.latency_ms, rcfg))


def test_workers_share_the_cores_instead_of_each_taking_all():
    from mnas_core.search import worker_train_config

    cores = os.cpu_count()
    assert worker_train_config(SearchConfig(workers=2)).threads == max(1, cores // 2)
    assert worker_train_config(SearchConfig(executor="inprocess")).threads == cores
    assert worker_train_config(SearchConfig(scheduler="tcp://h:8786")).threads == 1
    explicit = SearchConfig(train=TrainConfig(threads=3))
    assert worker_train_config(explicit).threads == 3


def test_search_records_every_trial(tmp_path):
    store = start_run(tiny_config(tmp_path), tmp_path / "run.db")
    run_search(store)
    df = read_trials(store.path)
    assert len(df) == 6 and (df.status == "ok").all() and list(df.batch) == [1, 1, 1, 2, 2, 2]
    np.testing.assert_allclose(df.reward, reward(df.accuracy, df.latency_ms,
                                                 RewardConfig(5.0, -0.07, -0.07)))
    assert (df.latency_source == "measured").all() and df.fingerprint.notna().all()
    assert df.params.gt(0).all() and df.macs.gt(0).all() and df.worker.str.len().gt(0).all()
    assert read_meta(store.path)["status"] == "finished"
    assert store.strategy_state()[0] == 2


def test_failing_candidates_are_recorded_and_the_search_goes_on(tmp_path):
    cfg = tiny_config(tmp_path, train={**TrainConfig(steps=3, batch_size=32, lr=1e12,
                                                     threads=1).__dict__})
    store = start_run(cfg, tmp_path / "run.db")
    run_search(store)
    df = read_trials(store.path)
    assert len(df) == 6 and (df.status == "failed").all()
    assert df.error.str.contains("TrainingDiverged").all() and df.reward.isna().all()


def test_interrupted_search_resumes_exactly(tmp_path):
    full = start_run(tiny_config(tmp_path), tmp_path / "full.db")
    run_search(full)
    cut = start_run(tiny_config(tmp_path), tmp_path / "cut.db")
    with pytest.raises(KeyboardInterrupt):
        run_search(cut, executor=InterruptAfter(4))  # dies in batch 2, one trial finished
    assert read_meta(cut.path)["status"] == "stopped"
    assert len(read_trials(cut.path)) == 4
    cut.close()  # as its process would on exit: a run file has one writer at a time
    cut = run_search(RunStore(cut.path))
    a, b = read_trials(full.path), read_trials(cut.path)
    assert list(a.arch) == list(b.arch) and list(a.tokens) == list(b.tokens)
    np.testing.assert_allclose(a.accuracy, b.accuracy)
    # The strategies ended in the same state: the next asks would agree.
    assert str(full.strategy_state()[1]["generator"]) == str(cut.strategy_state()[1]["generator"])


def test_a_run_timed_elsewhere_is_not_resumed_with_other_figures(tmp_path):
    cfg = tiny_config(tmp_path)
    cut = start_run(cfg, tmp_path / "cut.db")
    with pytest.raises(KeyboardInterrupt):
        run_search(cut, executor=InterruptAfter(2))
    cut.close()
    before = read_trials(cut.path)
    other = cfg.latency.make_source()  # the same source as on another CPU
    other.fingerprint = lambda: "0123456789ab"
    try:
        store = RunStore(cut.path)
        with pytest.raises(ValueError, match=r"timed under latency fingerprint \w{12} and this "
                                             r"measured source is 0123456789ab \(another dev"):
            run_search(store, source=other)
        store.close()
        assert read_trials(cut.path).equals(before)
        assert read_meta(cut.path)["status"] == "stopped"
        run_search(RunStore(cut.path)).close()  # where it was timed, it resumes
        assert len(read_trials(cut.path)) == 6
        run_search(RunStore(cut.path), source=other).close()  # finished: nothing to time
        assert read_meta(cut.path)["status"] == "finished"
    finally:
        other.close()


def _spawn(path):
    return subprocess.Popen([sys.executable, "-m", "mnas_core", "search", "--resume", str(path),
                             "--no-progress"], env=tuned_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def _wait_for(path, n_done, proc, timeout=240):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            return
        try:
            if len(read_trials(path)) >= n_done:
                return
        except (ValueError, sqlite3.OperationalError, KeyError):
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{path}: fewer than {n_done} trials after {timeout} s")


@pytest.mark.slow
def test_kill_minus_nine_then_resume(tmp_path):
    path = tmp_path / "run.db"
    start_run(tiny_config(tmp_path, trials=9), path).close()
    proc = _spawn(path)
    _wait_for(path, 4, proc)
    proc.kill()  # SIGKILL: no handler runs, no status is written
    proc.wait(timeout=30)
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    db.close()
    before = read_trials(path)
    assert len(before) >= 4
    proc = _spawn(path)
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out
    after = read_trials(path)
    assert len(after) == 9 and (after.status == "ok").all()
    assert after.trial.is_unique
    # Nothing recorded before the kill was lost or changed.
    kept = after.set_index("trial").loc[before.trial]
    assert list(kept.arch) == list(before.arch)
    np.testing.assert_allclose(kept.accuracy, before.accuracy)
    assert "Pareto front" in out and "best reward" in out


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_kill_storm_then_resume_equals_an_uninterrupted_run(tmp_path):
    """kill -9 at random phases (start-up, latency, training, writing), resume each time: the
    file stays sound and ends with exactly the rows an uninterrupted run records (same seed; the
    shared latency database makes LAT(m) identical, and ACC(m) is deterministic per seed)."""
    import random

    cfg = tiny_config(tmp_path, trials=30, train={**TrainConfig(steps=10, batch_size=32,
                                                                threads=1).__dict__})
    start_run(cfg, tmp_path / "full.db").close()
    out, _ = (proc := _spawn(tmp_path / "full.db")).communicate(timeout=600)
    assert proc.returncode == 0, out  # a process like the storm's: same latency fingerprint
    path = tmp_path / "storm.db"
    start_run(cfg, path).close()
    rng, kills = random.Random(0), 0
    while kills < 8:
        done = len(read_trials(path))
        proc = _spawn(path)
        if rng.random() < 0.5:  # a moment after start: often before the first trial lands
            time.sleep(rng.uniform(0.5, 4.0))
        else:                   # just after a trial was recorded: mid-batch, mid-write
            _wait_for(path, done + rng.randint(1, 3), proc)
            time.sleep(rng.uniform(0.0, 0.3))
        assert proc.poll() is None, "the search finished before the storm did: raise trials"
        proc.kill()
        proc.wait(timeout=30)
        kills += 1
        db = sqlite3.connect(path)
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        db.close()
    proc = _spawn(path)
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, out
    a, b = read_trials(tmp_path / "full.db"), read_trials(path)
    assert list(b.trial) == list(range(1, 31))  # no gaps, no duplicates
    cols = ["batch", "arch", "tokens", "status", "accuracy", "latency_ms", "reward"]
    assert a[cols].equals(b[cols])


@pytest.mark.slow
def test_stop_search_signals_the_running_process(tmp_path):
    path = tmp_path / "run.db"
    start_run(tiny_config(tmp_path, trials=30), path).close()
    proc = _spawn(path)
    _wait_for(path, 1, proc)
    assert read_meta(path)["status"] == "running"
    stop_search(path)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130, out
    assert read_meta(path)["status"] == "stopped"
    assert "--resume" in out


def test_the_loop_says_its_phase_in_the_run_file(tmp_path, monkeypatch):
    said = []
    original = RunStore.set_phase

    def record(self, phase):
        said.append(phase)
        original(self, phase)

    monkeypatch.setattr(RunStore, "set_phase", record)
    cfg = tiny_config(tmp_path, reward={"target_ms": None, "alpha": -0.07, "beta": -0.07})
    path = tmp_path / "run.db"
    run_search(start_run(cfg, path)).close()
    assert said[0] == "measuring T: MobileNetV2's latency (measured)"  # T = auto, first
    assert said[1] == "batch 1: the ppo strategy picks 3 models"
    assert said[2] == "batch 1: timing model 1 of 3 (measured latency)"
    assert "batch 1: 0 of 3 models trained" in said
    assert said.index("batch 1: 3 of 3 models trained") < said.index(
        "batch 2: the ppo strategy picks 3 models")
    meta = read_meta(path)
    assert meta["phase"] == "batch 2: 3 of 3 models trained"  # read back for the app
    assert meta["phase_at"] <= time.time()
