import pytest
import torch
import torchvision.models
from torch import nn

from mnas_core import zoo
from mnas_core.arch import HEAD_RULES, parse_arch
from mnas_core.builder import build_model
from mnas_core.layers import expand_layers
from mnas_core.profile import totals


def n_params(model):
    return sum(p.numel() for p in model.parameters())


# docs/facts.md: exact parameter counts at 224x224, 1000 classes.
@pytest.mark.parametrize("name, params", [
    ("mnasnet_a1", 3_887_038),
    ("mnasnet_b1", 4_383_312),        # torchvision mnasnet1_0
    ("mobilenet_v2", 3_504_872),
    ("mnasnet_b1_x0.5", 2_218_512),   # torchvision mnasnet0_5
    ("mnasnet_b1_x0.75", 3_170_208),  # torchvision mnasnet0_75
    ("mnasnet_b1_x1.3", 6_282_256),   # torchvision mnasnet1_3: the head stays at 1280
])
def test_published_parameter_counts(name, params):
    arch = zoo.get(name)
    assert totals(arch).params == params
    assert n_params(build_model(arch)) == params


@pytest.mark.parametrize("name, macs", [
    ("mnasnet_a1", 312e6), ("mobilenet_v2", 300e6), ("mnasnet_b1", 315e6),
])
def test_published_macs_within_one_percent(name, macs):
    assert totals(zoo.get(name)).macs == pytest.approx(macs, rel=0.01)


def test_width_variants_match_the_papers_small_models():
    # Paper Table 4: A1 0.35 1.7M params / 63M MACs; MobileNetV2 0.35 1.66M / 59M.
    a1 = totals(zoo.get("mnasnet_a1_x0.35"))
    assert a1.params == pytest.approx(1.7e6, rel=0.03) and a1.macs == pytest.approx(63e6, rel=0.03)
    mb = totals(zoo.get("mobilenet_v2_x0.35"))
    assert mb.params == pytest.approx(1.66e6, rel=0.03) and mb.macs == pytest.approx(59e6, rel=0.03)


# The TF reference's mnasnet_models.py, verbatim (tensorflow/tpu, models/official/mnasnet).
TF_REFERENCE = {
    "mnasnet_a1": ["r1_k3_s11_e1_i32_o16_noskip", "r2_k3_s22_e6_i16_o24",
                   "r3_k5_s22_e3_i24_o40_se0.25", "r4_k3_s22_e6_i40_o80",
                   "r2_k3_s11_e6_i80_o112_se0.25", "r3_k5_s22_e6_i112_o160_se0.25",
                   "r1_k3_s11_e6_i160_o320"],
    "mnasnet_b1": ["r1_k3_s11_e1_i32_o16_noskip", "r3_k3_s22_e3_i16_o24",
                   "r3_k5_s22_e3_i24_o40", "r3_k5_s22_e6_i40_o80", "r2_k3_s11_e6_i80_o96",
                   "r4_k5_s22_e6_i96_o192", "r1_k3_s11_e6_i192_o320_noskip"],
    "mnasnet_small": ["r1_k3_s11_e1_i16_o8", "r1_k3_s22_e3_i8_o16", "r2_k3_s22_e6_i16_o16",
                      "r4_k5_s22_e6_i16_o32_se0.25", "r3_k3_s11_e6_i32_o32_se0.25",
                      "r3_k5_s22_e6_i32_o88_se0.25", "r1_k3_s11_e6_i88_o144"],
    "mnasnet_d1": ["r1_k3_s11_e9_i32_o24", "r3_k3_s22_e9_i24_o36", "r5_k3_s22_e9_i36_o48",
                   "r4_k5_s22_e9_i48_o96", "r5_k7_s11_e3_i96_o96", "r3_k3_s22_e9_i96_o80",
                   "r1_k7_s11_e6_i80_o320_noskip"],
    "mnasnet_d1_320": ["r3_k5_s11_e6_i32_o24", "r4_k7_s22_e9_i24_o36", "r5_k5_s22_e9_i36_o48",
                       "r5_k7_s22_e6_i48_o96", "r5_k3_s11_e9_i96_o144",
                       "r5_k5_s22_e6_i144_o160", "r1_k7_s11_e9_i160_o320"],
}


