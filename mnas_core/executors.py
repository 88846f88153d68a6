"""Executors run candidate evaluations, possibly in parallel, behind one small interface
(`Executor`; mnas_core.testing.executor checks the contract): `InProcess` (tests, debugging: fn
runs in the caller), `ProcessPool` (the default: local worker processes) and `Dask`
(mnas_core.dask_executor: a LocalCluster on 127.0.0.1, or a scheduler for more than one machine).
"""
from __future__ import annotations

import multiprocessing as mp
import os
import signal
import socket
import time
import traceback
from abc import ABC, abstractmethod
from dataclasses import dataclass
from multiprocessing.connection import wait as wait_ready
from multiprocessing.reduction import ForkingPickler
from typing import Any, Callable, Iterable, Iterator

from .registry import EXECUTORS


@dataclass(frozen=True)
class ExecutorConfig:
    """Which executor and how long it may wait.

    candidate_timeout_s: the most one candidate may run, counted from when a worker starts it
    (not from the batch's start), so a batch of n on w workers is bounded by ~n/w times it.
    The default hour is generous for training: the default proxy candidate takes ~6 s on 2
    cores (README "Proxy task"); raise it with the training budget (full epochs on a CPU).
    start_timeout_s: the most a worker may take to start (spawn, import torch) or, on Dask,
    how long the cluster may have no worker at all (or the scheduler be unreachable) before
    the search fails: a restarted worker rejoins in seconds, even on a loaded machine.
    """

    kind: str = "process"
    workers: int = 2
    scheduler: str | None = None
    candidate_timeout_s: float = 3600.0
    start_timeout_s: float = 300.0

    def __post_init__(self):
        EXECUTORS.get(self.kind)  # ValueError naming the registered executors
        if self.workers < 1:
            raise ValueError(f"workers must be >= 1, got {self.workers}")
        for name in ("candidate_timeout_s", "start_timeout_s"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and 0 < value < float("inf")):
                raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")


class NoWorkersError(ValueError):
    """The executor has no worker to run candidates on (none started, none left, or the
    scheduler is unreachable). A ValueError so that the CLI reports it as one line."""


@dataclass(frozen=True)
class Outcome:
    index: int
    value: Any = None
    error: str | None = None
    worker: str = ""

    @property
    def ok(self) -> bool:
        return self.error is None


