import copy
import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.jsonfuzz import JSON, mutations

from mnas_core import zoo
from mnas_core.arch import format_arch, parse_arch
from mnas_core.space import BlockOptions, SearchSpace, parse_op


def test_default_space_size_against_the_paper():
    space = SearchSpace()
    # S = 4 ops x 2 kernels x 2 SE x 3 skips x 3 filter multipliers x 3 layer deltas.
    assert space.block_choices() == [432] * 7
    assert space.size() == 432 ** 7
    assert space.log10_size() == pytest.approx(18.45, abs=0.01)
    # The paper's figure is S^B with B = 5: 1.5e13, "about 10^13".
    five = SearchSpace(blocks=space.blocks[:5], skeleton=space.skeleton[:5])
    assert round(five.log10_size()) == 13
    # A per-layer space over MobileNetV2's 17 layers: 432^17.
    assert space.log10_per_layer_size() == pytest.approx(17 * math.log10(432))


def test_sampling_is_seeded():
    space = SearchSpace()
    a = [format_arch(space.sample(np.random.default_rng(5))) for _ in range(3)]
    assert len(set(a)) == 1
    b = {format_arch(space.sample(np.random.default_rng(s))) for s in range(20)}
    assert len(b) == 20


def test_encode_decode_round_trip():
    space = SearchSpace(resolution=32, num_classes=10, small_input=True)
    rng = np.random.default_rng(0)
    for _ in range(200):
        tokens = space.sample_tokens(rng)
        arch = space.decode(tokens)
        # Tokens can differ where two filter multipliers round to one filter count (16 x 0.75
        # and 16 x 1.0 are both 16), but the network must come back exactly.
        assert space.decode(space.encode(arch)) == arch


def test_decisions_and_vocabularies():
    space = SearchSpace()
    assert len(space.decisions()) == 42
    assert space.vocab_sizes()[:6] == [4, 2, 2, 3, 3, 3]
    with pytest.raises(ValueError, match="expected 42 tokens"):
        space.decode([0] * 41)
    with pytest.raises(ValueError, match="token 0 = 4 is outside its vocabulary of 4"):
        space.decode([4] + [0] * 41)


def test_encode_rejects_architectures_outside_the_space():
    from mnas_core import zoo

    space = SearchSpace()
    with pytest.raises(ValueError, match="filter_mult"):
        space.encode(zoo.get("mnasnet_a1"))  # A1's 40 filters in block 3 are not 32 x {0.75,1,1.25}


@pytest.mark.parametrize("change, message", [
    (dict(ops=()), "block 1: no op left"),
    (dict(ops=("mbconv1",)), "unknown op 'mbconv1'"),
    (dict(kernels=(4,)), "kernel 4"),
    (dict(filter_mults=(0.0, 1.0)), "filter multiplier 0.0 must be > 0"),
    (dict(layer_deltas=(-1,)), "every layer delta leaves it with 0 layers"),
    (dict(layer_deltas=(-2, 0)), "negative layer count"),
    (dict(skips=("teleport",)), "unknown skip op"),
    (dict(kernels=(3, 3)), "repeat a value"),
])
def test_invalid_edits_are_rejected_with_a_clear_message(change, message):
    blocks = list(SearchSpace().blocks)
    blocks[0] = BlockOptions(**{**vars(blocks[0]), **change})
    with pytest.raises(ValueError, match=message):
        SearchSpace(blocks=tuple(blocks))


def test_layer_delta_may_not_remove_a_stride2_block():
    blocks = list(SearchSpace().blocks)
    blocks[1] = BlockOptions(layer_deltas=(-2, 0))
    with pytest.raises(ValueError, match="block 2: .*stride-2"):
        SearchSpace(blocks=tuple(blocks))


def test_json_round_trip_and_errors():
    space = SearchSpace(blocks=(BlockOptions(ops=("mbconv6",), kernels=(5,)),)
                        + SearchSpace().blocks[1:], resolution=32)
    assert SearchSpace.from_json(space.to_json()) == space
    with pytest.raises(ValueError, match="malformed"):
        SearchSpace.from_json("{not json")
    d = json.loads(space.to_json())
    d["blocks"][2]["colour"] = ["red"]
    with pytest.raises(ValueError, match="block 3: unknown field.*colour"):
        SearchSpace.from_dict(d)


@pytest.mark.parametrize("name", [n for n in zoo.names() if n.partition("_x")[0]
                                  in zoo.WIDTH_LISTED])
def test_one_point_space_samples_exactly_the_zoo_network(name):
    arch = zoo.get(name, resolution=32, num_classes=10, small_input=True)
    space = SearchSpace.from_json(SearchSpace.of(arch).to_json())
    assert space.size() == 1
    assert space.sample(np.random.default_rng(0)) == arch
    assert space.encode(arch) == [0] * len(space.vocab_sizes())


