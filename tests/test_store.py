import os
import random
import sqlite3
from pathlib import Path

import pytest

from mnas_core.store import (SCHEMA_VERSION, TRIAL_COLUMNS, RunStatus, RunStore, TrialStatus,
                             list_runs, read_config, read_meta, read_trials, writer_of)

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


def test_statuses_are_enums_stored_as_their_strings(tmp_path):
    store = make(tmp_path)
    assert read_meta(store.path)["status"] == RunStatus.CREATED == "created"
    [ok, failed, pending] = store.add_pending(1, [{"arch": "x", "tokens": "[0]"}] * 3, {})
    store.finish(ok, {"status": TrialStatus.OK, "reward": 0.5})
    store.finish(failed, {"status": "failed", "error": "boom"})  # a plain string still works
    store.set_status(RunStatus.RUNNING, os.getpid())
    raw = sqlite3.connect(store.path)
    assert raw.execute("SELECT status, typeof(status) FROM trials ORDER BY trial").fetchall() \
        == [("ok", "text"), ("failed", "text"), ("pending", "text")]
    assert raw.execute("SELECT value FROM meta WHERE key = 'status'").fetchone() == ("running",)
    meta = read_meta(store.path)
    assert meta["status"] == RunStatus.RUNNING and meta["n_pending"] == 1
    assert list(read_trials(store.path).status) == [TrialStatus.OK, TrialStatus.FAILED]
    assert store.count(TrialStatus.FAILED) == 1 and store.count() == 2
    with pytest.raises(ValueError, match="'paused' is not a valid RunStatus"):
        store.set_status("paused")
    assert set(TrialStatus) == {"pending", "ok", "failed"}
    assert set(RunStatus) == {"created", "running", "finished", "stopped", "failed"}


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


# ------------------------------------------------------------ safety: no code runs on open
class _Payload:
    """What an attacker plants: unpickling it calls os.system."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _planted_blobs(marker):
    import io
    import pickle

    import torch

    buf = io.BytesIO()
    torch.save({"policy": _Payload(marker)}, buf)  # torch's own zip format
    return {"torch.save": buf.getvalue(), "raw pickle": pickle.dumps({"x": _Payload(marker)}),
            "garbage": b"\x00not a state", "empty": b""}


@pytest.mark.parametrize("kind", ["torch.save", "raw pickle", "garbage", "empty"])
def test_a_planted_strategy_state_never_runs(tmp_path, kind):
    marker = tmp_path / "pwned"
    store = make(tmp_path)
    store.add_pending(1, [{"arch": "x"}], {"rng": 1})
    store.db.execute("UPDATE strategy_state SET state = ?", (_planted_blobs(marker)[kind],))
    with pytest.raises(ValueError, match="not plain tensors and data") as err:
        store.strategy_state()
    assert not marker.exists()
    assert "\n" not in str(err.value)


def test_a_state_that_could_not_be_resumed_is_refused_when_saved(tmp_path):
    store = make(tmp_path)
    with pytest.raises(ValueError, match="not plain tensors and data"):
        store.add_pending(1, [{"arch": "x"}], {"obj": _Payload(tmp_path / "m")})
    assert not (tmp_path / "m").exists()
    assert read_trials(store.path, include_pending=True).empty  # rolled back


# ------------------------------------------------------------ one writer
_HOLD = ("import sys, time; from mnas_core.store import RunStore; s = RunStore(sys.argv[1]); "
         "print('holding', flush=True); time.sleep(120)")


def _holder(path):
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", _HOLD, str(path)], stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout.readline().strip() == "holding"
    return proc


def test_a_second_writer_is_refused_naming_the_holder(tmp_path):
    import socket

    make(tmp_path).close()
    proc = _holder(tmp_path / "a.db")
    try:
        with pytest.raises(ValueError, match=f"already being written by pid {proc.pid} on "
                                             f"{socket.gethostname()}"):
            RunStore(tmp_path / "a.db")
        assert writer_of(tmp_path / "a.db") == f"pid {proc.pid} on {socket.gethostname()}"
    finally:
        proc.kill()
        proc.wait()
    # kill -9 left no lock behind: the next writer gets the file at once.
    assert writer_of(tmp_path / "a.db") is None
    RunStore(tmp_path / "a.db").close()


def test_the_lock_is_per_open_store_in_one_process_too(tmp_path):
    store = make(tmp_path)
    with pytest.raises(ValueError, match="already being written"):
        RunStore(store.path)
    store.close()
    RunStore(store.path).close()


# ------------------------------------------------------------ every state a run file can be in
def test_list_runs_reads_a_run_whose_target_is_not_measured_yet(tmp_path):
    RunStore.create(tmp_path / "auto.db", {**CONFIG, "reward": None}).close()
    runs = list_runs(tmp_path)
    assert list(runs.name) == ["auto"] and runs.target_ms.isna().all()
    assert list(runs.status) == ["created"]


def test_a_kill_inside_create_leaves_no_half_made_run(tmp_path):
    import subprocess
    import sys

    code = ("import os, signal, sys; from mnas_core import store; "
            "os.link = lambda *a: os.kill(os.getpid(), signal.SIGKILL); "
            "store.RunStore.create(sys.argv[1], {})")
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path / "a.db")], timeout=60)
    assert proc.returncode == -9
    assert not (tmp_path / "a.db").exists()  # the name is still free ...
    assert list_runs(tmp_path).empty
    make(tmp_path).close()                   # ... and --out can take it
    assert list(list_runs(tmp_path).name) == ["a"]


def test_create_in_a_read_only_folder_is_a_clean_error(read_only_view):
    _, view = read_only_view
    with pytest.raises(ValueError, match="cannot create .*a.db: .* is not writable"):
        RunStore.create(view / "a.db", CONFIG)


# ------------------------------------------------------------ files that are not ours
SAMPLE_RUNS = sorted((Path(__file__).parents[1] / "sample_runs").glob("*.db"))
SAMPLE_RUN = Path(__file__).parents[1] / "sample_runs" / "random.db"  # a real 300-trial run


def _sqlite_file(path, wal=False):
    """Another program's database (optionally in WAL mode, closed cleanly)."""
    db = sqlite3.connect(path)
    if wal:
        db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE notes (x)")
    db.execute("INSERT INTO notes VALUES ('mine')")
    db.commit()
    db.close()
    return path


