"""`mnas search` on bad input: one line on stderr, exit code 2, and nothing changed or left
half-made (issue 14, items 5 and 7)."""
import dataclasses
import json
import os
import socket
import sqlite3
import subprocess
import threading
import time

import pytest

from mnas_core.cli import main
from mnas_core.search import LatencySetup, start_run
from mnas_core.store import encode_state, read_meta, read_trials
from tests.test_search import tiny_config
from tests.test_store import BAD_FILES

# A new run that would finish in seconds, were it not refused first.
TINY = ["--strategy", "random", "--trials", "2", "--batch", "1", "--steps", "1",
        "--train-images", "160", "--executor", "inprocess", "--target", "5", "--no-progress"]


def _one_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("mnas search: error: "), err
    assert "Traceback" not in err
    return err


def _files(folder):
    """Names of everything in `folder`, and the bytes of each file but the writer's lock
    (which holds the pid of whoever last opened the run to write)."""
    return {p.name: None if p.suffix == ".lock" or p.is_dir() else p.read_bytes()
            for p in folder.iterdir()}


def _real_run(tmp_path, **changes):
    """A run of tiny_config's search, closed as `mnas search --out` leaves it."""
    runs = tmp_path / "runs"
    runs.mkdir(exist_ok=True)
    start_run(tiny_config(tmp_path, **changes), runs / "run.db").close()
    return runs / "run.db"


def _config_field(**fields):
    def make(tmp_path):
        path = _real_run(tmp_path)
        db = sqlite3.connect(path)
        cfg = json.loads(db.execute("SELECT value FROM meta WHERE key = 'config'").fetchone()[0])
        db.execute("UPDATE meta SET value = ? WHERE key = 'config'",
                   (json.dumps({**cfg, **fields}),))
        db.commit()
        db.close()
        return path
    return make


def _state(state):
    def make(tmp_path):
        path = _real_run(tmp_path)
        db = sqlite3.connect(path)
        db.execute("INSERT INTO strategy_state VALUES (1, 1, ?)", (encode_state(state),))
        db.commit()
        db.close()
        return path
    return make


def _store_level(kind):
    make, says = BAD_FILES[kind]

    def in_runs(tmp_path):
        (tmp_path / "runs").mkdir(exist_ok=True)
        return make(tmp_path / "runs")
    return in_runs, says


# Every kind of run file the store refuses, and those only the search can refuse.
RESUME_KINDS = {kind: _store_level(kind) for kind in BAD_FILES} | {
    "config with an unknown field": (_config_field(colour="red"),
                                     "search config: unknown field(s) 'colour'"),
    "config field of the wrong type": (_config_field(trials="many"),
                                       "search config: trials must be an integer, got 'many'"),
    "latency setting unknown": (_config_field(latency={**dataclasses.asdict(LatencySetup()),
                                                       "options": {"colour": 1}}),
                                "latency: measured source: unknown field(s) 'colour'"),
    "state for another strategy": (_state({"rng": 1}), "does not fit this strategy"),
}


@pytest.mark.parametrize("kind", RESUME_KINDS)
def test_resuming_a_bad_run_file_is_one_line_and_changes_nothing(tmp_path, capsys, kind):
    make, says = RESUME_KINDS[kind]
    path = make(tmp_path)
    before = _files(path.parent)
    assert main(["search", "--resume", str(path), "--no-progress"]) == 2
    err = _one_line(capsys)
    assert says in err and str(path) in err
    assert _files(path.parent) == before  # not marked failed, no RUN.lock, -wal or -shm added


# ------------------------------------------------------------ new runs
def test_out_in_a_read_only_folder(read_only_view, capsys):
    folder, view = read_only_view
    assert main(["search", *TINY, "--out", str(view / "r.db")]) == 2
    assert "is not writable" in _one_line(capsys)
    assert list(folder.iterdir()) == []


def test_resume_in_a_read_only_folder(tmp_path, read_only_view, capsys):
    import shutil

    folder, view = read_only_view
    shutil.copy(_real_run(tmp_path), folder / "run.db")
    before = _files(folder)
    assert main(["search", "--resume", str(view / "run.db"), "--no-progress"]) == 2
    assert "cannot write beside it" in _one_line(capsys)
    assert _files(folder) == before


def test_space_file_missing(tmp_path, capsys):
    assert main(["search", *TINY, "--space", str(tmp_path / "no.json"),
                 "--out", str(tmp_path / "r.db")]) == 2
    assert "no.json" in _one_line(capsys)
    assert list(tmp_path.iterdir()) == []


