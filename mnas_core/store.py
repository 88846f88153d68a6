"""The run store: one SQLite file per search run.

Open it with pandas (`read_trials`) or the sqlite3 shell. Schema (version 1):

    meta(key TEXT PRIMARY KEY, value TEXT)        schema_version, name, created_at, config
                                                  (JSON), status, pid, updated_at
    trials(trial INTEGER PRIMARY KEY, batch, arch, tokens, status, ...)  one row per candidate,
                                                  inserted 'pending' when asked, then 'ok' or
                                                  'failed' with its figures (TRIAL_COLUMNS)
    strategy_state(id = 1, batch, state)          the strategy right after its last ask:
                                                  tensors and plain data, torch.save bytes

Run files are shared between students, teachers and analysts, so opening one never runs code:
the strategy state is read with torch's weights_only unpickler, which rebuilds tensors, numbers,
strings, lists, tuples and dicts and refuses everything else (`decode_state`).

Crash safety: WAL journal, every write in one transaction (`_tx`), synchronous=NORMAL is
enough under WAL to never corrupt the file; a kill -9 loses at most the trials in flight,
which stay 'pending' and are evaluated again on resume. A new file is built under a temporary
name and linked into place complete, so a kill inside `create` leaves no half-made run.

One writer: a `RunStore` holds an exclusive flock on RUN.lock beside the file for as long as
it is open (`WriterLock`); a second writer is refused with the holder's pid and host. The kernel
drops the lock when its process dies, kill -9 included, so a crash never leaves it behind.
Readers (the app, notebooks: `read_*`) take no lock and may read while a search runs.
"""
from __future__ import annotations

import fcntl
import io
import json
import os
import socket
import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import torch

SCHEMA_VERSION = 1

# Name -> SQL type of every trial column after the key, in table order.
TRIAL_COLUMNS = {
    "batch": "INTEGER", "arch": "TEXT", "tokens": "TEXT", "status": "TEXT", "error": "TEXT",
    "params": "INTEGER", "macs": "INTEGER", "accuracy": "REAL", "top5": "REAL",
    "train_budget": "TEXT", "latency_ms": "REAL", "latency_p10": "REAL", "latency_p90": "REAL",
    "latency_cv": "REAL", "latency_runs": "INTEGER", "latency_source": "TEXT",
    "latency_backend": "TEXT", "fingerprint": "TEXT", "reward": "REAL",
    "train_seconds": "REAL", "latency_seconds": "REAL", "total_seconds": "REAL",
    "worker": "TEXT", "created_at": "REAL", "finished_at": "REAL",
}
STATUSES = ("pending", "ok", "failed")