class Executor(ABC):
    """Runs `fn(item)` for a batch of candidates and reports each as an `Outcome`.

    A registered executor (mnas_core.registry.EXECUTORS) is built by a classmethod
    `from_config(ExecutorConfig)` and says its registered name in `name`. Every wait is
    bounded by that config: `candidate_timeout_s` per candidate, from when a worker starts it,
    and `start_timeout_s` for having any worker at all. An executor that runs fn in the caller
    (`InProcess`) has no worker to lose and nothing that can bound fn.

    How it is called: from one thread (the search loop), one run at a time: each run's
    iterator is used up or closed before the next `run`. It is a context manager whose exit
    calls `close`.
    """

    name: str  # its name in mnas_core.registry.EXECUTORS

    @abstractmethod
    def run(self, fn: Callable, items: Iterable) -> Iterator[Outcome]:
        """Evaluate `fn(item)` for every item, yielding exactly one Outcome per item as each
        finishes (completion order: a fast candidate is not held back behind a slow one),
        with the item's index in `items`, fn's return value and the worker it ran on
        (non-empty). `fn` is a module-level function and `items` are picklable: they may
        travel to another process.

        A candidate's failure is its Outcome, never an exception, and the other items still
        complete:
        - an exception raised by fn becomes `error` "TypeName: message ...";
        - a worker that dies (killed, out of memory) fails only the candidate it held, once
          (it is not retried on another worker it could kill too), with an error containing
          "worker process died"; the executor replaces the worker and keeps working;
        - a candidate still running `candidate_timeout_s` after a worker started it fails
          with an error starting "timed out", and its worker is replaced.
        The one exception: when no worker can be had for `start_timeout_s` (none starts, none
        is left, the scheduler is unreachable), `run` raises NoWorkersError, a ValueError, so
        the search fails with one line.

        Closing the iterator early (an abandoned batch) leaves nothing of that batch to
        answer a later run."""

    @abstractmethod
    def close(self) -> None:
        """Release the workers: once it returns, no worker process this executor started is
        left running."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _call(fn: Callable, item: Any) -> tuple[Any, str | None, str]:
    """Run fn(item) in a worker: (value, error, worker). Errors travel as text so that an
    exception that cannot be pickled still reaches the caller."""
    try:
        return fn(item), None, _worker_id()
    except Exception as err:  # noqa: BLE001 - every candidate failure is recorded, not raised
        where = traceback.extract_tb(err.__traceback__)[-1]
        place = f"{os.path.basename(where.filename)}:{where.lineno}"
        return None, f"{type(err).__name__}: {err} (at {place})", _worker_id()


def _timed_out(seconds: float) -> str:
    return (f"timed out: still running {seconds:g} s after it started (the executor's "
            "candidate_timeout_s); its worker was stopped")


def _died(how: str) -> str:
    return f"worker process died ({how}) while this candidate was in flight"


class InProcess(Executor):
    name = "inprocess"

    @classmethod
    def from_config(cls, cfg: ExecutorConfig) -> "InProcess":
        return cls()  # nothing to bound: fn runs in the caller

    def run(self, fn: Callable, items: Iterable) -> Iterator[Outcome]:
        for i, item in enumerate(items):
            value, error, worker = _call(fn, item)
            yield Outcome(i, value, error, worker)

    def close(self) -> None:
        pass


# ------------------------------------------------------------ local worker processes
def _serve(conn) -> None:
    """A ProcessPool worker: say "ready", then per candidate "started" and "done". Ctrl-C
    goes to the whole process group; the parent decides what stops, so workers ignore it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    conn.send(("ready", _worker_id()))
    while True:
        try:
            data = conn.recv_bytes()
        except (EOFError, OSError):  # the parent closed the pipe or died: nothing left to do
            return
        try:
            fn, item = ForkingPickler.loads(data)
        except Exception as err:  # noqa: BLE001 - a candidate that cannot load is a failure
            conn.send(("done", (None, f"cannot load the candidate in the worker: "
                                      f"{type(err).__name__}: {err}", _worker_id())))
            continue
        conn.send(("started", None))
        result = _call(fn, item)
        try:
            conn.send(("done", result))
        except Exception as err:  # noqa: BLE001 - e.g. a value that cannot be pickled
            conn.send(("done", (None, f"the result could not be sent back: "
                                      f"{type(err).__name__}: {err}", result[2])))


class _Worker:
    """One spawned process, its pipe, and the candidate it holds with that phase's deadline:
    starting (until "ready"), idle, sent (until "started"), running (until "done")."""

    def __init__(self, ctx, start_timeout_s: float):
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_serve, args=(child,), daemon=True,
                                name="mnas-executor-worker")
        self.proc.start()
        child.close()
        self.state, self.index, self.name = "starting", None, f"pid {self.proc.pid}"
        self.deadline = time.monotonic() + start_timeout_s

    def stop(self) -> None:
        """End the process now (SIGTERM, then SIGKILL), each join bounded."""
        self.conn.close()
        if self.proc.is_alive():
            self.proc.terminate()
            self.proc.join(5)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join(5)

    def how_it_died(self) -> str:
        self.proc.join(1)
        code = self.proc.exitcode
        if code is not None and code < 0:
            name = signal.Signals(-code).name if -code in signal.valid_signals() else -code
            return f"{name}: killed, e.g. by the out-of-memory killer"
        return f"exit code {code}"