def test_a_dataset_that_does_not_load_creates_no_run_file(tmp_path, capsys):
    """The dataset loads in the search's start; it is loaded before the run file is made."""
    assert main(["search", *TINY, "--dataset", f"folder:{tmp_path / 'none'}",
                 "--out", str(tmp_path / "r.db")]) == 2
    assert "does not exist" in _one_line(capsys)
    assert list(tmp_path.iterdir()) == []


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed on exit: nothing listens there


@pytest.mark.parametrize("where", ["usb", "tcp"])
def test_latency_phone_with_no_phone_creates_no_run_file(tmp_path, capsys, monkeypatch,
                                                         where):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # the ADB key made on connecting
    runs = tmp_path / "runs"
    runs.mkdir()
    phone = ["--latency-option", "connect.host=127.0.0.1",
             "--latency-option", f"connect.port={_closed_port()}"] if where == "tcp" else []
    assert main(["search", *TINY, "--latency", "phone", *phone,
                 "--out", str(runs / "r.db")]) == 2
    assert "--latency phone: " in _one_line(capsys)
    assert list(runs.iterdir()) == []


def test_resuming_a_phone_run_with_no_phone_changes_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    port = _closed_port()
    path = _real_run(tmp_path, latency={**dataclasses.asdict(LatencySetup()), "source": "phone",
                                        "options": {"connect": {"host": "127.0.0.1",
                                                                "port": port}}})
    before = _files(path.parent)
    assert main(["search", "--resume", str(path), "--no-progress"]) == 2
    assert "--latency phone: " in (err := _one_line(capsys)) and f"127.0.0.1:{port}" in err
    assert _files(path.parent) == before
    assert read_meta(path)["status"] == "created"


# ------------------------------------------------------------ a full disk
@pytest.fixture
def small_disk(tmp_path):
    """A 16 MiB tmpfs: a disk that can be filled in a moment (mounting needs root)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    disk = tmp_path / "disk"
    disk.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(disk)],
                          capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield disk
    finally:  # lazily if a failed test still holds a file open there: never leave it mounted
        if subprocess.run(["umount", str(disk)], capture_output=True, timeout=30).returncode:
            subprocess.run(["umount", "-l", str(disk)], timeout=30)


def _fill(disk, name="filler"):
    """Write until the disk is full (ENOSPC); returns the filler's path."""
    fd = os.open(disk / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    try:
        while True:  # the last write that fits is a short one; the next one fails
            os.write(fd, b"\0" * 65536)
    except OSError as err:
        assert err.errno == 28, err  # ENOSPC
    finally:
        os.close(fd)
    return disk / name


@pytest.mark.slow
def test_a_full_disk_loses_nothing_and_the_run_resumes(tmp_path, small_disk, capsys):
    path = small_disk / "run.db"
    start_run(tiny_config(tmp_path, strategy="random", trials=4, batch_size=2), path).close()
    seen, ended = {}, threading.Event()

    def fill_after_two_trials():  # the disk fills up while the search runs
        deadline = time.time() + 240
        while time.time() < deadline and not ended.is_set() and len(read_trials(path)) < 2:
            time.sleep(0.02)
        seen["filler"] = _fill(small_disk)
        seen["trials"] = read_trials(path)

    filler = threading.Thread(target=fill_after_two_trials)
    filler.start()
    try:
        assert main(["search", "--resume", str(path), "--no-progress"]) == 2
    finally:
        ended.set()
        filler.join(timeout=300)
    err = _one_line(capsys)
    assert "the disk is full" in err and str(path) in err
    kept = seen["trials"]
    assert 2 <= len(kept) < 4
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    db.close()
    assert read_trials(path).equals(kept)  # the recorded trials, intact
    # Still full (closing freed the write-ahead log's space: fill that too): refused again
    # at the first write, in one line, nothing lost.
    more = _fill(small_disk, "filler2")
    assert main(["search", "--resume", str(path), "--no-progress"]) == 2
    assert "the disk is full" in _one_line(capsys)
    assert read_trials(path).equals(kept)
    seen["filler"].unlink()  # space is back: the run continues where it stopped
    more.unlink()
    assert main(["search", "--resume", str(path), "--no-progress"]) == 0
    done = read_trials(path)
    assert len(done) == 4 and done.trial.is_unique and (done.status == "ok").all()
    assert done.set_index("trial").loc[kept.trial].reset_index().equals(kept)
