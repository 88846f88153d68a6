import pytest

from mnas_core.layers import expand_layers
from mnas_core.latency import LatencyDB, LutConfig, LutPredictor
from mnas_core.latency.db import layer_key
from mnas_core.latency.lut import fit_correction

from .helpers import TINY, TINY_B, ScriptedClock

FAST_LUT = dict(backend="eager", layer_warmup=1, layer_runs=2, layer_blocks=1)


def lut(tmp_path, **changes) -> LutPredictor:
    return LutPredictor(LutConfig(**{**FAST_LUT, "db_path": str(tmp_path / "lat.db"),
                                     **changes}))


def test_prediction_is_the_sum_of_the_stored_layers(tmp_path):
    p = lut(tmp_path, calibrated=False)
    assert p.build([TINY]) == len({L.config() for L in expand_layers(TINY)})
    stored = LatencyDB(tmp_path / "lat.db").get_layers(p.table_fingerprint())
    expected = sum(stored[layer_key(L.config())] for L in expand_layers(TINY))
    r = p.latency(TINY)
    assert r.ms == pytest.approx(expected) and r.source == "predicted" and r.runs == 0


def test_build_is_incremental_and_survives_restart(tmp_path):
    p = lut(tmp_path)
    n_a = p.build([TINY], progress=False)
    shared = {L.config() for L in expand_layers(TINY)} & {L.config() for L in expand_layers(TINY_B)}
    n_b = p.build([TINY_B], progress=False)
    assert n_b == len({L.config() for L in expand_layers(TINY_B)} - shared)
    assert lut(tmp_path).build([TINY, TINY_B], progress=False) == 0  # a fresh process: all seen
    assert n_a > 0


def test_unseen_layers_are_an_error_when_measuring_is_off(tmp_path):
    with pytest.raises(ValueError, match="build-table"):
        lut(tmp_path, measure_missing=False).latency(TINY)


def test_interrupted_build_keeps_what_was_timed(tmp_path):
    p = lut(tmp_path, timer="wall")
    clock = ScriptedClock([0.5], interrupt_after=40)
    p.timer._clock = lambda: (clock.step(), clock.wall())[1]
    with pytest.raises(KeyboardInterrupt):
        p.build([TINY], progress=False)
    stored = LatencyDB(tmp_path / "lat.db").get_layers(p.table_fingerprint())
    assert 0 < len(stored) < len({L.config() for L in expand_layers(TINY)})


def test_correction_recovers_a_known_linear_bias():
    raw = [1.0, 2.0, 4.0, 8.0]
    scale, offset = fit_correction(raw, [1.15 * r + 0.3 for r in raw])
    assert scale == pytest.approx(1.15) and offset == pytest.approx(0.3)
    with pytest.raises(ValueError, match="at least 2"):
        fit_correction([1.0], [1.0])


def test_calibration_is_stored_and_applied(tmp_path):
    p = lut(tmp_path)
    p.build([TINY, TINY_B], progress=False)
    raw = p.raw_sum(TINY)
    scale, offset = p.calibrate([TINY, TINY_B], measured=p.timer)
    fresh = lut(tmp_path)
    assert fresh.calibration()[:2] == pytest.approx((scale, offset))
    assert fresh.latency(TINY).ms == pytest.approx(scale * raw + offset)
    assert fresh.latency(TINY).backend.endswith("calibrated")


def test_calibration_models_span_the_predicted_range(tmp_path):
    p = lut(tmp_path)
    archs = [TINY.replace(num_classes=c) for c in range(2, 9)]
    sums = dict(zip((a.to_string() for a in archs), [5.0, 1.0, 7.0, 3.0, 2.0, 6.0, 4.0]))
    p.raw_sum = lambda a: sums[a.to_string()]  # the pick needs only the layer sums
    assert [sums[archs[i].to_string()] for i in p.pick_calibration(archs, 3)] == [1.0, 4.0, 7.0]
    assert sorted(p.pick_calibration(archs, 7)) == list(range(7))
    with pytest.raises(ValueError, match="2 to 7 models"):
        p.pick_calibration(archs, 1)


def test_covering_archs_hold_every_layer_that_later_samples_meet():
    import numpy as np

    from mnas_core.latency.db import layer_key
    from mnas_core.latency.lut import covering_archs
    from mnas_core.layers import expand_layers
    from mnas_core.space import BlockOptions, SearchSpace

    space = SearchSpace(blocks=tuple(BlockOptions(ops=("mbconv3", "mbconv6"), se_ratios=(0.0,),
                                                  skips=("identity",), filter_mults=(1.0,))
                                     for _ in range(7)))
    keys = lambda archs: {layer_key(L.config()) for a in archs for L in expand_layers(a)}
    cover = covering_archs(space, chunk=100)
    rng = np.random.default_rng(7)
    later = keys(space.sample(rng) for _ in range(300))
    assert later <= keys(cover)
    assert len(cover) < 300  # only the samples that added a configuration are kept