def _edit(path, *sql):
    db = sqlite3.connect(path)
    for statement in sql:
        db.execute(statement)
    db.commit()
    db.close()
    return path


def _run(folder, name="run"):
    """A run file as `create` leaves it, closed."""
    RunStore.create(folder / f"{name}.db", CONFIG).close()
    (folder / f"{name}.db.lock").unlink()  # so that a test sees any file a refusal adds
    return folder / f"{name}.db"


def _bytes(data):
    def make(folder):
        (folder / "x.db").write_bytes(data)
        return folder / "x.db"
    return make


def _truncated(cut):
    def make(folder):
        data = SAMPLE_RUN.read_bytes()
        (folder / "cut.db").write_bytes(data[:cut])
        return folder / "cut.db"
    return make


def _changed(*sql):
    return lambda folder: _edit(_run(folder), *sql)


def _directory(folder):
    (folder / "d.db").mkdir()
    return folder / "d.db"


# kind -> (make(folder) -> path, what the error says). Each is refused by RunStore with a
# ValueError naming the file and left as it was; the readers read what they can of it.
BAD_FILES = {
    "empty": (_bytes(b""), "is empty"),
    "random bytes": (_bytes(random.Random(0).randbytes(8192)), "not an SQLite database"),
    "text": (_bytes(b"name,value\n" * 500), "not an SQLite database"),
    "header only": (_truncated(60), "not an SQLite database"),
    "truncated at 4 KiB": (_truncated(4096), "truncated"),
    "truncated in the middle": (_truncated(100_001), "truncated"),
    "truncated by one byte": (_truncated(-1), "truncated"),
    "foreign sqlite": (lambda f: _sqlite_file(f / "notes.db"), "no such table: meta"),
    "foreign sqlite, WAL": (lambda f: _sqlite_file(f / "notes.db", wal=True),
                            "no such table: meta"),
    "no trials table": (_changed("DROP TABLE trials"), "no such table: trials"),
    "no state table": (_changed("DROP TABLE strategy_state"), "no such table: strategy_state"),
    "wrong schema": (_changed("UPDATE meta SET value = '99' WHERE key = 'schema_version'"),
                     "schema version '99'"),
    "no config": (_changed("DELETE FROM meta WHERE key = 'config'"), "holds no config"),
    "config not JSON": (_changed("UPDATE meta SET value = '{trials: 3' WHERE key = 'config'"),
                        "not JSON"),
    "config a list": (_changed("UPDATE meta SET value = '[1]' WHERE key = 'config'"),
                      "not a JSON object"),
    "no status": (_changed("DELETE FROM meta WHERE key = 'status'"), "holds no 'status'"),
    "times not numbers": (_changed("UPDATE meta SET value = 'noon' WHERE key = 'created_at'"),
                          "unreadable meta value"),
    "state garbage": (_changed("INSERT INTO strategy_state VALUES (1, 1, x'00ff00')"),
                      "not plain tensors"),
    "a directory": (_directory, "a directory"),
    "missing": (lambda f: f / "missing.db", "no run store"),
}


