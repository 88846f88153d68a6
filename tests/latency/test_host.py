import math
import sqlite3

import numpy as np
import pytest
import torch

from mnas_core import zoo
from mnas_core.latency import HostLatencyConfig, HostLatencySource, LatencyDB, time_callable
from mnas_core.latency import host as host_mod

from .helpers import TINY, TINY_B, ScriptedClock, fast_config


def test_statistics_on_a_scripted_timer():
    # warm-up takes 2 durations, then block A (median 6) and block B (median 3).
    clock = ScriptedClock([100, 100] + [2, 4, 6, 8, 10] + [1, 2, 3, 4, 5])
    t = time_callable(clock.step, warmup=2, runs=5, blocks=2, clock=clock.wall,
                      cpu_clock=clock.cpu)
    assert t.block_medians == [6.0, 3.0]
    assert t.ms == 3.0                                   # min of the block medians
    assert t.p10 == pytest.approx(1.4) and t.p90 == pytest.approx(4.6)
    assert t.cv == pytest.approx(math.sqrt(2) / 3)      # std / mean of the chosen block
    assert t.runs == 5 and len(t.wall) == 10


def test_cpu_clock_is_used_and_preemption_is_spotted():
    # wall twice the CPU time: every run looks preempted, the cpu series is half the wall one.
    clock = ScriptedClock([4.0], cpu_share=0.5)
    t = time_callable(clock.step, 0, 4, 1, clock.wall, clock.cpu, use="cpu")
    assert t.ms == pytest.approx(2.0) and t.preempted_share == 1.0
    assert np.median(t.wall) == pytest.approx(4.0)


def test_pairing_with_a_reference_cancels_a_common_drift():
    # after one warm-up pair, the machine slows down and speeds up (x1, x1.5, x3, x1, x2, x0.5)
    # but the model always takes half the reference's time: the figure is 0.5 x the anchor.
    clock = ScriptedClock([9, 9] + [2, 4, 3, 6, 6, 12, 2, 4, 4, 8, 1, 2])
    t = time_callable(clock.step, warmup=1, runs=3, blocks=2, clock=clock.wall,
                      cpu_clock=clock.cpu, use="cpu", reference=clock.step, anchor_ms=10.0)
    assert t.ms == pytest.approx(5.0) and t.cv == pytest.approx(0.0)
    assert t.block_medians == pytest.approx([5.0, 5.0])
    assert t.cpu == [2, 3, 6, 2, 4, 1] and t.ref == [4, 6, 12, 4, 8, 2]
    assert t.summary()["anchor_ms"] == 10.0


def test_anchor_is_measured_once_per_fingerprint_and_shared(tmp_path):
    ref_name = "mobilenet_v2_x0.35"  # cheap at 224x224 on eager
    cfg = fast_config(tmp_path, reference=ref_name)
    src = HostLatencySource(cfg)
    assert src.fingerprint() != HostLatencySource(fast_config(tmp_path)).fingerprint()
    r = src.latency(TINY)
    db = LatencyDB(cfg.db_path)
    key = zoo.get(ref_name).to_string()
    anchor = db.get(key, src.fingerprint(), "anchor")
    assert anchor is not None and anchor.runs == 3 * 2 * 3  # runs x 3 x blocks, plain protocol
    assert db.get_extra(TINY.to_string(), src.fingerprint(), "measured")["anchor_ms"] == \
        anchor.ms
    assert r.ms > 0
    # the reference measured against itself comes out at its anchor (ratio ~1)
    own = src.latency(zoo.get(ref_name))
    assert own.ms == pytest.approx(anchor.ms, rel=0.25)
    # a "new process" reads the anchor instead of timing it again
    again = HostLatencySource(cfg)
    assert again.reference()[1] == anchor.ms
    assert db.get(key, src.fingerprint(), "anchor") == anchor


