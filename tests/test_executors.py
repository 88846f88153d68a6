"""The Executor contract (mnas_core/executors.py), run against every implementation, and the
bounds on every wait: a dead worker, a hung candidate, no worker left."""
import os
import signal
import time
from pathlib import Path

import pytest

from mnas_core.dask_executor import Dask
from mnas_core.executors import (ExecutorConfig, InProcess, NoWorkersError, ProcessPool,
                                 make_executor)

# A hang here must fail this file, not stall the suite (the bounds below are seconds).
pytestmark = pytest.mark.timeout(240)


def square(x):
    return x * x


def fail_on_three(x):
    if x == 3:
        raise ZeroDivisionError("three is not allowed")
    return x


def die_on_two(x):
    if x == 2:
        os.kill(os.getpid(), signal.SIGKILL)  # a worker killed mid-candidate (OOM killer)
    return x


def die_on_two_logged(task):
    """die_on_two that leaves one file per attempt, so a test can count retries."""
    x, log = task
    Path(log, f"attempt-{x}-{os.getpid()}").touch()
    if x == 2:
        os.kill(os.getpid(), signal.SIGKILL)
    return x


def hang_on_one(x):
    if x == 1:
        time.sleep(600)  # a wedged candidate: only the executor's timeout ends it
    return x


def slow(x):
    time.sleep(60)
    return x


def slow_after_zero(x):
    if x:
        time.sleep(60)
    return x


@pytest.fixture(params=["inprocess", "process", "dask"], scope="module")
def executor(request):
    ex = {"inprocess": InProcess, "process": lambda: ProcessPool(2),
          "dask": lambda: Dask(None, 2)}[request.param]()
    yield ex
    ex.close()


def test_every_item_yields_one_outcome(executor):
    outs = list(executor.run(square, range(6)))
    assert sorted(o.index for o in outs) == list(range(6))
    assert {o.index: o.value for o in outs} == {i: i * i for i in range(6)}
    assert all(o.ok and o.worker for o in outs)


def test_errors_become_failed_outcomes(executor):
    outs = {o.index: o for o in executor.run(fail_on_three, range(5))}
    assert not outs[3].ok and "ZeroDivisionError: three is not allowed" in outs[3].error
    assert [outs[i].value for i in (0, 1, 2, 4)] == [0, 1, 2, 4]


def test_a_dead_worker_fails_its_candidate_and_the_executor_recovers(executor):
    if executor.name == "inprocess":
        pytest.skip("in-process has no worker to lose: it would kill the test runner")
    outs = {o.index: o for o in executor.run(die_on_two, range(4))}
    assert not outs[2].ok
    assert "died" in outs[2].error or "failed" in outs[2].error
    again = list(executor.run(square, range(3)))
    assert sorted(o.value for o in again) == [0, 1, 4]


def test_a_dead_worker_fails_only_its_candidate_once_and_fast(executor, tmp_path):
    """The killed candidate runs once (not retried on every worker, killing each), the others
    all succeed (none lost with the dead worker's queue), well within the start bound."""
    if executor.name == "inprocess":
        pytest.skip("in-process has no worker to lose: it would kill the test runner")
    start = time.monotonic()
    outs = {o.index: o for o in executor.run(die_on_two_logged,
                                             [(i, str(tmp_path)) for i in range(6)])}
    took = time.monotonic() - start
    assert sorted(outs) == list(range(6))
    assert [i for i, o in outs.items() if not o.ok] == [2], {i: o.error for i, o in outs.items()}
    assert "worker process died" in outs[2].error
    assert len(list(tmp_path.glob("attempt-2-*"))) == 1
    assert took < 60, f"a dead worker took {took:.1f} s to become a failed candidate"


@pytest.mark.parametrize("kind", ["process", "dask"])
def test_a_hung_candidate_fails_after_the_candidate_timeout(kind):
    make = {"process": lambda: ProcessPool(2, candidate_timeout_s=2),
            "dask": lambda: Dask(None, 2, candidate_timeout_s=2)}[kind]
    with make() as ex:
        list(ex.run(square, [1, 2]))  # workers up: the clock starts when a candidate does
        start = time.monotonic()
        outs = {o.index: o for o in ex.run(hang_on_one, range(3))}
        took = time.monotonic() - start
        assert [outs[i].value for i in (0, 2)] == [0, 2]
        assert not outs[1].ok and outs[1].error.startswith("timed out: still running 2 s")
        assert took < 30, f"the hung candidate failed after {took:.1f} s"
        # The stuck worker was replaced: the executor still has both.
        assert sorted(o.value for o in ex.run(square, range(4))) == [0, 1, 4, 9]


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


def test_process_pool_close_does_not_wait_for_busy_workers():
    ex = ProcessPool(2)
    outs = ex.run(slow_after_zero, range(3))  # 0 returns at once; 1 and 2 run for 60 s
    assert next(outs).value == 0
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
