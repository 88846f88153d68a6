"""The predictor's features (mnas_core.accuracy.features): exact MACs and params, the same
features for the same network whatever space sampled it, and refusals named."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mnas_core import zoo
from mnas_core.accuracy.features import GLOBAL_FEATURES, FeatureSpec, cost, features
from mnas_core.arch import parse_arch
from mnas_core.profile import totals
from mnas_core.space import SearchSpace

DIGITS = dict(resolution=16, in_chans=1, num_classes=10, small_input=True)
SPACES = Path(__file__).parents[2] / "sample_runs" / "spaces"


def _networks() -> list:
    rng = np.random.default_rng(1)
    out = [zoo.get(n) for n in zoo.names()]
    out += [zoo.get(n, small_input=True, resolution=32) for n in zoo.names()]
    for space in (SearchSpace(), SearchSpace(**DIGITS), SearchSpace(resolution=32, width=0.5),
                  SearchSpace(resolution=96, width=1.4, stem_chs=16)):
        out += [space.sample(rng) for _ in range(60)]
    for path in sorted(SPACES.glob("*.json")):  # the recorded runs' one-point spaces
        out.append(SearchSpace.from_json(path.read_text()).replace(**DIGITS).sample(rng))
    return out


def test_macs_and_params_equal_the_profiler_on_every_kind_of_network():
    for arch in _networks():
        t = totals(arch)
        assert cost(arch) == (t.params, t.macs), arch.to_string()
        # and again from the cache, which must give the same
        assert cost(arch) == (t.params, t.macs), arch.to_string()


def test_the_global_features_are_log_macs_log_params_and_depth():
    arch = zoo.get("mnasnet_a1", **DIGITS)
    row = features([arch])[0]
    t = totals(arch)
    assert row[-3:].tolist() == pytest.approx(
        [np.log10(t.macs), np.log10(t.params), sum(b.repeats for b in arch.blocks)])
    assert FeatureSpec().names()[-3:] == list(GLOBAL_FEATURES)


def test_one_hot_columns_hold_one_choice_per_live_block():
    spec = FeatureSpec()
    names = spec.names()
    archs = _networks()
    X = features(archs, spec)
    assert X.shape == (len(archs), len(names))
    for arch, row in zip(archs, X):
        for b, block in enumerate(arch.blocks, 1):
            ops = sum(row[names.index(f"b{b}_op_{o}")] for o in spec.ops)
            skips = sum(row[names.index(f"b{b}_skip_{s}")] for s in spec.skips)
            assert (ops, skips) == ((1, 1) if block.repeats else (0, 0)), arch.to_string()
            assert row[names.index(f"b{b}_layers")] == block.repeats


def test_a_removed_block_has_the_same_features_whatever_it_would_have_been():
    base = ("r0_k{k}_s11_e{e}_i32_o16{se},r2_k3_s22_e6_i32_o24,r3_k5_s22_e3_i24_o40_se0.25,"
            "r4_k3_s22_e6_i40_o80,r2_k3_s11_e6_i80_o112,r3_k5_s22_e6_i112_o160,"
            "r1_k3_s11_e6_i160_o320;resolution=16;in_chans=1;num_classes=10;small_input=1")
    a = parse_arch(base.format(k=3, e=1, se=""))
    b = parse_arch(base.format(k=5, e=6, se="_se0.25_noskip"))
    assert a != b and totals(a) == totals(b)
    assert np.array_equal(features([a]), features([b]))


def test_the_same_network_sampled_from_two_spaces_has_the_same_features():
    # Tokens mean different choices in differently ordered spaces; features must not care.
    paper = SearchSpace(**DIGITS)
    reordered = SearchSpace.from_dict({**paper.to_dict(), "blocks": [
        {k: list(reversed(v)) for k, v in b.items()} for b in paper.to_dict()["blocks"]]})
    arch = paper.sample(np.random.default_rng(3))
    tokens = reordered.encode(arch)
    assert tokens != paper.encode(arch)
    assert np.array_equal(features([reordered.decode(tokens)]), features([arch]))


def test_a_row_does_not_depend_on_its_batch():
    archs = _networks()[:40]
    X = features(archs)
    for i, arch in enumerate(archs):
        assert np.array_equal(features([arch])[0], X[i])


def test_networks_the_spec_cannot_describe_are_refused_by_name():
    arch = zoo.get("mobilenet_v2", **DIGITS)
    with pytest.raises(ValueError, match="op 'mbconv' was not among.*conv, sepconv"):
        features([arch], FeatureSpec(ops=("conv", "sepconv")))
    short = arch.replace(blocks=arch.blocks[:5])
    with pytest.raises(ValueError, match="7-block networks.*this one has 5"):
        features([short])


def test_the_spec_round_trips_and_refuses_another_version():
    spec = FeatureSpec()
    assert FeatureSpec.from_dict(spec.to_dict()) == spec
    with pytest.raises(ValueError, match="feature spec version 99"):
        FeatureSpec.from_dict({**spec.to_dict(), "version": 99})
    with pytest.raises(ValueError, match="unknown field"):
        FeatureSpec.from_dict({**spec.to_dict(), "colour": 1})


def test_features_import_no_torch():
    code = ("import sys; from mnas_core.accuracy.features import features; "
            "from mnas_core import zoo; features([zoo.get('mnasnet_a1')]); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True)
    assert out.stdout.strip() == "False"
