"""The op table: one row per ConvOp, read by the parser, layers, profiler, space and diagram.

Adding an op is a row in ops.OPS and a module in blocks.BLOCKS; the toy op here proves it by
touching nothing else."""
import numpy as np
import pytest
import torch

from app import diagram
from mnas_core import blocks, ops
from mnas_core.arch import parse_arch, parse_block
from mnas_core.blocks import ConvBnAct
from mnas_core.builder import build_model
from mnas_core.latency.db import layer_key
from mnas_core.layers import expand_layers
from mnas_core.profile import totals
from mnas_core.space import BlockOptions, SearchSpace, op_token, parse_op


@pytest.fixture
def pointwise_op():
    """A toy op 'pwconv' (a 1x1 conv + BN + act, strided; the kernel choice is ignored)."""
    op = ops.Op("pwconv", "PWConv", expands=False, flag="pw",
                cost=lambda L: ops.conv_bn(L.in_chs, L.out_chs, 1, L.out_res))
    ops.register(op)
    blocks.BLOCKS["pwconv"] = lambda L: ConvBnAct(L.in_chs, L.out_chs, 1, L.stride, act=L.act)
    yield op
    del ops.OPS["pwconv"], blocks.BLOCKS["pwconv"]


def test_a_registered_op_works_everywhere(pointwise_op):
    b = parse_block("r2_k3_s22_e1_i32_o24_noskip_pw")
    assert b.op == "pwconv" and parse_arch("r2_k3_s22_e1_i32_o24_noskip_pw").blocks[0] == b
    assert parse_arch("r2_k3_s22_e1_i32_o24_noskip_pw").to_string() == \
        "r2_k3_s22_e1_i32_o24_noskip_pw"
    assert parse_op("pwconv") == ("pwconv", 1) and op_token("pwconv", 1) == "pwconv"

    space = SearchSpace(blocks=tuple(BlockOptions(ops=("pwconv", "mbconv6"), skips=("none",))
                                     for _ in range(7)))
    archs = [space.sample(np.random.default_rng(s)) for s in range(20)]
    picked = [a for a in archs if any(blk.op == "pwconv" for blk in a.blocks)]
    assert picked, "20 samples over two ops never chose the toy op"
    arch = picked[0]
    assert space.decode(space.encode(arch)) == arch
    model = build_model(arch)
    assert sum(p.numel() for p in model.parameters()) == totals(arch).params
    assert model.eval()(torch.zeros(1, 3, 224, 224)).shape == (1, 1000)

    layer = next(L for L in expand_layers(arch) if L.kind == "pwconv")
    assert layer_key(layer.config()).startswith('["pwconv",')
    box = next(bx for bx in diagram.boxes(arch) if bx.label.startswith("PWConv"))
    assert box.color == diagram.OP_COLORS["other"]


def test_register_refuses_clashes():
    clash = dict(label="X", expands=False, cost=lambda L: ops.ZERO)
    with pytest.raises(ValueError, match="already defined"):
        ops.register(ops.Op("conv", flag="c2", **clash))
    with pytest.raises(ValueError, match="already defined"):
        ops.register(ops.Op("conv2", flag="noskip", **clash))
    with pytest.raises(ValueError, match="needs a block-string flag"):
        ops.register(ops.Op("conv2", flag=None, **clash))
    assert "conv2" not in ops.OPS


def test_two_op_flags_contradict(pointwise_op):
    with pytest.raises(ValueError, match="op tokens conv and pw contradict"):
        parse_block("r1_k3_s11_e1_i32_o16_conv_pw")


def test_layer_config_is_every_field_but_the_position():
    layer = expand_layers(parse_arch("r1_k3_s11_e6_i32_o16_se0.25"))[1]
    assert layer.config() == ("mbconv", 32, 16, 112, 3, 1, 6, 0.25, "identity", "relu")
    moved = layer.__class__(**{**layer.__dict__, "block": 5, "index": 2})
    assert moved.config() == layer.config()


def test_description_imports_no_torch():
    import subprocess
    import sys
    code = ("import sys, mnas_core.arch, mnas_core.ops, mnas_core.layers, mnas_core.space, "
            "mnas_core.profile, mnas_core.zoo; print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True)
    assert out.stdout.strip() == "False"