@pytest.mark.parametrize("name", sorted(TF_REFERENCE))
def test_tf_reference_networks_load_verbatim_and_build(name):
    arch = zoo.get(name)
    assert arch.to_string().split(";")[0] == ",".join(TF_REFERENCE[name])
    assert arch.head_chs == 1280 and arch.head_rule == "fixed" and arch.act == "relu"
    model = build_model(arch)
    assert n_params(model) == totals(arch).params
    out = model.eval()(torch.zeros(1, 3, arch.resolution, arch.resolution))
    assert out.shape == (1, 1000)


def test_mnasnet_small_matches_its_published_size_and_reference_semantics():
    # The reference README: mnasnet-small has 2.0M parameters and 68M multiply-adds.
    arch = zoo.get("mnasnet_small")
    cost = totals(arch)
    assert cost.params == pytest.approx(2.0e6, rel=0.025)
    assert cost.macs == pytest.approx(68e6, rel=0.01)
    assert (arch.stem_chs, arch.dropout) == (8, 0.0)
    # Block 1 declares i16 after an 8-filter stem: built from the real 8 channels, and without
    # the skip (the reference adds it only where the declared input equals the output).
    first = expand_layers(arch)[1]
    assert (first.in_chs, first.out_chs, first.skip) == (8, 8, "none")
    assert build_model(arch).blocks[0].shortcut.kind == "none"
    # After a 16-filter stem the input matches and the layer keeps its declared skip op.
    assert expand_layers(arch.replace(stem_chs=16))[1].skip == "identity"


def test_zoo_names_and_errors():
    # 6 networks; the 3 with published width tables at 5 more widths each.
    assert len(zoo.names()) == 6 + 3 * 5
    assert "mnasnet_b1_x1.3" in zoo.names()
    with pytest.raises(ValueError, match="unknown zoo model 'resnet50'"):
        zoo.get("resnet50")
    with pytest.raises(ValueError, match="bad width suffix"):
        zoo.get("mnasnet_a1_xbig")


# ---------------------------------------------------------------- torchvision peers
def torchvision_model(tv_name: str) -> nn.Module:
    torch.manual_seed(0)  # torchvision initialises from the global RNG
    return getattr(torchvision.models, tv_name)(weights=None, num_classes=1000)


@pytest.mark.parametrize("tv_name, name", zoo.TORCHVISION.items())
def test_torchvision_parameter_counts_match(tv_name, name):
    arch = zoo.get(name)
    expected = n_params(torchvision_model(tv_name))
    assert totals(arch).params == expected
    assert n_params(build_model(arch)) == expected


