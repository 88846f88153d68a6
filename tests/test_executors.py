"""The Executor contract (mnas_core/executors.py), run against every implementation."""
import os
import signal

import pytest

from mnas_core.executors import Dask, InProcess, ProcessPool


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


def test_dask_runs_on_loopback():
    with Dask(None, 1) as ex:
        assert ex.client.scheduler.address.startswith("tcp://127.0.0.1:")
        assert [o.value for o in ex.run(square, [7])] == [49]


def slow(x):
    import time

    time.sleep(60)
    return x


def test_process_pool_close_does_not_wait_for_busy_workers():
    import time

    ex = ProcessPool(2)
    list(ex.run(square, [1, 2]))  # workers are up
    busy = [ex._pool.submit(slow, i) for i in range(3)]  # two run for 60 s, one is queued
    time.sleep(1)
    assert any(f.running() for f in busy)
    start = time.perf_counter()
    ex.close()
    assert time.perf_counter() - start < 15