def test_one_point_space_refuses_a_network_no_skeleton_builds():
    # MnasNet-D1's 36 filters are not a multiple of 8: a space rounds them to 40.
    with pytest.raises(ValueError, match="block 2 out_chs: 40 instead of 36"):
        SearchSpace.of(zoo.get("mnasnet_d1"))
    with pytest.raises(ValueError, match="block 1 in_chs: 8 instead of 16"):
        SearchSpace.of(zoo.get("mnasnet_small"))


def test_parse_op():
    assert parse_op("mbconv6") == ("mbconv", 6)
    assert parse_op("sepconv") == ("sepconv", 1)
    for bad in ("dconv", "mbconv1", "mbconv06", "mbconv\u0663", "mbconv" + "9" * 5000, None):
        with pytest.raises(ValueError, match="unknown op"):
            parse_op(bad)


DEFAULT = json.loads(SearchSpace().to_json())


def with_change(path, value):
    d = copy.deepcopy(DEFAULT)
    *parents, last = path
    target = d
    for key in parents:
        target = target[key]
    target[last] = value
    return d


@pytest.mark.parametrize("path, value, message", [
    (("blocks",), 5, "search space: blocks must be a list, got int"),
    (("blocks", 0), "conv", "block 1 must be a JSON object"),
    (("blocks", 1, "ops"), "conv", "block 2: ops must be a list"),
    (("blocks", 0, "kernels"), [3.0, 5], "block 1: kernels must be an integer"),
    (("blocks", 0, "kernels"), [True], "block 1: kernels must be an integer"),
    (("blocks", 0, "layer_deltas"), ["0"], "block 1: layer_deltas must be an integer"),
    (("blocks", 0, "se_ratios"), [0, float("nan")], "block 1: se_ratios.*not a finite"),
    (("blocks", 0, "filter_mults"), [1e308], "block 1: filter multiplier 1e\\+308 is too large"),
    (("blocks", 0, "layer_deltas"), [0, 100], "block 1: layer delta 100 gives more than"),
    (("blocks", 0, "ops"), ["mbconv99"], "block 1: unknown op 'mbconv99'"),
    (("stem_chs",), "32", "stem_chs must be an integer"),
    (("small_input",), "no", "small_input must be true or false"),
    (("width",), float("inf"), "width multiplier must be a finite number"),
    (("resolution",), 16, "resolution 16 is too small for this skeleton"),
    (("skeleton",), 5, "skeleton must be a list"),
    (("skeleton", 0), [16, 1], "skeleton block 1 must be \\[out_chs, layers, stride\\]"),
    (("skeleton", 2, 2), 3, "skeleton block 3 stride must be one of"),
    (("skeleton", 2, 0), 0, "skeleton block 3 out_chs must be in"),
    (("act",), "gelu", "act must be one of"),
    (("head_rule",), "grow", "head_rule must be one of"),
    (("dropout",), 1.0, "dropout must be a finite number in \\[0, 1\\)"),
])
def test_space_json_is_validated(path, value, message):
    with pytest.raises(ValueError, match=message):
        SearchSpace.from_json(json.dumps(with_change(path, value)))


@pytest.mark.parametrize("text", ["", "[]", "null", "5", "[" * 100_000])
def test_space_json_that_is_not_an_object(text):
    with pytest.raises(ValueError, match="search space"):
        SearchSpace.from_json(text)


# ---------------------------------------------------------------- fuzzing the JSON boundary
# Values next to the valid ones: right-looking wrong types and the edges of the ranges.
TRICKY = st.sampled_from([0, 1, 2, 3, 5, -1, -2, 2 ** 63, 10 ** 400, 3.0, 0.25, 1.25, -0.0,
                          1e308, float("inf"), float("nan"), True, False, None, "", "32", "no",
                          "mbconv6", "pool", [], {}, [3], [0.25], [16, 1, 1]])


SAMPLE_SPACES = sorted((Path(__file__).parents[1] / "sample_runs" / "spaces").glob("*.json"))
VALID_SPACES = [DEFAULT, json.loads(SearchSpace(resolution=32, num_classes=10,
                                                small_input=True).to_json())] + \
    [json.loads(p.read_text()) for p in SAMPLE_SPACES]
SPACE_KEYS = list(DEFAULT) + list(DEFAULT["blocks"][0])
SPACE_TEXTS = st.one_of(JSON.map(json.dumps), st.text(max_size=20),
                        *[mutations(st.sampled_from(VALID_SPACES), SPACE_KEYS,
                                    TRICKY).map(json.dumps)] * 2)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(SPACE_TEXTS)
def test_any_json_gives_a_space_or_a_value_error(text):
    try:
        space = SearchSpace.from_json(text)
    except ValueError:
        return
    assert SearchSpace.from_json(space.to_json()) == space
    # What is accepted can be sampled, and its samples are valid networks that round-trip.
    arch = space.sample(np.random.default_rng(0))
    assert parse_arch(arch.to_string()) == arch
    assert space.decode(space.encode(arch)) == arch
