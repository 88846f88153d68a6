"""The shipped Executor contract (mnas_core.testing.executor) over every registered executor, and
what is particular to each: Dask's loss of every worker, the process pool's close and start-up."""
import threading
import time

import pytest

from mnas_core.dask_executor import Dask
from mnas_core.executors import ExecutorConfig, NoWorkersError, ProcessPool, make_executor
from mnas_core.registry import EXECUTORS
from mnas_core.testing.executor import ExecutorContract, nap, square

# A hang here must fail this file, not stall the suite (the bounds below are seconds).
pytestmark = pytest.mark.timeout(240)


def _contract(kind: str) -> type:
    """The contract suite bound to one registered executor. One class per executor, not one
    parametrised class, so that each class shares one executor between its tests."""

    class Contract(ExecutorContract):
        def make_executor(self, candidate_timeout_s=3600.0):
            return make_executor(kind, 2, candidate_timeout_s=candidate_timeout_s)

        def test_name_is_the_registered_one(self, executor):
            assert executor.name == kind

    Contract.__name__ = Contract.__qualname__ = f"TestContract_{kind}"
    return Contract


for _kind in EXECUTORS.names():  # pytest collects each as TestContract_<name>
    globals()[f"TestContract_{_kind}"] = _contract(_kind)


def test_dask_with_no_worker_left_fails_the_run_in_one_line():
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                           host="127.0.0.1", dashboard_address=None)
    try:
        with Dask(cluster.scheduler_address, 1, start_timeout_s=3) as ex, \
                Client(cluster.scheduler_address, timeout="20s") as watcher:
            assert [o.value for o in ex.run(square, [3])] == [9]
            cluster.scale(0)  # every worker leaves the scheduler
            deadline = time.monotonic() + 60
            while watcher.scheduler_info()["workers"] and time.monotonic() < deadline:
                time.sleep(0.2)
            start = time.monotonic()
            with pytest.raises(NoWorkersError) as err:
                list(ex.run(square, range(2)))
            took = time.monotonic() - start
    finally:
        cluster.close(timeout=30)
    assert isinstance(err.value, ValueError)  # the CLI prints ValueErrors as one line, exit 2
    assert "no worker is left" in str(err.value) and "\n" not in str(err.value)
    assert 3 <= took < 20, f"no workers was reported after {took:.1f} s"


def test_dask_runs_on_loopback():
    with Dask(None, 1) as ex:
        assert ex.client.scheduler.address.startswith("tcp://127.0.0.1:")
        assert [o.value for o in ex.run(square, [7])] == [49]


def test_dask_queues_no_candidate_behind_a_running_one():
    """Dask itself queues only large batches; a small one would be stacked on busy workers,
    where a worker restarted for a timed-out candidate (or killed by one) takes the queued
    candidates with it. The executor keeps one candidate per worker thread in flight."""
    with Dask(None, 2) as ex:
        done, most = threading.Event(), [0]

        def watch():
            while not done.is_set():
                most[0] = max([most[0]] + [len(k) for k in (ex._processing() or {}).values()])
                time.sleep(0.1)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        try:
            outs = list(ex.run(nap, [(i, 2.0) for i in range(3)]))
        finally:
            done.set()
            watcher.join(30)
    assert sorted(o.value[0] for o in outs) == [0, 1, 2]
    assert most[0] == 1, f"a worker held {most[0]} candidates at once"


def test_process_pool_close_does_not_wait_for_busy_workers():
    ex = ProcessPool(2)
    outs = ex.run(nap, [(0, 0), (1, 60), (2, 60)])  # 0 returns at once; 1 and 2 take 60 s
    assert next(outs).value[0] == 0
    start = time.perf_counter()
    ex.close()
    assert time.perf_counter() - start < 15
    outs.close()  # the abandoned batch leaves nothing behind for the next one
    assert sorted(o.value for o in ex.run(square, range(3))) == [0, 1, 4]
    ex.close()


def test_bounds_are_validated():
    assert ExecutorConfig().candidate_timeout_s == 3600 and ExecutorConfig().start_timeout_s == 300
    for bad in ({"candidate_timeout_s": 0}, {"start_timeout_s": -1},
                {"candidate_timeout_s": float("inf")}, {"workers": 0}, {"kind": "threads"}):
        with pytest.raises(ValueError):
            ExecutorConfig(**bad)
    with pytest.raises(ValueError, match="candidate_timeout_s"):
        make_executor("process", 2, candidate_timeout_s=float("nan"))


def test_a_process_pool_whose_workers_cannot_start_fails_in_one_line():
    """Workers that exit at once (here the interpreter is /bin/false) are no workers: the run
    fails with one line instead of failing every candidate, batch after batch."""
    import multiprocessing as mp
    from multiprocessing import spawn

    ctx, before = mp.get_context("spawn"), spawn.get_executable()
    ctx.set_executable("/bin/false")
    try:
        with ProcessPool(2, start_timeout_s=20) as ex:
            start = time.monotonic()
            with pytest.raises(NoWorkersError) as err:
                list(ex.run(square, range(4)))
            took = time.monotonic() - start
    finally:
        ctx.set_executable(before)
    message = str(err.value)
    assert ("before it was ready" in message or "cannot start a worker" in message) \
        and "\n" not in message
    assert took < 20
