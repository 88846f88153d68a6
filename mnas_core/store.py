"""The run store: one SQLite file per search run.

Open it with pandas (`read_trials`) or the sqlite3 shell; the schema, the statuses and the
read-only side live in mnas_core.runread and are re-exported here. This module writes.

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

# Re-exported: the schema, the readers, the state codec and the writer lock are part of the
# store's interface.
from .runfile import WriterLock, decode_state, encode_state, writer_of
from .runread import (LATER_COLUMNS, SCHEMA_VERSION, TRIAL_COLUMNS, VERIFIED_COLUMNS, RunStatus,
                      TrialStatus, _config, check_run, list_runs, probe, read_config, read_meta,
                      read_trials, read_verified)

__all__ = ["RunStore", "SCHEMA_VERSION", "TRIAL_COLUMNS", "VERIFIED_COLUMNS", "RunStatus",
           "TrialStatus", "check_run", "list_runs", "probe", "read_config", "read_meta",
           "read_trials", "read_verified", "WriterLock", "decode_state", "encode_state",
           "writer_of"]


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
        self._state_checked = False  # the first state written is read back (`_save_state`)

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
                    ("config", json.dumps(config)), ("status", RunStatus.CREATED), ("pid", "")])
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
                self._add_later_columns()
            with _tx(self.db):
                yield
        except sqlite3.Error as err:
            full = getattr(err, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
            raise ValueError(
                f"{self.path}: the disk is full; the trials recorded so far are kept: free "
                "some space and resume the run" if full else
                f"{self.path}: cannot write the run file ({err})") from None

    def _add_later_columns(self) -> None:
        """A file from before a LATER_COLUMNS column gets it (empty) before it is written."""
        have = {row[1] for row in self.db.execute("PRAGMA table_info(trials)")}
        with _tx(self.db):
            for col in LATER_COLUMNS:
                if col not in have:
                    self.db.execute(f"ALTER TABLE trials ADD COLUMN {col} {TRIAL_COLUMNS[col]}")

    # ------------------------------------------------------------ meta
    def meta(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT key, value FROM meta"))

    def config(self) -> dict:
        return _config(self.meta(), self.path)

    def set_status(self, status: RunStatus | str, pid: int | None = None) -> None:
        status = RunStatus(status)  # ValueError for a status no reader would understand
        with self._write():
            self.db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", [
                ("status", status), ("pid", "" if pid is None else str(pid)),
                ("updated_at", repr(time.time()))])

    def set_phase(self, phase: str) -> None:
        """Say what the search is doing now ("batch 3: training 2 of 8 ..."), for a reader
        such as the app to show; read back by read_meta as `phase` with its time."""
        with self._write():
            self.db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", [
                ("phase", phase), ("phase_at", repr(time.time()))])

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
                row = {**row, "batch": batch, "status": TrialStatus.PENDING,
                       "created_at": time.time()}
                ids.append(self._insert(row))
            self._save_state(batch, strategy_state)
        return ids

    def finish(self, trial: int, fields: dict) -> None:
        """Record a finished trial's figures (status 'ok' or 'failed')."""
        self.finish_many([(trial, fields)])

    def finish_many(self, finished: list[tuple[int, dict]]) -> None:
        """Record several finished trials, (trial, fields) each, in one transaction: a
        search that predicts rather than trains finishes thousands a second, and one commit
        per trial would cost more than the predictions."""
        now, updates = time.time(), []
        for trial, fields in finished:
            if fields.get("status") not in (TrialStatus.OK, TrialStatus.FAILED):
                raise ValueError(f"a finished trial has status ok or failed, got "
                                 f"{fields.get('status')}")
            fields = {**fields, "finished_at": now}
            _check_columns(fields)
            updates.append((", ".join(f"{k} = ?" for k in fields), [*fields.values(), trial]))
        with self._write():
            for sets, args in updates:
                self.db.execute(f"UPDATE trials SET {sets} WHERE trial = ?", args)

    def count(self, status: str | None = None) -> int:
        """Number of trials (finished ones when status is None)."""
        sql, args = ("SELECT COUNT(*) FROM trials WHERE status != ?", (TrialStatus.PENDING,)) \
            if status is None else ("SELECT COUNT(*) FROM trials WHERE status = ?", (status,))
        return int(self.db.execute(sql, args).fetchone()[0])

    def fingerprints(self) -> set[str]:
        """The latency fingerprints its timed trials carry (one, for a run timed in one place)."""
        return {r[0] for r in self.db.execute(
            "SELECT DISTINCT fingerprint FROM trials WHERE fingerprint IS NOT NULL")}

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

    # ------------------------------------------------------------ verified trials
    def add_verified(self, trial: int, fields: dict) -> None:
        """Record the real training of `trial` (mnas_core.verify): VERIFIED_COLUMNS, status
        ok or failed; it replaces an earlier record of that trial. The `verified` table is
        made at the first one (runread's docstring), in the same transaction, so a kill -9
        leaves either no table or one that holds every record committed before it."""
        if fields.get("status") not in (TrialStatus.OK, TrialStatus.FAILED):
            raise ValueError(f"a verified trial has status ok or failed, got "
                             f"{fields.get('status')}")
        unknown = set(fields) - set(VERIFIED_COLUMNS)
        if unknown:
            raise ValueError(f"unknown verified column(s): {', '.join(sorted(unknown))}")
        if self.db.execute("SELECT 1 FROM trials WHERE trial = ?", (trial,)).fetchone() is None:
            raise ValueError(f"{self.path} has no trial {trial}")
        row = {"trial": trial, **fields, "verified_at": fields.get("verified_at", time.time())}
        cols = ", ".join(f"{c} {t}" for c, t in VERIFIED_COLUMNS.items())
        with self._write():
            self.db.execute("CREATE TABLE IF NOT EXISTS verified (trial INTEGER PRIMARY KEY "
                            f"REFERENCES trials(trial), {cols})")
            self.db.execute(f"INSERT OR REPLACE INTO verified ({', '.join(row)}) VALUES "
                            f"({', '.join('?' for _ in row)})", list(row.values()))

    def verified(self) -> pd.DataFrame:
        return read_verified(self.path, db=self.db)

    def _insert(self, row: dict) -> int:
        _check_columns(row)
        cols = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        return self.db.execute(f"INSERT INTO trials ({cols}) VALUES ({marks})",
                               list(row.values())).lastrowid

    def _save_state(self, batch: int, state: dict) -> None:
        # A strategy's state holds the same kinds of thing every batch, so reading the first
        # one back is enough to refuse what a resume would refuse (it cost 18 ms a batch).
        blob = encode_state(state, check=not self._state_checked)
        self.db.execute("INSERT OR REPLACE INTO strategy_state VALUES (1, ?, ?)", (batch, blob))
        self._state_checked = True



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
