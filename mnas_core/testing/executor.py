"""The Executor contract (mnas_core.executors.Executor) as a pytest suite: subclass
`ExecutorContract` and define `make_executor(candidate_timeout_s)`.

The candidate functions are module-level so that workers can import them by name."""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from ..executors import Executor


# ------------------------------------------------------------ candidates (run in workers)
def square(x):
    return x * x


def worker_pid(_):
    return os.getpid()


def fail_on_three(x):
    if x == 3:
        raise ZeroDivisionError("three is not allowed")
    return x


def die_on_two(task):
    """(x, folder): leaves one file per attempt in `folder`, so a test can count retries, and
    kills its own process on x == 2, as the out-of-memory killer would."""
    x, folder = task
    Path(folder, f"attempt-{x}-{os.getpid()}").touch()
    if x == 2:
        os.kill(os.getpid(), signal.SIGKILL)
    return x


def hang_on_one(x):
    if x == 1:
        time.sleep(600)  # a wedged candidate: only the executor's timeout ends it
    return x


def nap(task):
    """(x, seconds): sleep, then (x, the wall-clock time it finished)."""
    x, seconds = task
    time.sleep(seconds)
    return x, time.time()


def _gone(pid: int) -> bool:
    """Whether process `pid` has exited (a zombie counts: it runs nothing)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[0] == "Z"
    except FileNotFoundError:
        return True


class ExecutorContract:
    """Every clause of the Executor docstrings, for the executor `make_executor` builds.

    `make_executor(candidate_timeout_s=3600.0)` returns a fresh executor with at least two
    workers whose candidates time out after `candidate_timeout_s`. Most tests share one
    executor per class (starting workers takes seconds). Tests about workers (deaths,
    timeouts) skip for an executor that runs fn in the caller: it has none."""

    def make_executor(self, candidate_timeout_s: float = 3600.0) -> Executor:
        raise NotImplementedError("an ExecutorContract subclass defines make_executor()")

    @pytest.fixture(scope="class")
    @classmethod
    def executor(cls):
        with cls().make_executor() as ex:
            yield ex

    @staticmethod
    def in_caller(ex: Executor) -> bool:
        """Whether `ex` runs fn in this process (then a candidate's death would be pytest's)."""
        return [o.value for o in ex.run(worker_pid, [0])] == [os.getpid()]

    # ------------------------------------------------------------ the interface
    def test_is_an_executor_with_a_name(self, executor):
        assert isinstance(executor, Executor), \
            f"{type(executor).__name__} does not subclass Executor"
        assert isinstance(executor.name, str) and executor.name

    # ------------------------------------------------------------ run
    def test_every_item_yields_one_outcome(self, executor):
        outs = list(executor.run(square, range(6)))
        assert sorted(o.index for o in outs) == list(range(6))
        assert {o.index: o.value for o in outs} == {i: i * i for i in range(6)}
        assert all(o.ok and o.error is None and o.worker for o in outs)

    def test_outcomes_come_in_completion_order(self, executor):
        outs = list(executor.run(nap, [(0, 3.0), (1, 0.0), (2, 0.0)]))
        finished = [o.value[1] for o in outs]
        assert finished == sorted(finished), [(o.index, o.value) for o in outs]
        if not self.in_caller(executor):  # two workers: the quick ones do not wait for 0
            assert outs[-1].index == 0, [o.index for o in outs]

    def test_an_exception_in_fn_is_a_failed_outcome(self, executor):
        outs = {o.index: o for o in executor.run(fail_on_three, range(5))}
        assert sorted(outs) == list(range(5))
        assert not outs[3].ok and outs[3].value is None
        assert outs[3].error.startswith("ZeroDivisionError: three is not allowed")
        assert [outs[i].value for i in (0, 1, 2, 4)] == [0, 1, 2, 4]

    def test_a_dead_worker_fails_only_its_candidate_once(self, executor, tmp_path):
        """The killed candidate runs once (not retried on every worker, killing each), the
        others all succeed (none lost with the dead worker's queue), and fast."""
        if self.in_caller(executor):
            pytest.skip("fn runs in the caller: no worker to lose (it would kill pytest)")
        start = time.monotonic()
        outs = {o.index: o for o in executor.run(die_on_two,
                                                 [(i, str(tmp_path)) for i in range(6)])}
        took = time.monotonic() - start
        assert sorted(outs) == list(range(6))
        assert [i for i, o in outs.items() if not o.ok] == [2], \
            {i: o.error for i, o in outs.items()}
        assert "worker process died" in outs[2].error
        assert len(list(tmp_path.glob("attempt-2-*"))) == 1
        assert took < 60, f"a dead worker took {took:.1f} s to become a failed candidate"
        again = list(executor.run(square, range(3)))  # replaced: the executor keeps working
        assert sorted(o.value for o in again) == [0, 1, 4]

    def test_an_abandoned_run_leaves_nothing_for_the_next(self, executor):
        outs = executor.run(nap, [(0, 0.0), (1, 2.0), (2, 2.0)])
        assert next(outs).index == 0
        outs.close()  # the caller stops mid-batch (Ctrl-C, an error)
        again = {o.index: o.value for o in executor.run(square, range(3))}
        assert again == {0: 0, 1: 1, 2: 4}

    # ------------------------------------------------------------ bounds and close
    def test_a_hung_candidate_fails_after_the_candidate_timeout(self):
        with self.make_executor(candidate_timeout_s=2) as ex:
            if self.in_caller(ex):
                pytest.skip("fn runs in the caller: nothing can bound it")
            list(ex.run(square, [1, 2]))  # workers up: the clock starts when a candidate does
            start = time.monotonic()
            outs = {o.index: o for o in ex.run(hang_on_one, range(3))}
            took = time.monotonic() - start
            assert [outs[i].value for i in (0, 2)] == [0, 2], \
                {i: o.error for i, o in outs.items()}
            assert not outs[1].ok and outs[1].error.startswith("timed out"), outs[1].error
            assert took < 30, f"the hung candidate failed after {took:.1f} s"
            # Its worker was replaced: the executor still runs on two.
            assert sorted(o.value for o in ex.run(square, range(4))) == [0, 1, 4, 9]

    def test_close_leaves_no_worker_running(self):
        with self.make_executor() as ex:  # the context manager's exit closes it
            pids = {o.value for o in ex.run(worker_pid, range(4))} - {os.getpid()}
        left = [pid for pid in pids if not _gone(pid)]
        assert not left, f"worker processes still running after close: {left}"
