"""The Dask executor (contract: mnas_core.executors.Executor): candidates on a Dask cluster,
with the same bounds as the local pool. Kept apart so that `import mnas_core.executors` never
needs dask, an optional runtime dependency."""
from __future__ import annotations

import time
from collections import deque
from typing import Any, Callable, Iterable, Iterator

from .executors import (Executor, ExecutorConfig, NoWorkersError, Outcome, _call, _died,
                        _timed_out)


class Dask(Executor):
    """Dask distributed. With no address, a LocalCluster of worker processes bound to
    127.0.0.1 (no dashboard); with `address="tcp://HOST:8786"`, an existing scheduler.

    The scheduler is asked once per `poll_s` which candidates are running: a candidate's
    clock starts when the scheduler hands it to a worker. A timed-out candidate is cancelled
    and its worker restarted (its thread cannot be interrupted). The LocalCluster fails a
    candidate whose worker died at once (allowed_failures=0, as ProcessPool does) instead of
    retrying it on three more workers that it would kill the same way; a remote scheduler
    keeps its own settings, and the timeouts bound it all the same."""

    name = "dask"
    poll_s = 1.0
    rpc_timeout_s = 30.0  # one scheduler query, one result fetch, one worker restart

    def __init__(self, address: str | None = None, workers: int = 2,
                 candidate_timeout_s: float = 3600.0, start_timeout_s: float = 300.0):
        import dask  # imported on use: optional at runtime
        from distributed import Client, LocalCluster

        self.config = ExecutorConfig("dask", workers, address, candidate_timeout_s,
                                     start_timeout_s)
        self.cluster = None
        if address is None:
            # Saturation 1.0: a worker holds only the candidate it runs, none queued behind it
            # that its death would fail too.
            with dask.config.set({"distributed.scheduler.allowed-failures": 0,
                                  "distributed.scheduler.worker-saturation": 1.0}):
                self.cluster = LocalCluster(n_workers=workers, threads_per_worker=1,
                                            processes=True, host="127.0.0.1",
                                            dashboard_address=None,
                                            death_timeout=start_timeout_s)
            address = self.cluster.scheduler_address
        self.address = address
        try:
            self.client = Client(address, timeout="20s")
        except OSError as err:
            if self.cluster is not None:
                self.cluster.close(timeout=self.rpc_timeout_s)
            raise ValueError(f"cannot reach the Dask scheduler at {address}: {err}") from None

    @classmethod
    def from_config(cls, cfg: ExecutorConfig) -> "Dask":
        return cls(cfg.scheduler, cfg.workers, cfg.candidate_timeout_s, cfg.start_timeout_s)

    def _processing(self) -> dict[str, list] | None:
        """{worker: keys it runs}, every worker listed; None when the scheduler is unreachable."""
        try:
            return self.client.sync(self.client.scheduler.processing, workers=None,
                                    callback_timeout=self.rpc_timeout_s)
        except Exception:  # noqa: BLE001 - lost connection, timeout: counted as no workers
            return None

    def _threads(self) -> int:
        """Threads of the running workers, at least 1 (so that a cluster with none still gets
        a candidate, and start_timeout_s can tell that none starts)."""
        try:
            ncores = self.client.sync(self.client.scheduler.ncores_running,
                                      callback_timeout=self.rpc_timeout_s)
        except Exception:  # noqa: BLE001 - unreachable: _processing reports it
            return 1
        return max(1, sum(ncores.values()))

    def run(self, fn: Callable, items: Iterable) -> Iterator[Outcome]:
        from distributed import wait

        cfg, todo = self.config, deque(enumerate(items))
        futures: dict[Any, int] = {}  # in flight: future -> item index
        started: dict[Any, tuple[float, str]] = {}  # future -> (when, worker) it started
        progress = time.monotonic()  # when a candidate last started or finished

        def top_up() -> None:
            """As many candidates in flight as the cluster has threads, no more: the scheduler
            queues only large batches itself and would stack a small one's extra candidates
            on busy workers, where a worker restarted for a timed-out candidate (or killed by
            one) would take them with it."""
            for _ in range(self._threads() - len(futures) if todo else 0):
                index, item = todo.popleft()
                futures[self.client.submit(_call, fn, item, pure=False)] = index
                if not todo:
                    return

        try:
            top_up()
            while futures:
                try:
                    wait(list(futures), timeout=self.poll_s, return_when="FIRST_COMPLETED")
                except TimeoutError:
                    pass
                for fut in [f for f in futures if f.done()]:
                    progress = time.monotonic()
                    yield self._outcome(futures.pop(fut), fut)
                now, running = time.monotonic(), self._processing()
                where = {k: w for w, keys in (running or {}).items() for k in keys}
                for fut in futures:
                    if fut.key in where and fut not in started:
                        started[fut], progress = (now, where[fut.key]), now
                if not any(f in started for f in futures) and now - progress >= \
                        cfg.start_timeout_s:
                    raise NoWorkersError(self._stalled(running))
                for fut in [f for f in futures if f in started
                            and now - started[f][0] >= cfg.candidate_timeout_s]:
                    worker = started[fut][1]
                    fut.cancel()
                    self._restart(worker)
                    yield Outcome(futures.pop(fut), None, _timed_out(cfg.candidate_timeout_s),
                                  worker)
                top_up()
        finally:  # failed or abandoned: nothing of this batch keeps running on the cluster
            if futures:
                try:
                    self.client.cancel(list(futures))
                except Exception:  # noqa: BLE001 - the scheduler is gone: nothing runs there
                    pass

    def _stalled(self, running: dict | None) -> str:
        """Why no candidate started for start_timeout_s, in one line."""
        why = (f"the scheduler at {self.address} is unreachable" if running is None else
               "no worker is left" if not running else
               f"its {len(running)} worker(s) take no candidates (paused, e.g. over their "
               "memory limit, or busy with other work)")
        return (f"the Dask executor is stuck: {why}; no candidate started in "
                f"{self.config.start_timeout_s:g} s (start_timeout_s)")

    def _outcome(self, index: int, fut) -> Outcome:
        from distributed import KilledWorker

        try:
            value, error, worker = fut.result(timeout=self.rpc_timeout_s)
        except KilledWorker as err:
            value, error, worker = None, _died(f"dask KilledWorker: {err}"), ""
        except Exception as err:  # noqa: BLE001 - lost connection, result lost with its worker
            value, error, worker = None, f"dask worker failed: {type(err).__name__}: {err}", ""
        return Outcome(index, value, error, worker)

    def _restart(self, worker: str) -> None:
        """Restart a worker stuck in a timed-out candidate (needs a nanny, as LocalCluster's
        workers have); a worker that cannot be restarted keeps failing its candidates by
        timeout, which stays bounded."""
        try:
            self.client.restart_workers([worker], timeout=self.rpc_timeout_s,
                                        raise_for_error=False)
        except Exception:  # noqa: BLE001 - see the docstring
            pass

    def close(self) -> None:
        self.client.close(timeout=self.rpc_timeout_s)
        if self.cluster is not None:
            self.cluster.close(timeout=self.rpc_timeout_s)
