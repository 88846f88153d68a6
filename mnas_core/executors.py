"""Executors run candidate evaluations, possibly in parallel, behind one small interface.

Contract (tests/test_executors.py runs it against every implementation):
- `run(fn, items)` yields exactly one `Outcome` per item, in completion order, with the
  item's index. `fn` must be a picklable module-level function.
- An exception raised by `fn` becomes `Outcome.error` ("TypeName: message"); it never
  escapes `run`, and the other items still complete.
- A worker that dies (killed, out of memory) turns the items it lost into failed outcomes
  whose error says so; the executor keeps working for later calls.
- `close()` releases workers; an executor is also a context manager.

Implementations: `InProcess` (tests, debugging, no parallelism), `ProcessPool` (the default:
local worker processes), `Dask` (a LocalCluster on 127.0.0.1, or a scheduler address for users
who outgrow one machine).
"""
from __future__ import annotations

import concurrent.futures as cf
import multiprocessing as mp
import os
import socket
import traceback
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Protocol


@dataclass(frozen=True)
class Outcome:
    index: int
    value: Any = None
    error: str | None = None
    worker: str = ""

    @property
    def ok(self) -> bool:
        return self.error is None


class Executor(Protocol):
    name: str

    def run(self, fn: Callable, items: Iterable) -> Iterator[Outcome]:
        ...

    def close(self) -> None:
        ...


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


class _Base:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class InProcess(_Base):
    name = "inprocess"

    def run(self, fn: Callable, items: Iterable) -> Iterator[Outcome]:
        for i, item in enumerate(items):
            value, error, worker = _call(fn, item)
            yield Outcome(i, value, error, worker)

    def close(self) -> None:
        pass


class ProcessPool(_Base):
    """Local worker processes (spawned: a forked child of a process that already ran torch's
    thread pools can deadlock). Workers inherit the environment, glibc malloc tunables
    included, and are started once and reused across batches."""

    name = "process"

    def __init__(self, workers: int = 2):
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self.workers = workers
        self._pool: cf.ProcessPoolExecutor | None = None

    def _get_pool(self) -> cf.ProcessPoolExecutor:
        if self._pool is None:
            self._pool = cf.ProcessPoolExecutor(self.workers, mp_context=mp.get_context("spawn"))
        return self._pool

    def run(self, fn: Callable, items: Iterable) -> Iterator[Outcome]:
        pool = self._get_pool()
        futures = {pool.submit(_call, fn, item): i for i, item in enumerate(items)}
        broken = False
        for fut in cf.as_completed(futures):
            i = futures[fut]
            try:
                value, error, worker = fut.result()
            except cf.process.BrokenProcessPool:
                broken = True
                value, error, worker = None, ("worker process died (killed or out of memory) "
                                              "while this candidate was in flight"), ""
            yield Outcome(i, value, error, worker)
        if broken:  # a dead worker breaks the whole pool: start a fresh one next time
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def close(self) -> None:
        """Cancel queued work and end the workers now, busy or not: a stopped search loses the
        candidates in flight (they are re-run on resume) rather than wait for them to train."""
        if self._pool is None:
            return
        procs = list((self._pool._processes or {}).values())  # no public handle on workers
        self._pool.shutdown(wait=False, cancel_futures=True)
        for p in procs:
            if p.is_alive():
                p.terminate()
        for p in procs:
            p.join(timeout=10)
        self._pool = None


class Dask(_Base):
    """Dask distributed. With no address, a LocalCluster of worker processes bound to
    127.0.0.1 (no dashboard); with `address="tcp://HOST:8786"`, an existing scheduler."""

    name = "dask"

    def __init__(self, address: str | None = None, workers: int = 2):
        from distributed import Client, LocalCluster  # imported on use: optional at runtime

        self.cluster = None
        if address is None:
            self.cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                        host="127.0.0.1", dashboard_address=None)
            address = self.cluster.scheduler_address
        try:
            self.client = Client(address, timeout="20s")
        except OSError as err:
            raise ValueError(f"cannot reach the Dask scheduler at {address}: {err}") from None

    def run(self, fn: Callable, items: Iterable) -> Iterator[Outcome]:
        from distributed import as_completed

        futures = {self.client.submit(_call, fn, item, pure=False): i
                   for i, item in enumerate(items)}
        for fut in as_completed(list(futures)):
            i = futures[fut]
            try:
                value, error, worker = fut.result()
            except Exception as err:  # noqa: BLE001 - KilledWorker, lost connection...
                value, error, worker = None, f"dask worker failed: {type(err).__name__}: {err}", ""
            yield Outcome(i, value, error, worker)

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def make_executor(kind: str = "process", workers: int = 2,
                  scheduler: str | None = None) -> Executor:
    if scheduler:
        return Dask(scheduler, workers)
    if kind == "inprocess":
        return InProcess()
    if kind == "process":
        return ProcessPool(workers)
    if kind == "dask":
        return Dask(None, workers)
    raise ValueError(f"unknown executor {kind!r}; use inprocess, process or dask")
