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

Crash safety: every write in one transaction (`_tx`) under a WAL journal; synchronous=NORMAL
is enough under WAL to never corrupt the file; a kill -9 loses at most the trials in flight,
which stay 'pending' and are evaluated again on resume. A new file is built under a temporary
name and linked into place complete, so a kill inside `create` leaves no half-made run.

Journal mode: a run file at rest is in rollback-journal mode, one self-contained file that
SQLite reads on a read-only mount or medium (a WAL file there needs a -shm file that cannot be
made). A writer switches it to WAL at its first write, so readers keep reading while it
writes, and back when it closes; the switch back needs no other connection open, so a reader
at that moment (or a kill -9) leaves it in WAL, which readers handle too (`_reader`). The
recorded runs of sample_runs/ ship in rollback-journal mode.

Files that are not ours are never changed: `check_run` reads a file read-only (header, schema,
integrity, meta, config, strategy state) before a writer locks or writes it, and nothing is
written until the first write is asked for, so a refused resume leaves the file as it was.
Every failure to read a run file is a ValueError naming it.

One writer: a `RunStore` holds an exclusive flock on RUN.lock beside the file for as long as
it is open (`WriterLock`); a second writer is refused with the holder's pid and host. The kernel
drops the lock when its process dies, kill -9 included, so a crash never leaves it behind.
Readers (the app, notebooks: `read_*`) take no lock and may read while a search runs.
"""
from __future__ import annotations

import json
import os
import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

# Re-exported: the state codec and the writer lock are part of the store's interface.
from .runfile import WriterLock, decode_state, encode_state, writer_of  # noqa: F401

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
        check_run(self.path)  # reads without writing: a foreign file stays untouched
        self._lock = WriterLock(self.path)  # before the first write, so a refusal changes nothing
        try:
            self.db = _connect(self.path)
        except BaseException:
            self._lock.release()
            raise
        self._wal = False  # switched to at the first write (`_write`), back on close

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
            db = _connect(tmp)  # rollback journal: the file at rest (see the module docstring)
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
            db.close()
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
        try:
            if self._wal:  # back to one self-contained file; fails (harmlessly) while a
                self.db.execute("PRAGMA journal_mode=DELETE")  # reader has it open
        except sqlite3.Error:
            pass
        finally:
            self.db.close()
            self._lock.release()  # after the database: nothing is written without the lock

    @contextmanager
    def _write(self):
        """One transaction, in WAL mode from the first write on. A failed write (a full disk,
        a read-only file) becomes a ValueError naming the file; what was committed stays."""
        try:
            if not self._wal:
                wal = self.db.execute("PRAGMA journal_mode=WAL").fetchone()[0] == "wal"
                self.db.execute(f"PRAGMA synchronous={'NORMAL' if wal else 'FULL'}")
                self._wal = True
            with _tx(self.db):
                yield
        except sqlite3.Error as err:
            full = getattr(err, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
            raise ValueError(
                f"{self.path}: the disk is full; the trials recorded so far are kept: free "
                "some space and resume the run" if full else
                f"{self.path}: cannot write the run file ({err})") from None

    # ------------------------------------------------------------ meta
    def meta(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT key, value FROM meta"))

    def config(self) -> dict:
        return _config(self.meta(), self.path)

    def set_status(self, status: str, pid: int | None = None) -> None:
        with self._write():
            self.db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", [
                ("status", status), ("pid", "" if pid is None else str(pid)),
                ("updated_at", repr(time.time()))])

    def set_reward(self, reward: dict) -> None:
        """Record the reward settings the run resolved (T = auto is measured at start)."""
        with self._write():
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('reward', ?)",
                            (json.dumps(reward),))

    # ------------------------------------------------------------ trials
    def add_pending(self, batch: int, rows: list[dict], strategy_state: dict) -> list[int]:
        """Record an asked batch (arch, tokens, params, macs...) as pending, together with the
        strategy's post-ask state, in one transaction. Returns the new trial ids."""
        ids = []
        with self._write():
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
        with self._write():
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


def probe(path: Path) -> str | None:
    """The schema version a run file declares (None if it declares none). Opens the file
    read-only (`_reader`), so it is never changed; ValueError naming the file when it is
    missing or not a run file (empty, truncated, garbage, another program's database)."""
    with _reading(path) as db:
        row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        db.execute("SELECT trial, status FROM trials LIMIT 0")
    return None if row is None else str(row[0])