class RunStore:
    """Read/write access to one run file. Create with `RunStore.create`, open with `RunStore`."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        version = probe(self.path)  # reads without writing: a foreign file stays untouched
        if version != str(SCHEMA_VERSION):
            raise ValueError(f"{self.path}: run store schema version {version!r}, this "
                             f"version of MNAS Explorer reads {SCHEMA_VERSION}")
        self._lock = WriterLock(self.path)  # before the first write, so a refusal changes nothing
        try:
            self.db = _connect(self.path)
        except BaseException:
            self._lock.release()
            raise

    @classmethod
    def create(cls, path: str | Path, config: dict, name: str | None = None) -> "RunStore":
        """A new run file at `path`, built under a temporary name and linked into place only
        once complete (a link never replaces an existing file, so two creators cannot both win)."""
        path = Path(path)
        if path.exists():
            raise ValueError(f"{path} already exists; use resume, or pick another output file")
        tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise ValueError(f"cannot create {path}: {err.strerror}") from None
        if not os.access(path.parent, os.W_OK):  # SQLite would only say "unable to open"
            raise ValueError(f"cannot create {path}: {path.parent} is not writable")
        try:
            db = _connect(tmp)
            cols = ", ".join(f"{c} {t}" for c, t in TRIAL_COLUMNS.items())
            with _tx(db):
                db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
                db.execute(f"CREATE TABLE trials (trial INTEGER PRIMARY KEY, {cols})")
                db.execute("CREATE INDEX trials_status ON trials(status)")
                db.execute("CREATE TABLE strategy_state (id INTEGER PRIMARY KEY "
                           "CHECK (id = 1), batch INTEGER, state BLOB)")
                now = time.time()
                db.executemany("INSERT INTO meta VALUES (?, ?)", [
                    ("schema_version", str(SCHEMA_VERSION)), ("name", name or path.stem),
                    ("created_at", repr(now)), ("updated_at", repr(now)),
                    ("config", json.dumps(config)), ("status", "created"), ("pid", "")])
            db.close()  # the last WAL connection: checkpoints, so tmp is one whole file
            os.link(tmp, path)
        except FileExistsError:
            raise ValueError(f"{path} already exists; use resume, or pick another output "
                             "file") from None
        except (OSError, sqlite3.Error) as err:  # a read-only folder, a full disk, ...
            raise ValueError(f"cannot create {path}: {getattr(err, 'strerror', None) or err}"
                             ) from None
        finally:
            tmp.unlink(missing_ok=True)
        return cls(path)

    def close(self) -> None:
        self.db.close()
        self._lock.release()  # after the database: nothing is written without the lock

    # ------------------------------------------------------------ meta
    def meta(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT key, value FROM meta"))

    def config(self) -> dict:
        return _config(self.meta())

    def set_status(self, status: str, pid: int | None = None) -> None:
        with _tx(self.db):
            self.db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", [
                ("status", status), ("pid", "" if pid is None else str(pid)),
                ("updated_at", repr(time.time()))])

    def set_reward(self, reward: dict) -> None:
        """Record the reward settings the run resolved (T = auto is measured at start)."""
        with _tx(self.db):
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('reward', ?)",
                            (json.dumps(reward),))

    # ------------------------------------------------------------ trials
    def add_pending(self, batch: int, rows: list[dict], strategy_state: dict) -> list[int]:
        """Record an asked batch (arch, tokens, params, macs...) as pending, together with the
        strategy's post-ask state, in one transaction. Returns the new trial ids."""
        ids = []
        with _tx(self.db):
            for row in rows:
                row = {**row, "batch": batch, "status": "pending", "created_at": time.time()}
                ids.append(self._insert(row))
            self._save_state(batch, strategy_state)
        return ids

    def finish(self, trial: int, fields: dict) -> None:
        """Record a finished trial's figures (status 'ok' or 'failed')."""
        if fields.get("status") not in ("ok", "failed"):
            raise ValueError(f"a finished trial has status ok or failed, got {fields.get('status')}")
        fields = {**fields, "finished_at": time.time()}
        _check_columns(fields)
        sets = ", ".join(f"{k} = ?" for k in fields)
        with _tx(self.db):
            self.db.execute(f"UPDATE trials SET {sets} WHERE trial = ?", [*fields.values(), trial])

    def count(self, status: str | None = None) -> int:
        """Number of trials (finished ones when status is None)."""
        sql, args = ("SELECT COUNT(*) FROM trials WHERE status != 'pending'", ()) \
            if status is None else ("SELECT COUNT(*) FROM trials WHERE status = ?", (status,))
        return int(self.db.execute(sql, args).fetchone()[0])

    def trials(self, include_pending: bool = False) -> pd.DataFrame:
        return read_trials(self.path, include_pending, db=self.db)

    def batch_trials(self, batch: int) -> list[dict]:
        """The trials of one batch as plain dicts (the search loop's hot path: no pandas)."""
        cur = self.db.execute("SELECT * FROM trials WHERE batch = ? ORDER BY trial", (batch,))
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row)) for row in cur]

    def strategy_state(self) -> tuple[int, dict] | None:
        """(batch, state) of the strategy right after it asked for `batch`."""
        row = self.db.execute("SELECT batch, state FROM strategy_state").fetchone()
        if row is None:
            return None
        return row[0], decode_state(row[1], self.path)

    def _insert(self, row: dict) -> int:
        _check_columns(row)
        cols = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        return self.db.execute(f"INSERT INTO trials ({cols}) VALUES ({marks})",
                               list(row.values())).lastrowid

    def _save_state(self, batch: int, state: dict) -> None:
        self.db.execute("INSERT OR REPLACE INTO strategy_state VALUES (1, ?, ?)",
                        (batch, encode_state(state)))


