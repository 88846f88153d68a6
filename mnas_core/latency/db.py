"""The latency database: one SQLite file holding every figure, whatever its source.

Tables (schema version in `meta`):
- fingerprints(id, info)             the device fingerprint dicts behind the short ids
- measurements(arch, fingerprint, source, ms, p10, p90, cv, runs, backend, noisy, extra)
                                     whole-network figures, keyed by arch.to_string() +
                                     fingerprint + source ("measured", "phone", ...)
- layers(config, fingerprint, ms, ...)  per-layer lookup-table entries keyed by Layer.config()
- calibrations(fingerprint, scale, offset, n, extra)  the table's fitted linear correction

Every write is one transaction (`_session`): it commits whole or rolls back, so a Ctrl-C during a
measurement (which happens before any write) or during a write leaves the file consistent. WAL
mode lets a reader (the app) read while a search writes; `busy_timeout` waits out another
process's write lock instead of failing. One `LatencyDB` may be shared by threads (a lock guards
its connection).
"""
from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from .base import LatencyResult

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS fingerprints (id TEXT PRIMARY KEY, info TEXT NOT NULL,
    created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS measurements (
    arch TEXT NOT NULL, fingerprint TEXT NOT NULL, source TEXT NOT NULL, ms REAL NOT NULL,
    p10 REAL, p90 REAL, cv REAL, runs INTEGER NOT NULL, backend TEXT NOT NULL,
    noisy INTEGER NOT NULL DEFAULT 0, extra TEXT, created REAL NOT NULL,
    PRIMARY KEY (arch, fingerprint, source));
CREATE TABLE IF NOT EXISTS layers (
    config TEXT NOT NULL, fingerprint TEXT NOT NULL, ms REAL NOT NULL, p10 REAL, p90 REAL,
    cv REAL, runs INTEGER NOT NULL, extra TEXT, created REAL NOT NULL,
    PRIMARY KEY (config, fingerprint));
CREATE TABLE IF NOT EXISTS calibrations (
    fingerprint TEXT PRIMARY KEY, scale REAL NOT NULL, offset REAL NOT NULL, n INTEGER NOT NULL,
    extra TEXT, created REAL NOT NULL);
"""


def default_db_path() -> Path:
    """$MNAS_HOME/latency.db, else ~/.cache/mnas/latency.db."""
    home = os.environ.get("MNAS_HOME")
    base = Path(home) if home else Path.home() / ".cache" / "mnas"
    return base / "latency.db"


def cached_latency(source, arch) -> LatencyResult:
    """The one cache-through path of every measuring source (host, phone): the figure stored for
    (arch, source.fingerprint(), source.name) in `source.db`, else `record`'s new one."""
    hit = source.db.get(arch.to_string(), source.fingerprint(), source.name)
    return hit if hit is not None else record_latency(source, arch)[0]


def record_latency(source, arch):
    """`source.measure(arch)` now, stored (replacing a stored figure) with its fingerprint and
    its timing summary; returns (LatencyResult, timing)."""
    result, timing = source.measure(arch)
    source.db.put_fingerprint(result.fingerprint, source.fingerprint_info())
    source.db.put(arch.to_string(), result, extra=timing.summary())
    return result, timing


def layer_key(config: tuple) -> str:
    """The text key of a Layer.config() tuple (JSON keeps 0.25 and 'relu' unambiguous)."""
    return json.dumps(list(config), separators=(",", ":"))


class LatencyDB:
    """SQLite store of latency figures; `path` ":memory:" keeps it in this process only."""

    def __init__(self, path: str | Path | None = None):
        self.path = str(default_db_path() if path is None else path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(self.path, timeout=30.0, check_same_thread=False,
                                     isolation_level=None)  # we open transactions ourselves
        self._conn.execute("PRAGMA busy_timeout = 30000")
        if self.path != ":memory:":
            self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: durable on commit
        with self._session() as c:
            for stmt in filter(str.strip, _SCHEMA.split(";")):
                c.execute(stmt)
            row = c.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            if row is None:
                c.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            elif int(row[0]) > SCHEMA_VERSION:
                raise ValueError(f"latency database {self.path} has schema v{row[0]}, newer "
                                 f"than this code's v{SCHEMA_VERSION}; upgrade mnas_core")

    @contextmanager
    def _session(self):
        """One transaction: commit on success, roll back on any exception (Ctrl-C included)."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> "LatencyDB":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------- fingerprints
    def put_fingerprint(self, fp_id: str, info: dict) -> None:
        with self._session() as c:
            c.execute("INSERT OR IGNORE INTO fingerprints VALUES (?, ?, ?)",
                      (fp_id, json.dumps(info, sort_keys=True), time.time()))

    def get_fingerprint(self, fp_id: str) -> dict | None:
        with self._lock:
            row = self._conn.execute("SELECT info FROM fingerprints WHERE id=?",
                                     (fp_id,)).fetchone()
        return json.loads(row[0]) if row else None

    # ------------------------------------------------------------- whole networks
    def put(self, arch_key: str, result: LatencyResult, extra: dict | None = None) -> None:
        """Store (or replace) the figure for arch_key under result.fingerprint/result.source."""
        if not arch_key:
            raise ValueError("put: empty architecture key")
        r = result
        with self._session() as c:
            c.execute("INSERT OR REPLACE INTO measurements VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                      (arch_key, r.fingerprint, r.source, r.ms, r.p10, r.p90, r.cv, r.runs,
                       r.backend, int(r.noisy), json.dumps(extra or {}), time.time()))

    def get(self, arch_key: str, fingerprint: str, source: str) -> LatencyResult | None:
        """The stored figure, marked cached=True, or None."""
        with self._lock:
            row = self._conn.execute(
                "SELECT ms, p10, p90, cv, runs, backend, noisy FROM measurements "
                "WHERE arch=? AND fingerprint=? AND source=?",
                (arch_key, fingerprint, source)).fetchone()
        if row is None:
            return None
        ms, p10, p90, cv, runs, backend, noisy = row
        return LatencyResult(ms=ms, source=source, fingerprint=fingerprint, p10=p10, p90=p90,
                             cv=cv, runs=runs, backend=backend, cached=True, noisy=bool(noisy))

    def get_extra(self, arch_key: str, fingerprint: str, source: str) -> dict | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT extra FROM measurements WHERE arch=? AND fingerprint=? AND source=?",
                (arch_key, fingerprint, source)).fetchone()
        return json.loads(row[0] or "{}") if row else None

    def measurements(self, fingerprint: str | None = None, source: str | None = None) -> list:
        """All stored whole-network figures as dicts (filtered by fingerprint/source)."""
        q, args = "SELECT * FROM measurements WHERE 1=1", []
        if fingerprint:
            q, args = q + " AND fingerprint=?", args + [fingerprint]
        if source:
            q, args = q + " AND source=?", args + [source]
        with self._lock:
            cur = self._conn.execute(q + " ORDER BY created", args)
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row)) for row in cur.fetchall()]

    # ------------------------------------------------------------- lookup table
    def put_layer(self, config: tuple, fingerprint: str, ms: float, p10: float | None = None,
                  p90: float | None = None, cv: float | None = None, runs: int = 0,
                  extra: dict | None = None) -> None:
        with self._session() as c:
            c.execute("INSERT OR REPLACE INTO layers VALUES (?,?,?,?,?,?,?,?,?)",
                      (layer_key(config), fingerprint, ms, p10, p90, cv, runs,
                       json.dumps(extra or {}), time.time()))

    def get_layers(self, fingerprint: str) -> dict[str, float]:
        """{layer_key(config): ms} for every stored layer of this fingerprint."""
        with self._lock:
            rows = self._conn.execute("SELECT config, ms FROM layers WHERE fingerprint=?",
                                      (fingerprint,)).fetchall()
        return dict(rows)

    def put_calibration(self, fingerprint: str, scale: float, offset: float, n: int,
                        extra: dict | None = None) -> None:
        with self._session() as c:
            c.execute("INSERT OR REPLACE INTO calibrations VALUES (?,?,?,?,?,?)",
                      (fingerprint, scale, offset, n, json.dumps(extra or {}), time.time()))

    def get_calibration(self, fingerprint: str) -> tuple[float, float, int] | None:
        """(scale, offset, n models it was fitted on) or None."""
        with self._lock:
            row = self._conn.execute(
                "SELECT scale, offset, n FROM calibrations WHERE fingerprint=?",
                (fingerprint,)).fetchone()
        return tuple(row) if row else None