def check_run(path: Path) -> None:
    """ValueError naming the file unless `path` is a whole run file of this schema that a
    writer can continue: its pages pass SQLite's quick_check, its meta and config parse, its
    tables have their columns and its strategy state loads. Reads only."""
    version = probe(path)
    if version != str(SCHEMA_VERSION):
        raise ValueError(f"{path}: run store schema version {version!r}, this version of MNAS "
                         f"Explorer reads {SCHEMA_VERSION}")
    with _reading(path) as db:
        check = db.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            raise ValueError(f"{path} is damaged (SQLite's quick_check: {check})")
        meta = dict(db.execute("SELECT key, value FROM meta"))
        columns = {row[1] for row in db.execute("PRAGMA table_info(trials)")}
        state = db.execute("SELECT state FROM strategy_state").fetchone()
    missing = set(TRIAL_COLUMNS) - columns
    if missing:
        raise ValueError(f"{path}: its trials table lacks {', '.join(sorted(missing))}")
    _summary(path, meta, {}, None)
    _config(meta, path)
    if state is not None:
        decode_state(state[0], path)


def _connect(path: Path) -> sqlite3.Connection:
    # isolation_level=None: we issue BEGIN/COMMIT ourselves in _tx. The journal stays as the
    # file has it until RunStore's first write (`_write`).
    return sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)


@contextmanager
def _tx(db: sqlite3.Connection):
    """One transaction: commit on success, roll back on any error (Ctrl-C included)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:  # a failed COMMIT (a full disk) may have rolled back already
            db.execute("ROLLBACK")
        raise


def _check_columns(row: dict) -> None:
    unknown = set(row) - set(TRIAL_COLUMNS)
    if unknown:
        raise ValueError(f"unknown trial column(s): {', '.join(sorted(unknown))}")


# ------------------------------------------------------------ read API (pandas)
def read_trials(path: str | Path, include_pending: bool = False,
                db: sqlite3.Connection | None = None) -> pd.DataFrame:
    """All finished trials of a run, one row each, in trial order."""
    where = "" if include_pending else "WHERE status != 'pending'"
    sql = f"SELECT * FROM trials {where} ORDER BY trial"
    if db is not None:
        return pd.read_sql_query(sql, db)
    with _reading(path) as db:
        return pd.read_sql_query(sql, db)


def read_config(path: str | Path) -> dict:
    """The run's config; `reward` holds the resolved target T once the run has started."""
    with _reading(path) as db:
        meta = dict(db.execute("SELECT key, value FROM meta"))
    return _config(meta, path)


def _config(meta: dict, path: str | Path) -> dict:
    try:
        cfg = json.loads(meta["config"])
        reward = json.loads(meta["reward"]) if "reward" in meta else None
    except KeyError:
        raise ValueError(f"{path}: its meta table holds no config") from None
    except (TypeError, ValueError) as err:  # json's errors are ValueErrors without the file
        raise ValueError(f"{path}: its stored config is not JSON ({err})") from None
    if not isinstance(cfg, dict) or not isinstance(reward, (dict, type(None))):
        raise ValueError(f"{path}: its stored config is not a JSON object")
    if "reward" in meta:
        cfg["reward"] = reward
    return cfg


def read_meta(path: str | Path) -> dict:
    """status ('created' | 'running' | 'finished' | 'stopped' | 'failed'), pid, name, times
    and counts. A run marked running whose process is gone reads as 'stopped'."""
    with _reading(path) as db:
        meta = dict(db.execute("SELECT key, value FROM meta"))
        counts = dict(db.execute("SELECT status, COUNT(*) FROM trials GROUP BY status"))
        last = db.execute("SELECT MAX(finished_at) FROM trials").fetchone()[0]
    return _summary(path, meta, counts, last)


def _summary(path, meta: dict, counts: dict, last) -> dict:
    try:
        pid = int(meta["pid"]) if meta.get("pid") else None
        status, name = str(meta["status"]), str(meta["name"])
        created, updated = float(meta["created_at"]), max(float(meta["updated_at"]),
                                                          float(last or 0.0))
    except KeyError as err:
        raise ValueError(f"{path}: its meta table holds no {err}") from None
    except (TypeError, ValueError) as err:
        raise ValueError(f"{path}: unreadable meta value ({err})") from None
    if status == "running" and (pid is None or not _alive(pid)):
        status = "stopped"
    return {"name": name, "status": status, "pid": pid, "created_at": created,
            "updated_at": updated, "n_trials": counts.get("ok", 0) + counts.get("failed", 0),
            "n_failed": counts.get("failed", 0), "n_pending": counts.get("pending", 0)}