def test_head_rules():
    # Both rules agree at width <= 1.0; above it only "widen" scales the head.
    assert HEAD_RULES == ("fixed", "widen")
    for w in (0.35, 1.0):
        fixed, widen = (expand_layers(zoo.get("mnasnet_b1", width=w, head_rule=r))[-2]
                        for r in HEAD_RULES)
        assert fixed == widen and fixed.out_chs == 1280
    head = lambda name, **kw: expand_layers(zoo.get(name, **kw))[-2].out_chs  # noqa: E731
    assert head("mnasnet_b1_x1.3") == 1280                      # TF reference, torchvision
    assert head("mnasnet_b1_x1.3", head_rule="widen") == 1664   # round_filters(1280 x 1.3)
    assert head("mobilenet_v2_x1.4") == 1792                    # MobileNetV2's own rule
    # The old single rule widened MnasNet too: +544,512 params on torchvision's mnasnet1_3.
    widened = totals(zoo.get("mnasnet_b1_x1.3", head_rule="widen")).params
    assert widened - totals(zoo.get("mnasnet_b1_x1.3")).params == 544_512
    # The TF MnasNet README lists A1 x1.4 at 6.1M parameters: only the fixed head gives that.
    assert totals(zoo.get("mnasnet_a1_x1.4")).params == pytest.approx(6.1e6, rel=0.005)
    assert totals(zoo.get("mnasnet_a1_x1.4", head_rule="widen")).params > 6.8e6
    # The rule is data: a field of the architecture, default the reference's, round-tripped.
    arch = parse_arch(zoo.MNASNET_B1 + ";width=1.3")
    assert arch.head_rule == "fixed" and ";head_rule" not in arch.to_string()
    mb = zoo.get("mobilenet_v2_x1.4")
    assert mb.to_string().endswith(";head_rule=widen") and parse_arch(mb.to_string()) == mb
    with pytest.raises(ValueError, match="head_rule must be one of"):
        zoo.get("mnasnet_b1", head_rule="torchvision")


def copy_weights(src: nn.Module, dst: nn.Module) -> None:
    """Copy `src`'s parameters and buffers into `dst` in registration order, failing on any
    difference of count, shape or layer hyper-parameters. BatchNorm's eps is not a tensor: ours
    is the TF reference's 1e-3, torchvision's PyTorch's 1e-5, so the running variance is shifted
    by the difference, which makes eval-mode BN compute the same (x - mean) / sqrt(var + eps)."""
    for kind in ("named_parameters", "named_buffers"):
        a, b = list(getattr(src, kind)()), list(getattr(dst, kind)())
        assert len(a) == len(b), f"{kind}: torchvision has {len(a)}, ours {len(b)}"
        for (na, ta), (nb, tb) in zip(a, b):
            assert ta.shape == tb.shape, f"torchvision {na} {tuple(ta.shape)} vs ours {nb} " \
                                         f"{tuple(tb.shape)}"
            with torch.no_grad():
                tb.copy_(ta)
    layer_types = (nn.Conv2d, nn.BatchNorm2d, nn.Linear)
    a = [m for m in src.modules() if isinstance(m, layer_types)]
    b = [m for m in dst.modules() if isinstance(m, layer_types)]
    assert [type(m) for m in a] == [type(m) for m in b]
    for i, (ma, mb) in enumerate(zip(a, b)):
        if isinstance(ma, nn.Conv2d):
            hyper = ("kernel_size", "stride", "padding", "dilation", "groups", "padding_mode")
            assert [getattr(ma, h) for h in hyper] == [getattr(mb, h) for h in hyper], f"conv {i}"
            assert (ma.bias is None) == (mb.bias is None), f"conv {i} bias"
        elif isinstance(ma, nn.BatchNorm2d):
            with torch.no_grad():
                mb.running_var.copy_(ma.running_var + ma.eps - mb.eps)


@pytest.mark.parametrize("tv_name, name", zoo.TORCHVISION.items())
def test_torchvision_weights_give_the_same_outputs(tv_name, name):
    """Structural identity: torchvision's randomly initialised weights, copied tensor by tensor,
    give our network torchvision's outputs (eval mode)."""
    tv = torchvision_model(tv_name).eval()
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():  # non-trivial BN statistics, so a swapped weight/bias would show
        for m in tv.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5, generator=g)
                m.bias.normal_(0.0, 0.1, generator=g)
                m.running_mean.normal_(0.0, 0.1, generator=g)
                m.running_var.uniform_(0.5, 1.5, generator=g)
    ours = build_model(zoo.get(name), seed=2).eval()
    copy_weights(tv, ours)
    x = torch.randn(2, 3, 224, 224, generator=g)
    with torch.inference_mode():
        expected, got = tv(x), ours(x)
    assert expected.abs().max() > 0.1  # the comparison is not between two near-zero outputs
    assert (got - expected).abs().max().item() <= 1e-5
