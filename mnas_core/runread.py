"""Reading run files (mnas_core.store) without changing them: the schema they follow, the
statuses they record, `check_run`, and the pandas read API (`read_trials`, `read_verified`,
`read_config`, `read_meta`, `list_runs`). Everything here opens a file read-only (`_reader`),
takes no lock and needs no torch until a strategy state is checked; mnas_core.store
re-exports it all.

Schema (version 1):

    meta(key TEXT PRIMARY KEY, value TEXT)        schema_version, name, created_at, config
                                                  (JSON), status (RunStatus), pid, updated_at
    trials(trial INTEGER PRIMARY KEY, batch, arch, tokens, status, ...)  one row per candidate,
                                                  inserted 'pending' when asked, then 'ok' or
                                                  'failed' with its figures (TRIAL_COLUMNS)
    strategy_state(id = 1, batch, state)          the strategy right after its last ask:
                                                  tensors and plain data, torch.save bytes
    verified(trial INTEGER PRIMARY KEY, status, predicted, accuracy, ...)  optional: the real
                                                  proxy training of a predicted run's trial
                                                  beside its prediction (`mnas verify`,
                                                  mnas_core.verify; VERIFIED_COLUMNS)

The `verified` table was added to schema 1 later: a writer creates it at the first verified
trial (RunStore.add_verified), and a file without it reads as verified nothing
(`read_verified`), so files from before stay readable and the version stays 1.
"""
from __future__ import annotations

import enum
import json
import os
import sqlite3
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from .runfile import decode_state

try:
    from enum import StrEnum
except ImportError:  # Python 3.10: the same behaviour, spelled out
    class StrEnum(str, enum.Enum):
        def __str__(self) -> str:
            return str(self.value)


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
    "accuracy_source": "TEXT",
}
# Columns added to schema 1 later. A file written before has none of them and stays readable:
# readers see them as empty (an empty accuracy_source is a training, all there was), and a
# writer adds them at its first write (RunStore._write).
LATER_COLUMNS = ("accuracy_source",)

# Name -> SQL type of every column of the optional `verified` table after its key `trial`
# (a trials.trial): one real training of a predicted trial, on the task and budget its
# predictor was fitted on, so that both figures stay comparable.
VERIFIED_COLUMNS = {
    "status": "TEXT",            # TrialStatus ok, or failed with `error`
    "error": "TEXT",
    "predicted": "REAL",         # the trial's predicted top-1 (its trials.accuracy)
    "accuracy": "REAL",          # the trained validation top-1
    "top5": "REAL",
    "dataset": "TEXT",           # JSON: the predictor's dataset (what the data is, not where)
    "train_budget": "TEXT",      # JSON: the predictor's training budget (TrainConfig fields)
    "predictor_sha256": "TEXT",  # the predictor file the prediction was checked against
    "train_seconds": "REAL", "total_seconds": "REAL", "worker": "TEXT", "verified_at": "REAL",
}


class TrialStatus(StrEnum):
    """A trial row's status. Members are the strings stored in the file, and compare equal
    to them, so files written before the enum existed read the same."""
    PENDING = "pending"  # asked, not yet evaluated (or in flight when a search was killed)
    OK = "ok"
    FAILED = "failed"    # the model could not be timed or trained; `error` says why


class RunStatus(StrEnum):
    """A run's status in its meta table (`RunStore.set_status`, `read_meta`)."""
    CREATED = "created"    # the file exists; no search has written it yet
    RUNNING = "running"    # a search holds it (read as STOPPED once its process is gone)
    FINISHED = "finished"  # the trial budget is spent
    STOPPED = "stopped"    # interrupted (Ctrl-C, SIGTERM, the app's Stop); resumable
    FAILED = "failed"      # the search raised; resumable once the cause is fixed


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
        verified = _columns(db, "verified")
    missing = set(TRIAL_COLUMNS) - set(LATER_COLUMNS) - columns
    if missing:
        raise ValueError(f"{path}: its trials table lacks {', '.join(sorted(missing))}")
    missing = {"trial", *VERIFIED_COLUMNS} - verified if verified else set()
    if missing:
        raise ValueError(f"{path}: its verified table lacks {', '.join(sorted(missing))}")
    _summary(path, meta, {}, None)
    _config(meta, path)
    if state is not None:
        decode_state(state[0], path)


