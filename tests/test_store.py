import sqlite3

import pytest

from mnas_core.store import (SCHEMA_VERSION, TRIAL_COLUMNS, RunStore, list_runs, read_config,
                             read_meta, read_trials)

CONFIG = {"strategy": "random", "trials": 3, "reward": {"target_ms": 10, "alpha": 0, "beta": -1}}


def make(tmp_path, name="a"):
    return RunStore.create(tmp_path / f"{name}.db", CONFIG)


def test_schema_and_pandas_read_api(tmp_path):
    store = make(tmp_path)
    ids = store.add_pending(1, [{"arch": "x", "tokens": "[0]", "params": 5, "macs": 7}] * 2,
                            {"rng": 1})
    assert read_trials(store.path).empty  # pending trials are in flight, not results
    store.finish(ids[0], {"status": "ok", "accuracy": 0.5, "latency_ms": 3.0, "reward": 0.5})
    store.finish(ids[1], {"status": "failed", "error": "boom"})
    df = read_trials(store.path)
    assert list(df.columns) == ["trial", *TRIAL_COLUMNS]
    assert list(df.status) == ["ok", "failed"] and df.error[1] == "boom"
    meta = read_meta(store.path)
    assert (meta["n_trials"], meta["n_failed"], meta["n_pending"]) == (2, 1, 0)
    assert read_config(store.path) == CONFIG
    # An analyst's sqlite3 shell sees the same rows.
    db = sqlite3.connect(store.path)
    assert db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone() == (
        str(SCHEMA_VERSION),)
    assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_errors_name_the_problem(tmp_path):
    store = make(tmp_path)
    with pytest.raises(ValueError, match="already exists"):
        make(tmp_path)
    with pytest.raises(ValueError, match="no run store"):
        RunStore(tmp_path / "missing.db")
    with pytest.raises(ValueError, match="unknown trial column"):
        store.add_pending(1, [{"arch": "x", "colour": "red"}], {})
    with pytest.raises(ValueError, match="status ok or failed"):
        store.finish(1, {"status": "pending"})
    store.db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(ValueError, match="schema version '99'"):
        RunStore(store.path)


def test_a_failed_write_leaves_nothing_half_done(tmp_path):
    store = make(tmp_path)

    class Unsaveable:
        def __reduce__(self):
            raise RuntimeError("cannot pickle")

    with pytest.raises(RuntimeError):
        store.add_pending(1, [{"arch": "x"}], {"bad": Unsaveable()})
    # The trial insert was rolled back with the failed state write.
    assert read_trials(store.path, include_pending=True).empty
    assert store.strategy_state() is None


def test_running_with_a_dead_pid_reads_as_stopped(tmp_path):
    store = make(tmp_path)
    store.set_status("running", pid=2 ** 22 + 12345)  # above pid_max: no such process
    assert read_meta(store.path)["status"] == "stopped"
    store.set_status("finished")
    assert read_meta(store.path)["status"] == "finished"


def test_an_ended_unreaped_search_reads_as_stopped(tmp_path):
    import subprocess
    import sys
    import time

    store = make(tmp_path)
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    store.set_status("running", pid=proc.pid)
    deadline = time.time() + 30
    while read_meta(store.path)["status"] == "running" and time.time() < deadline:
        time.sleep(0.05)  # the child exits and stays a zombie: we never wait() for it
    assert read_meta(store.path)["status"] == "stopped"
    proc.wait()


def test_list_runs_skips_files_that_are_not_runs(tmp_path):
    make(tmp_path, "a").close()
    make(tmp_path, "b").close()
    (tmp_path / "junk.db").write_bytes(b"not sqlite at all")
    sqlite3.connect(tmp_path / "other.db").execute("CREATE TABLE t (x)")
    runs = list_runs(tmp_path)
    assert list(runs.name) == ["a", "b"]
    assert list(runs.beta) == [-1, -1] and list(runs.strategy) == ["random", "random"]