def encode_state(state: dict) -> bytes:
    """A strategy's state as bytes that `decode_state` reads back; ValueError when it holds
    anything but tensors and plain data (such a state could not be resumed safely)."""
    buf = io.BytesIO()
    torch.save(state, buf)
    blob = buf.getvalue()
    decode_state(blob, "the strategy's own state")  # refuse now what a resume would refuse
    return blob


def decode_state(blob: bytes, where: str | Path) -> dict:
    """Tensors, numbers, strings, lists, tuples and dicts, or ValueError. torch's weights_only
    unpickler never imports or calls anything outside that set, so no code in `blob` runs."""
    try:
        state = torch.load(io.BytesIO(blob), weights_only=True)
    except Exception as err:  # UnpicklingError, RuntimeError, EOFError, ...: all mean unsafe
        kind = type(err).__name__
        raise ValueError(f"{where}: the stored strategy state is not plain tensors and data "
                         f"({kind}); refusing to load it, since that could run code") from None
    if not isinstance(state, dict):
        raise ValueError(f"{where}: the stored strategy state is a {type(state).__name__}, "
                         "not a dict")
    return state


class WriterLock:
    """An exclusive, non-blocking flock on RUN.lock: at most one writer per run file.

    flock (not SQLite's own fcntl locks) because the kernel releases it when the holding process
    dies however it dies, and because closing a lock-file descriptor never touches the fcntl
    locks SQLite holds on the database itself. The file is left in place when released:
    unlinking a lock file lets two processes lock two different inodes."""

    def __init__(self, run: Path):
        self.path = run.with_name(run.name + ".lock")
        try:
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as err:
            raise ValueError(f"{run}: cannot write beside it ({err.strerror}); a run can "
                             "only be written where its folder is writable") from None
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(self.fd, 200, 0).decode(errors="replace").strip() or "another process"
            os.close(self.fd)
            raise ValueError(f"{run} is already being written by {holder}; stop that search "
                             "first, or wait for it to end") from None
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, f"pid {os.getpid()} on {socket.gethostname()}\n".encode(), 0)

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def writer_of(run: str | Path) -> str | None:
    """'pid N on HOST' of the process writing `run`, or None when nobody is. Takes no lock
    that outlives the call and creates no file."""
    path = Path(run).with_name(Path(run).name + ".lock")
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
    finally:
        os.close(fd)  # also releases the probe's lock when it got one
    return None


def probe(path: Path) -> str | None:
    """The schema version a run file declares (None if it declares none). Opens the file
    read-only (`_reader`), so it is never changed; ValueError naming the file when it is
    missing or not a run file (empty, truncated, garbage, another program's database)."""
    try:
        db = _reader(path)
        try:
            row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            db.execute("SELECT trial, status FROM trials LIMIT 0")
        finally:
            db.close()
    except sqlite3.DatabaseError as err:  # includes "file is not a database", "no such table"
        raise ValueError(f"{path} is not an MNAS Explorer run file ({err})") from None
    return None if row is None else str(row[0])


def _connect(path: Path) -> sqlite3.Connection:
    # isolation_level=None: we issue BEGIN/COMMIT ourselves in _tx.
    db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    return db