def _files(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


@pytest.mark.parametrize("kind", BAD_FILES)
def test_a_file_that_is_not_a_whole_run_is_refused_and_left_as_it_was(tmp_path, kind):
    make_file, says = BAD_FILES[kind]
    path = make_file(tmp_path)
    before = _files(tmp_path)
    with pytest.raises(ValueError, match=says) as err:
        RunStore(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)
    for read in (read_meta, read_config, read_trials):
        try:  # a reader may read what it needs (the trials of a run with a bad config) ...
            read(path)
        except ValueError as err:  # ... or say in one line that it cannot
            assert str(path) in str(err) and "\n" not in str(err)
    listed = list_runs(tmp_path)  # never raises: the app's run list keeps working
    assert kind in ("no state table", "state garbage") or listed.empty
    # The same bytes (so the same journal mode), and no RUN.lock, -wal or -shm beside it.
    assert _files(tmp_path) == before


def _journal_mode(path):
    return {1: "delete", 2: "wal"}[path.read_bytes()[18]]


def test_reading_a_wal_file_adds_no_files_beside_it(tmp_path):
    path = _sqlite_file(tmp_path / "notes.db", wal=True)
    run = _edit(_run(tmp_path), "PRAGMA journal_mode=WAL")
    before = _files(tmp_path)
    read_meta(run), read_trials(run), list_runs(tmp_path)
    with pytest.raises(ValueError):
        RunStore(path)
    assert _files(tmp_path) == before


# ------------------------------------------------------------ read-only checkouts
def test_sample_runs_ship_in_rollback_journal_mode():
    assert SAMPLE_RUNS, "sample_runs/*.db are part of the repository"
    assert {p.name: _journal_mode(p) for p in SAMPLE_RUNS} == {
        p.name: "delete" for p in SAMPLE_RUNS}


def test_a_run_is_wal_while_written_and_one_file_at_rest(tmp_path):
    store = make(tmp_path)
    assert _journal_mode(store.path) == "delete"  # as created
    store.add_pending(1, [{"arch": "x"}], {"rng": 1})
    assert _journal_mode(store.path) == "wal"  # readers read while it writes
    assert (tmp_path / "a.db-wal").exists()
    store.close()
    assert _journal_mode(store.path) == "delete"
    assert not (tmp_path / "a.db-wal").exists() and not (tmp_path / "a.db-shm").exists()


@pytest.mark.parametrize("mode", ["delete", "wal"])
def test_recorded_runs_read_from_a_read_only_checkout(read_only_view, mode):
    import shutil

    folder, view = read_only_view
    src = SAMPLE_RUN
    shutil.copy(src, folder / "random.db")
    if mode == "wal":  # a run file from before runs were left in rollback-journal mode
        _edit(folder / "random.db", "PRAGMA journal_mode=WAL")
    assert _journal_mode(view / "random.db") == mode
    assert read_meta(view / "random.db") == read_meta(src)
    assert read_config(view / "random.db") == read_config(src)
    assert read_trials(view / "random.db").equals(read_trials(src))
    runs = list_runs(view)
    assert list(runs.name) == ["random"] and list(runs.n_trials) == [300]