def test_noisy_machine_is_remeasured_then_flagged(tmp_path, monkeypatch):
    cfg = fast_config(tmp_path, runs=4, blocks=1, max_remeasure=2, cv_threshold=0.05,
                      timer="wall")
    # each clock read advances it, so a run lasts the duration stepped at its end read:
    # runs alternate 1 ms / 9 ms (CV 0.8), never trustworthy.
    clock = ScriptedClock([1, 1, 9, 9])
    src = HostLatencySource(cfg, clock=lambda: (clock.step(), clock.wall())[1])
    calls = []
    orig = host_mod.time_callable
    monkeypatch.setattr(host_mod, "time_callable",
                        lambda *a, **k: (calls.append(1), orig(*a, **k))[1])
    r = src.latency(TINY.replace(num_classes=7))
    assert len(calls) == 3 and r.noisy and r.cv > 0.05


def test_measurement_is_cached_across_restarts(tmp_path):
    cfg = fast_config(tmp_path)
    first = HostLatencySource(cfg).latency(TINY)
    assert not first.cached and first.ms > 0 and first.runs == 6
    clock = ScriptedClock([1.0])
    again = HostLatencySource(cfg, clock=clock.wall, cpu_clock=clock.cpu)  # a "new process"
    second = again.latency(TINY)
    assert second.cached and second.ms == first.ms and clock.calls == 0  # nothing re-timed


def test_fingerprints_separate_threads_and_backends(tmp_path):
    a = HostLatencySource(fast_config(tmp_path))
    b = HostLatencySource(fast_config(tmp_path, threads=2))
    c = HostLatencySource(fast_config(tmp_path, backend="torchscript"))
    assert len({a.fingerprint(), b.fingerprint(), c.fingerprint()}) == 3
    ra = a.latency(TINY)
    rc = c.latency(TINY)  # same database, same arch, other backend: measured anew
    assert not rc.cached and rc.fingerprint != ra.fingerprint
    assert a.latency(TINY).cached


def test_architecture_that_cannot_run_gives_a_clear_error(tmp_path):
    src = HostLatencySource(fast_config(tmp_path))
    with pytest.raises(ValueError, match="too small"):
        src.latency(TINY.replace(resolution=16))


def test_bad_config_is_a_value_error():
    with pytest.raises(ValueError, match="backend"):
        HostLatencyConfig(backend="tflite")
    with pytest.raises(ValueError, match="runs"):
        HostLatencyConfig(runs=0)
    with pytest.raises(ValueError, match="threads=1"):
        HostLatencyConfig(timer="cpu", threads=2)
    with pytest.raises(ValueError, match="reference must be a zoo model"):
        HostLatencyConfig(reference="resnet50")


def test_interrupted_measurement_leaves_the_database_intact(tmp_path):
    cfg = fast_config(tmp_path)
    kept = HostLatencySource(cfg).latency(TINY)
    clock = ScriptedClock([1.0], interrupt_after=3)  # Ctrl-C in the middle of the timed runs
    src = HostLatencySource(cfg, clock=lambda: (clock.step(), clock.wall())[1])
    with pytest.raises(KeyboardInterrupt):
        src.latency(TINY_B)
    with sqlite3.connect(cfg.db_path) as c:
        assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db = LatencyDB(cfg.db_path)
    assert db.get(TINY.to_string(), kept.fingerprint, "measured").ms == kept.ms
    assert db.get(TINY_B.to_string(), kept.fingerprint, "measured") is None


@pytest.mark.parametrize("backend", ["eager", "torchscript", "export",
                                     pytest.param("compile", marks=pytest.mark.slow)])
def test_every_host_backend_runs_the_same_network(backend):
    """Each backend times the network it was given: same outputs as eager PyTorch."""
    import warnings

    from mnas_core.builder import build_model
    from mnas_core.latency.export import example_input
    from mnas_core.latency.host import prepare

    x = example_input(TINY)
    want = build_model(TINY, seed=0).eval()(x)
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)  # none reaches the user (see host.py)
        run = prepare(build_model(TINY, seed=0), x, backend, threads=1, channels_last=True)
    torch.testing.assert_close(run(), want, rtol=1e-4, atol=1e-4)