@contextmanager
def _tx(db: sqlite3.Connection):
    """One transaction: commit on success, roll back on any error (Ctrl-C included)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _check_columns(row: dict) -> None:
    unknown = set(row) - set(TRIAL_COLUMNS)
    if unknown:
        raise ValueError(f"unknown trial column(s): {', '.join(sorted(unknown))}")


# ------------------------------------------------------------ read API (pandas)
def read_trials(path: str | Path, include_pending: bool = False,
                db: sqlite3.Connection | None = None) -> pd.DataFrame:
    """All finished trials of a run, one row each, in trial order."""
    own = db is None
    db = db or _reader(path)
    try:
        where = "" if include_pending else "WHERE status != 'pending'"
        return pd.read_sql_query(f"SELECT * FROM trials {where} ORDER BY trial", db)
    finally:
        if own:
            db.close()


def read_config(path: str | Path) -> dict:
    """The run's config; `reward` holds the resolved target T once the run has started."""
    db = _reader(path)
    try:
        return _config(dict(db.execute("SELECT key, value FROM meta")))
    finally:
        db.close()


def _config(meta: dict) -> dict:
    cfg = json.loads(meta["config"])
    if "reward" in meta:
        cfg["reward"] = json.loads(meta["reward"])
    return cfg


def read_meta(path: str | Path) -> dict:
    """status ('created' | 'running' | 'finished' | 'stopped' | 'failed'), pid, name, times
    and counts. A run marked running whose process is gone reads as 'stopped'."""
    db = _reader(path)
    try:
        meta = dict(db.execute("SELECT key, value FROM meta"))
        counts = dict(db.execute("SELECT status, COUNT(*) FROM trials GROUP BY status"))
        last = db.execute("SELECT MAX(finished_at) FROM trials").fetchone()[0]
    finally:
        db.close()
    pid = int(meta["pid"]) if meta.get("pid") else None
    status = meta["status"]
    if status == "running" and (pid is None or not _alive(pid)):
        status = "stopped"
    return {"name": meta["name"], "status": status, "pid": pid,
            "created_at": float(meta["created_at"]),
            "updated_at": max(float(meta["updated_at"]), last or 0.0),
            "n_trials": counts.get("ok", 0) + counts.get("failed", 0),
            "n_failed": counts.get("failed", 0), "n_pending": counts.get("pending", 0)}


def list_runs(*folders: str | Path) -> pd.DataFrame:
    """One row per run file (*.db) in the folders: path, name, status, strategy, reward
    settings, trial counts. Files that are not run stores are skipped."""
    rows = []
    for folder in folders:
        for path in sorted(Path(folder).glob("*.db")):
            try:
                meta, cfg = read_meta(path), read_config(path)
            except (sqlite3.DatabaseError, KeyError, ValueError):
                continue
            reward = cfg.get("reward") or {}  # None until a run with T = auto measures T
            rows.append({"path": str(path), "name": meta["name"], "status": meta["status"],
                         "strategy": cfg.get("strategy"), "alpha": reward.get("alpha"),
                         "beta": reward.get("beta"), "target_ms": reward.get("target_ms"),
                         "n_trials": meta["n_trials"], "n_failed": meta["n_failed"],
                         "created_at": meta["created_at"]})
    return pd.DataFrame(rows, columns=["path", "name", "status", "strategy", "alpha", "beta",
                                       "target_ms", "n_trials", "n_failed", "created_at"])


def _reader(path: str | Path) -> sqlite3.Connection:
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no run store at {path}")
    # Read-only, so reading never changes a file. A WAL file whose writer is gone needs a -shm
    # file that a read-only folder cannot hold; there it is read immutable, which sees what was
    # checkpointed (recorded runs ship in rollback-journal mode, where that is everything).
    uri = path.resolve().as_uri()
    db = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=30)
    try:
        db.execute("SELECT 1 FROM sqlite_master LIMIT 1")
    except sqlite3.OperationalError as err:
        db.close()
        if "unable to open" not in str(err):
            raise
        db = sqlite3.connect(f"{uri}?immutable=1", uri=True)
    return db


def _alive(pid: int) -> bool:
    """True while process `pid` runs. A search that ended but was not yet reaped by the
    process that spawned it (a zombie, state Z) counts as gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no procfs: trust the signal probe
    return stat.rpartition(")")[2].split()[0] != "Z"
