import numpy as np
import pytest
import torch

from mnas_core import zoo
from mnas_core.arch import parse_arch
from mnas_core.builder import build_model
from mnas_core.layers import expand_layers, network_key, round_filters
from mnas_core.profile import layer_cost, totals
from mnas_core.space import SearchSpace

# Two block strings of one network: they differ only in the settings of blocks 1 and 4,
# which have r0 (removed). A recorded predicted run had three such strings in its top 20.
SAME_NET = ("r0_k3_s11_e3_i32_o16,r3_k3_s22_e1_i32_o24,r2_k5_s22_e1_i24_o40,r0_k3_s11_e6_i40_o80"
            ";resolution=16;in_chans=1;num_classes=10;small_input=1",
            "r0_k5_s11_e6_i32_o16_pool,r3_k3_s22_e1_i32_o24,r2_k5_s22_e1_i24_o40,"
            "r0_k5_s11_e3_i40_o96_pool;resolution=16;in_chans=1;num_classes=10;small_input=1")


def forward(arch):
    model = build_model(arch, seed=0).eval()
    with torch.inference_mode():
        return model(torch.randn(2, arch.in_chans, arch.resolution, arch.resolution))


def check_forward(arch):
    out = forward(arch)
    assert out.shape == (2, arch.num_classes)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("name", zoo.names())
@pytest.mark.parametrize("small", [False, True])
def test_every_zoo_model_runs_at_224_and_32(name, small):
    check_forward(zoo.get(name, resolution=32, num_classes=10, small_input=True) if small
                  else zoo.get(name))


def test_fifty_random_samples_run_at_224_and_32():
    rng = np.random.default_rng(0)
    space224, space32 = SearchSpace(), SearchSpace(resolution=32, num_classes=10,
                                                   small_input=True)
    for _ in range(50):
        tokens = space224.sample_tokens(rng)
        check_forward(space224.decode(tokens))
        check_forward(space32.decode(tokens))


def test_profiler_matches_built_modules_layer_by_layer():
    # Pooling skips with projections, SE on every op, 0-layer blocks: the analytic counts
    # must equal the modules' parameters, layer by layer.
    rng = np.random.default_rng(1)
    space = SearchSpace()
    for _ in range(10):
        arch = space.sample(rng)
        model = build_model(arch)
        mods = [model.stem, *model.blocks, model.head, model.classifier]
        layers = expand_layers(arch)
        assert len(mods) == len(layers)
        for mod, layer in zip(mods, layers):
            assert layer_cost(layer).params == sum(p.numel() for p in mod.parameters()), layer


def test_a_layer_adds_its_input_exactly_where_its_built_module_does():
    rng = np.random.default_rng(2)
    space = SearchSpace(resolution=32, num_classes=10, small_input=True)
    archs = [space.sample(rng) for _ in range(8)] + [zoo.get("mnasnet_a1")]
    kinds = set()
    for arch in archs:
        layers = expand_layers(arch)[1:-2]  # the blocks' layers
        for mod, layer in zip(build_model(arch).blocks, layers):
            assert (mod.shortcut.kind != "none") == layer.adds_input, layer
            kinds.add((layer.skip, layer.adds_input))
    assert {("identity", True), ("identity", False), ("pool", True), ("none", False)} <= kinds


def test_small_input_changes_stem_and_first_stride2_block_only():
    big, small = zoo.get("mnasnet_a1"), zoo.get("mnasnet_a1", resolution=32, small_input=True)
    s_big = [L.stride for L in expand_layers(big)]
    s_small = [L.stride for L in expand_layers(small)]
    changed = [i for i, (a, b) in enumerate(zip(s_big, s_small)) if a != b]
    assert changed == [0, 2]  # the stem and the first layer of block 2
    assert expand_layers(small)[-2].res == 4  # the head sees a 4x4 map


def test_round_filters_never_rounds_down_more_than_ten_percent():
    assert round_filters(32 * 0.35) == 16   # 11.2 -> 8 would lose 29%
    assert round_filters(16 * 0.75) == 16
    for c in np.linspace(8, 2000, 500):
        assert round_filters(c) % 8 == 0 and round_filters(c) >= 0.9 * c


def test_resolution_too_small_is_a_clear_error():
    with pytest.raises(ValueError, match="resolution 16 is too small.*at least 32"):
        expand_layers(zoo.get("mnasnet_a1", resolution=16))


def test_seeded_build_is_reproducible_and_leaves_global_rng_alone():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = build_model(zoo.get("mnasnet_a1_x0.35"), seed=7)
    b = build_model(zoo.get("mnasnet_a1_x0.35"), seed=7)
    assert torch.rand(1) == before
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.equal(p, q)


def test_pool_skip_and_conv_op_build():
    arch = parse_arch("r2_k3_s22_e1_i32_o24_pool_conv,r2_k5_s11_e3_i24_o24_pool_se0.25")
    check_forward(arch.replace(resolution=64))
    assert totals(arch).params == sum(p.numel() for p in build_model(arch).parameters())


def test_network_key_is_what_the_network_computes():
    a, b = (parse_arch(t) for t in SAME_NET)
    assert a != b and network_key(a) == network_key(b)  # removed blocks' settings differ
    assert network_key(a) != network_key(a.replace(dropout=0.3))  # trains differently
    k3 = parse_arch(SAME_NET[0].replace("r2_k5_s22", "r2_k3_s22"))
    assert network_key(k3) != network_key(a)
    # the same layers build the same modules: equal parameter counts, as a cross-check
    assert sum(p.numel() for p in build_model(a).parameters()) == sum(
        p.numel() for p in build_model(b).parameters())
