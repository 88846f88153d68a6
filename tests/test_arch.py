import pytest
from hypothesis import given
from hypothesis import strategies as st

from mnas_core import zoo
from mnas_core.arch import (Architecture, BlockSpec, format_arch, format_block, parse_arch,
                            parse_block, parse_blocks)

REFERENCE_A1 = ("r1_k3_s11_e1_i32_o16_noskip,r2_k3_s22_e6_i16_o24,r3_k5_s22_e3_i24_o40_se0.25,"
                "r4_k3_s22_e6_i40_o80,r2_k3_s11_e6_i80_o112_se0.25,"
                "r3_k5_s22_e6_i112_o160_se0.25,r1_k3_s11_e6_i160_o320")


def test_reference_a1_parses_to_the_papers_blocks():
    blocks = parse_blocks(REFERENCE_A1)
    assert [b.repeats for b in blocks] == [1, 2, 3, 4, 2, 3, 1]
    assert blocks[0] == BlockSpec("sepconv", 3, 1, 1, 32, 16, 1, 0.0, "none")
    assert blocks[2].op == "mbconv" and blocks[2].exp_ratio == 3 and blocks[2].se_ratio == 0.25
    assert blocks[2].kernel == 5 and blocks[2].stride == 2
    assert format_arch(parse_arch(REFERENCE_A1)) == REFERENCE_A1


@st.composite
def block_specs(draw, in_chs=None):
    op = draw(st.sampled_from(["conv", "sepconv", "mbconv"]))
    return BlockSpec(
        op=op, kernel=draw(st.sampled_from([3, 5, 7])), stride=draw(st.sampled_from([1, 2])),
        exp_ratio=draw(st.integers(2, 8)) if op == "mbconv" else 1,
        in_chs=in_chs or draw(st.integers(1, 512)), out_chs=draw(st.integers(1, 512)),
        repeats=draw(st.integers(0, 6)), se_ratio=draw(st.sampled_from([0.0, 0.25, 0.5, 0.125])),
        skip=draw(st.sampled_from(["none", "identity", "pool"])))


@given(block_specs())
def test_block_round_trip(spec):
    assert parse_block(format_block(spec)) == spec


@st.composite
def architectures(draw):
    chs, blocks = draw(st.integers(8, 64)), []
    for _ in range(draw(st.integers(1, 7))):
        b = draw(block_specs(in_chs=chs))
        blocks.append(b)
        chs = b.out_chs if b.repeats else chs
    return Architecture(
        blocks=tuple(blocks), stem_chs=blocks[0].in_chs,
        width=draw(st.sampled_from([0.35, 0.5, 1.0, 1.4, 0.123456789])),
        resolution=draw(st.integers(32, 320)), num_classes=draw(st.integers(1, 1000)),
        in_chans=draw(st.integers(1, 4)), act=draw(st.sampled_from(["relu", "relu6"])),
        dropout=draw(st.sampled_from([0.0, 0.2])), small_input=draw(st.booleans()))


@given(architectures())
def test_architecture_round_trip_string_and_json(arch):
    assert parse_arch(format_arch(arch)) == arch
    assert Architecture.from_json(arch.to_json()) == arch


@pytest.mark.parametrize("text, token", [
    ("r1_k3_s11_e1_i32_o16_x9", "'x9'"),          # unknown key
    ("r1_k4_s11_e1_i32_o16", "kernel"),            # kernel 4
    ("r-1_k3_s11_e1_i32_o16", "'r-1'"),            # negative repeats
    ("r1_k3_s11_e1_i32", "missing field(s) o"),    # missing field
    ("r1_k3_s12_e1_i32_o16", "'s12'"),             # unequal stride digits
    ("r1_k3_s11_e1_i32_o16_se1.5", "se_ratio"),    # SE ratio out of range
    ("r1_k3_s11_e1_i32_o16_noskip_pool", "contradict"),
    ("r1_k3_k5_s11_e1_i32_o16", "'k5'"),           # repeated field
    ("r1_k3_s11_e6_i32_o16_conv", "no expansion"),
    ("r1.5_k3_s11_e1_i32_o16", "'r1.5'"),
    ("", "empty block string"),
])
def test_malformed_block_names_the_problem(text, token):
    with pytest.raises(ValueError, match="block") as err:
        parse_block(text)
    assert token in str(err.value)


def test_channel_chain_is_checked():
    with pytest.raises(ValueError, match="block 2.*i24.*16 channels"):
        parse_arch("r1_k3_s11_e1_i32_o16,r1_k3_s22_e6_i24_o24")


def test_architecture_fields_are_validated():
    with pytest.raises(ValueError, match="bad value 'abc'"):
        parse_arch(REFERENCE_A1 + ";width=abc")
    with pytest.raises(ValueError, match="key=value"):
        parse_arch(REFERENCE_A1 + ";colour=red")
    with pytest.raises(ValueError, match="width multiplier"):
        zoo.get("mnasnet_a1", width=0)


def test_zero_layer_block_passes_channels_through():
    arch = parse_arch("r1_k3_s11_e1_i32_o16,r0_k3_s11_e6_i16_o24,r1_k3_s22_e6_i16_o32")
    assert arch.blocks[1].repeats == 0