class ProcessPool(Executor):
    """Local worker processes (spawned: a forked child of a process that already ran torch's
    thread pools can deadlock). Workers inherit the environment, glibc malloc tunables
    included, are started once and reused across batches; one that dies or times out is
    replaced, and only the candidate it held fails."""

    name = "process"

    def __init__(self, workers: int = 2, candidate_timeout_s: float = 3600.0,
                 start_timeout_s: float = 300.0):
        self.config = ExecutorConfig("process", workers, None, candidate_timeout_s,
                                     start_timeout_s)
        self.workers = workers
        self._ctx = mp.get_context("spawn")
        self._pool: list[_Worker] = []

    @classmethod
    def from_config(cls, cfg: ExecutorConfig) -> "ProcessPool":
        return cls(cfg.workers, cfg.candidate_timeout_s, cfg.start_timeout_s)

    def run(self, fn: Callable, items: Iterable) -> Iterator[Outcome]:
        todo = enumerate(items)
        nxt = next(todo, None)
        try:
            while True:
                for w in [w for w in self._pool if w.state == "idle" and not w.proc.is_alive()]:
                    self._drop(w)  # died between candidates (e.g. chosen by the OOM killer)
                while nxt is not None and len(self._pool) < self.workers:
                    self._pool.append(self._start_worker())
                for w in [w for w in self._pool if w.state == "idle"]:
                    if nxt is None:
                        break
                    try:
                        data = ForkingPickler.dumps((fn, nxt[1]))
                    except Exception as err:  # noqa: BLE001 - the contract: fn and items pickle
                        yield Outcome(nxt[0], None, f"cannot send the candidate to a worker: "
                                                    f"{type(err).__name__}: {err}")
                        nxt = next(todo, None)
                        continue
                    if self._send(w, nxt[0], data):
                        nxt = next(todo, None)
                waiting = [w for w in self._pool if w.state != "idle"]
                if not waiting:
                    if nxt is None:
                        return
                    continue
                left = min(w.deadline for w in waiting) - time.monotonic()
                wait_ready([w.conn for w in waiting] + [w.proc.sentinel for w in waiting],
                           max(0.0, left))
                for w in waiting:
                    yield from self._check(w)
        finally:  # abandoned mid-batch: results still in flight would answer the next batch
            for w in [w for w in self._pool if w.state in ("sent", "running")]:
                self._drop(w)

    def _start_worker(self) -> _Worker:
        try:
            return _Worker(self._ctx, self.config.start_timeout_s)
        except OSError as err:  # fork/exec failed, or the child died before reading its setup
            self.close()
            raise NoWorkersError(f"cannot start a worker process: {err}") from None

    def _send(self, w: _Worker, index: int, data: bytes) -> bool:
        """Hand a pickled candidate to idle `w`; False (and `w` dropped) when it is gone."""
        try:
            w.conn.send_bytes(data)
        except OSError:  # it died while idle: the candidate goes to a fresh worker
            self._drop(w)
            return False
        w.state, w.index = "sent", index
        w.deadline = time.monotonic() + self.config.start_timeout_s
        return True

    def _check(self, w: _Worker) -> Iterator[Outcome]:
        """Read what `w` said, then whether it died or ran past its deadline."""
        try:
            while w.conn.poll():
                kind, body = w.conn.recv()
                if kind == "ready":
                    w.state, w.name = "idle", body
                elif kind == "started":
                    w.state = "running"
                    w.deadline = time.monotonic() + self.config.candidate_timeout_s
                else:
                    w.state, index, w.index = "idle", w.index, None
                    value, error, worker = body
                    yield Outcome(index, value, error, worker)
        except (EOFError, OSError):
            pass  # it died mid-message: handled as a death below
        dead = not w.proc.is_alive()
        late = w.state != "idle" and time.monotonic() >= w.deadline
        if not (dead or late):
            return
        state, index = w.state, w.index
        how = w.how_it_died() if dead else None
        self._drop(w)
        if state == "starting":
            self.close()
            raise NoWorkersError(
                "a worker process " + (f"exited ({how}) before it was ready" if dead else
                                       f"did not start within {self.config.start_timeout_s:g}"
                                       " s (start_timeout_s)") + ": the search cannot run")
        if state == "running":
            yield Outcome(index, None, _died(how) if dead else
                          _timed_out(self.config.candidate_timeout_s), w.name)
        elif state == "sent":
            yield Outcome(index, None, _died(how) if dead else
                          f"the worker did not start this candidate within "
                          f"{self.config.start_timeout_s:g} s (start_timeout_s)", w.name)

    def _drop(self, w: _Worker) -> None:
        w.stop()
        self._pool.remove(w)

    def close(self) -> None:
        """End the workers now, busy or not: a stopped search loses the candidates in flight
        (they are re-run on resume) rather than wait for them to train."""
        for w in list(self._pool):
            self._drop(w)


def make_executor(kind: str = "process", workers: int = 2, scheduler: str | None = None,
                  candidate_timeout_s: float = 3600.0,
                  start_timeout_s: float = 300.0) -> Executor:
    """The executor an `ExecutorConfig` with these fields names (a scheduler means Dask),
    imported on use (dask is optional at runtime)."""
    cfg = ExecutorConfig(kind, workers, scheduler, candidate_timeout_s, start_timeout_s)
    return EXECUTORS.load("dask" if cfg.scheduler else cfg.kind).from_config(cfg)
