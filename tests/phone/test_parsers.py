"""Parsers on verbatim runner output (formats from docs/facts.md)."""
import pytest

from mnas_core.phone.parsers import RunnerOutputError, parse_executorch, parse_tflite
from mnas_core.phone.runner import EXECUTORCH, TFLITE, statistics

pytestmark = pytest.mark.timeout(30)

# executor_runner with posix logging: every ET_LOG line on stderr with its prefix.
ET_POSIX = """\
I 00:00:00.000812 executorch:executor_runner.cpp:107] Resetting threadpool with num threads = 1
I 00:00:00.013342 executorch:executor_runner.cpp:133] Model file mnasnet.pte is loaded.
I 00:00:00.013361 executorch:executor_runner.cpp:142] Using method forward
I 00:00:00.013402 executorch:executor_runner.cpp:189] Setting up planned buffer 0, size 3612672.
I 00:00:00.025711 executorch:executor_runner.cpp:212] Model loaded in 12.345000 ms.
I 00:00:00.055900 executorch:executor_runner.cpp:260] Iteration 1 of 3: 30.123000 ms
I 00:00:00.084981 executorch:executor_runner.cpp:260] Iteration 2 of 3: 29.081000 ms
I 00:00:00.113050 executorch:executor_runner.cpp:260] Iteration 3 of 3: 28.069000 ms
I 00:00:00.113070 executorch:executor_runner.cpp:268] Model executed successfully 3 time(s) in 87.273000 ms.
I 00:00:00.113102 executorch:executor_runner.cpp:277] 1 outputs:
Output 0: tensor(sizes=[1, 1000], [-0.0139, 0.0216, ...])
"""

# An older runner that prints only the total.
ET_TOTAL_ONLY = """\
I 00:00:00.013342 executorch:executor_runner.cpp:133] Model file m.pte is loaded.
Model loaded in 12.345000 ms.
Model executed successfully 20 time(s) in 612.300000 ms.
"""

TFLITE_NEW = """\
INFO: STARTING!
INFO: Log parameter values verbosely: [0]
INFO: Num threads: [1]
INFO: Graph: [/data/local/tmp/mnasnet.tflite]
INFO: Loaded model /data/local/tmp/mnasnet.tflite
INFO: Initialized session in 119.515ms.
INFO: Running benchmark for at least 1 iterations and at least 0.5 seconds but terminate if exceeding 150 seconds.
INFO: count=9 first=87112 curr=58147 min=57012 max=87112 avg=61355.1 std=9101 p5=57012 median=58147 p95=87112
INFO: Running benchmark for at least 1000 iterations and at least 1 seconds but terminate if exceeding 150 seconds.
INFO: count=1000 first=52162 curr=49785 min=49088 max=686105 avg=63743.2 std=60716 p5=49620 median=51891 p95=68628
INFO: Inference timings in us: Init: 119515, First inference: 87112, Warmup (avg): 58147.4, Inference (avg): 63743.2
"""

# Older benchmark_model builds: no p5/median/p95 fields.
TFLITE_OLD = """\
INFO: Initialized session in 119.515ms.
INFO: count=50 first=52162 curr=49785 min=49088 max=686105 avg=63743.2 std=60716
INFO: Inference timings in us: Init: 119515, First inference: 87112, Warmup (avg): 58147.4, Inference (avg): 63743.2
"""


def test_executorch_iterations_and_load():
    out = parse_executorch(ET_POSIX)
    assert out.iterations_ms == (30.123, 29.081, 28.069)
    assert out.load_ms == 12.345
    assert out.summary["count"] == 3 and out.summary["total"] == pytest.approx(87.273)


def test_executorch_total_only_gives_the_mean():
    out = parse_executorch(ET_TOTAL_ONLY)
    assert out.iterations_ms == ()
    assert out.summary["avg"] == pytest.approx(612.3 / 20)
    assert statistics(out, EXECUTORCH, warmup=2)["ms"] == pytest.approx(30.615)


def test_executorch_warmup_dropped_and_percentiles():
    stats = statistics(parse_executorch(ET_POSIX), EXECUTORCH, warmup=1)
    assert stats["runs"] == 2 and stats["times_ms"] == (29.081, 28.069)
    assert stats["ms"] == pytest.approx(28.575)
    assert stats["p10"] < stats["ms"] < stats["p90"]


@pytest.mark.parametrize("text", ["", "Segmentation fault\n", "\x1b[31mgarbage\n\xff",
                                  "I 00:00:00.000 executorch:x.cpp:1] Model loaded in 3.0 ms.\n"])
def test_executorch_without_timing_lines_is_an_error(text):
    with pytest.raises(RunnerOutputError, match="no timing lines"):
        parse_executorch(text)


def test_executorch_truncated_output_is_an_error():
    cut = ET_POSIX.replace("Iteration 2 of 3: 29.081000 ms", "")
    with pytest.raises(RunnerOutputError, match="truncated"):
        parse_executorch(cut)


def test_tflite_new_build_uses_the_timed_runs_not_the_warmup():
    out = parse_tflite(TFLITE_NEW)
    assert out.summary["count"] == 1000
    assert out.summary["median"] == pytest.approx(51.891)
    assert out.summary["p5"] == pytest.approx(49.62) and out.summary["p95"] == pytest.approx(68.628)
    assert out.load_ms == pytest.approx(119.515)
    stats = statistics(out, TFLITE, warmup=5)
    assert stats["ms"] == pytest.approx(51.891) and stats["runs"] == 1000
    assert stats["cv"] == pytest.approx(60716 / 63743.2)


def test_tflite_old_build_falls_back_to_the_mean():
    out = parse_tflite(TFLITE_OLD)
    assert "median" not in out.summary
    assert statistics(out, TFLITE, warmup=0)["ms"] == pytest.approx(63.7432)


def test_tflite_garbage_is_an_error():
    with pytest.raises(RunnerOutputError, match="count="):
        parse_tflite("INFO: STARTING!\nERROR: Could not open 'x.tflite'.\n")


def test_runner_templates_quote_nothing_themselves():
    argv = EXECUTORCH.argv("/d/executor_runner", "/d/m.pte", runs=10, warmup=3, threads=1)
    assert argv == ["/d/executor_runner", "--model_path=/d/m.pte", "--num_executions=13",
                    "--cpu_threads=1"]
    argv = TFLITE.argv("/d/benchmark_model", "/d/m.tflite", runs=10, warmup=3, threads=2)
    assert "--num_runs=10" in argv and "--warmup_runs=3" in argv and "--num_threads=2" in argv