def list_runs(*folders: str | Path) -> pd.DataFrame:
    """One row per run file (*.db) in the folders: path, name, status, strategy, reward
    settings, trial counts. Files that are not run stores of this schema are skipped."""
    rows = []
    for folder in folders:
        for path in sorted(Path(folder).glob("*.db")):
            try:
                if probe(path) != str(SCHEMA_VERSION):  # a newer version's: not ours to read
                    continue
                meta, cfg = read_meta(path), read_config(path)
            except ValueError:  # every reader's failure is one (`_reading`)
                continue
            reward = cfg.get("reward") or {}  # None until a run with T = auto measures T
            rows.append({"path": str(path), "name": meta["name"], "status": meta["status"],
                         "strategy": cfg.get("strategy"), "alpha": reward.get("alpha"),
                         "beta": reward.get("beta"), "target_ms": reward.get("target_ms"),
                         "n_trials": meta["n_trials"], "n_failed": meta["n_failed"],
                         "created_at": meta["created_at"]})
    return pd.DataFrame(rows, columns=["path", "name", "status", "strategy", "alpha", "beta",
                                       "target_ms", "n_trials", "n_failed", "created_at"])


@contextmanager
def _reading(path: str | Path):
    """A read-only connection to the run file `path` (`_reader`); SQLite's errors while
    reading (a truncated page, a missing table) become a ValueError naming the file."""
    db = _reader(path)
    try:
        yield db
    except (sqlite3.DatabaseError, pd.errors.DatabaseError) as err:
        err = err.__cause__ or err  # pandas wraps SQLite's error in a message with the query
        raise ValueError(f"{path} is not a readable MNAS Explorer run file ({err})") from None
    finally:
        db.close()


_MAGIC = b"SQLite format 3\x00"


def _reader(path: str | Path) -> sqlite3.Connection:
    """Opens `path` read-only, so reading never changes it or adds files beside it.

    The header is checked first: an empty, truncated or non-SQLite file is refused before
    SQLite sees it. A WAL-mode file with no -wal beside it (no writer has it open, and none was
    killed mid-write) is read immutable: opening it otherwise makes -wal and -shm files that a
    read-only connection cannot remove, and a read-only folder cannot hold. With a -wal
    (a writer at work, or killed), a plain read-only open sees its latest commits."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no run store at {path}" + (" (a directory)" if path.is_dir() else ""))
    try:
        with open(path, "rb") as f:
            head = f.read(100)
        size = path.stat().st_size
    except OSError as err:
        raise ValueError(f"cannot read {path}: {err.strerror}") from None
    if not head:
        raise ValueError(f"{path} is empty, not an MNAS Explorer run file")
    if len(head) < 100 or not head.startswith(_MAGIC):
        raise ValueError(f"{path} is not an MNAS Explorer run file (not an SQLite database)")
    page = int.from_bytes(head[16:18], "big")
    whole = (65536 if page == 1 else page) * int.from_bytes(head[28:32], "big")
    has_wal = Path(f"{path}-wal").exists()
    # The header's page count is valid when its change counter matches (SQLite's file
    # format, 1.3.7); without a -wal, a whole file holds all of those pages.
    if head[24:28] == head[92:96] and not has_wal and size < whole:
        raise ValueError(f"{path} is truncated ({size} of {whole} bytes)")
    uri = path.resolve().as_uri()
    if head[18] == 2 and not has_wal:
        return sqlite3.connect(f"{uri}?immutable=1", uri=True)
    db = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=30)
    try:
        db.execute("SELECT 1 FROM sqlite_master LIMIT 1")
    except sqlite3.DatabaseError as err:
        db.close()
        if "unable to open" not in str(err):
            raise ValueError(f"{path} is not a readable MNAS Explorer run file ({err})") \
                from None
        # A WAL file left by a killed writer in a read-only folder: no -shm can be made there,
        # so read what was checkpointed.
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