# ------------------------------------------------------------ read API (pandas)
def read_trials(path: str | Path, include_pending: bool = False,
                db: sqlite3.Connection | None = None) -> pd.DataFrame:
    """All finished trials of a run, one row each, in trial order."""
    where, args = ("", ()) if include_pending else ("WHERE status != ?", (TrialStatus.PENDING,))
    sql = f"SELECT * FROM trials {where} ORDER BY trial"
    if db is not None:
        df = pd.read_sql_query(sql, db, params=args)
    else:
        with _reading(path) as db:
            df = pd.read_sql_query(sql, db, params=args)
    for col in LATER_COLUMNS:
        if col not in df:
            df[col] = None
    return df


def read_verified(path: str | Path, db: sqlite3.Connection | None = None) -> pd.DataFrame:
    """The verified trials of a run (`mnas verify`), one row each with the columns `trial`
    and VERIFIED_COLUMNS, in trial order; empty for a file that has none (no table)."""
    def read(db):
        if not _columns(db, "verified"):
            return pd.DataFrame(columns=["trial", *VERIFIED_COLUMNS])
        return pd.read_sql_query("SELECT * FROM verified ORDER BY trial", db)

    if db is not None:
        return read(db)
    with _reading(path) as db:
        return read(db)


def _columns(db: sqlite3.Connection, table: str) -> set[str]:
    """The column names of `table`; empty when the file has no such table."""
    return {row[1] for row in db.execute(f"PRAGMA table_info({table})")}


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
    cfg = upgrade_config(cfg)
    if "reward" in meta:
        cfg["reward"] = reward
    return cfg


def upgrade_config(cfg: dict) -> dict:
    """A search config as written by an earlier version, in this version's form (the file
    itself is never rewritten). Earlier configs split the reward in two: `reward` held T,
    alpha and beta when T was given (null for T = auto) and `exponents` the (alpha, beta)."""
    if not isinstance(cfg, dict) or "exponents" not in cfg:
        return cfg
    cfg = dict(cfg)
    exponents = cfg.pop("exponents")
    if cfg.get("reward") is None and isinstance(exponents, list) and len(exponents) == 2:
        cfg["reward"] = {"target_ms": None, "alpha": exponents[0], "beta": exponents[1]}
    return cfg


def read_meta(path: str | Path) -> dict:
    """status (a RunStatus value), pid, name, times and counts. A run marked running whose
    process is gone reads as stopped."""
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
        phase_at = float(meta["phase_at"]) if meta.get("phase_at") else None
    except KeyError as err:
        raise ValueError(f"{path}: its meta table holds no {err}") from None
    except (TypeError, ValueError) as err:
        raise ValueError(f"{path}: unreadable meta value ({err})") from None
    if status == RunStatus.RUNNING and (pid is None or not _alive(pid)):
        status = RunStatus.STOPPED
    ok, failed = counts.get(TrialStatus.OK, 0), counts.get(TrialStatus.FAILED, 0)
    return {"name": name, "status": status, "pid": pid, "created_at": created,
            "updated_at": updated, "n_trials": ok + failed, "n_failed": failed,
            "n_pending": counts.get(TrialStatus.PENDING, 0), "phase": meta.get("phase"),
            "phase_at": phase_at}


def list_runs(*folders: str | Path) -> pd.DataFrame:
    """One row per run file (*.db) in the folders: path, name, status, strategy, reward
    settings, trial counts, accuracy source (trained, predicted, ...). Files that are not run stores of this schema are skipped."""
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
                         "created_at": meta["created_at"],
                         "accuracy": (cfg.get("accuracy") or {}).get("source", "trained")})
    return pd.DataFrame(rows, columns=["path", "name", "status", "strategy", "alpha", "beta",
                                       "target_ms", "n_trials", "n_failed", "created_at",
                                       "accuracy"])


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
