import pytest
import torch

from mnas_core.builder import build_model
from mnas_core.latency import PteRunner, export_pte
from mnas_core.latency.export import example_input

from .helpers import TINY


def test_pte_gives_the_same_outputs_as_eager(tmp_path):
    path = export_pte(TINY, tmp_path / "m.pte")
    assert path.is_file() and path.stat().st_size > 0
    x = example_input(TINY, seed=1)  # a different input from the one exported with
    with torch.inference_mode():
        ref = build_model(TINY, seed=0).eval()(x)
    out = PteRunner(path)(x)
    assert out.shape == ref.shape == (1, TINY.num_classes)
    # the classifier's small init gives logits ~1e-2: compare relative to their scale too
    assert torch.allclose(out, ref, atol=1e-4, rtol=1e-4)
    assert (out - ref).abs().max() <= 1e-4 * max(1.0, ref.abs().max() / 1e-2)
    assert ref.abs().max() > 0


def test_export_rejects_what_cannot_run(tmp_path):
    with pytest.raises(ValueError, match="too small"):
        export_pte(TINY.replace(resolution=16), tmp_path / "m.pte")
    with pytest.raises(ValueError, match=".pte"):
        export_pte(TINY, tmp_path / "m.onnx")
    with pytest.raises(ValueError, match="no .pte"):
        PteRunner(tmp_path / "missing.pte")


def test_every_layer_kind_exports_alone_with_the_same_outputs(tmp_path):
    # The phone's lookup table times each layer as its own .pte: stem, the three block ops
    # (with SE and a pooling skip), head and classifier must all lower.
    from mnas_core.arch import parse_arch
    from mnas_core.builder import build_layer
    from mnas_core.layers import expand_layers
    from mnas_core.latency.export import export_layer_pte, export_overhead_pte, layer_input
    arch = parse_arch("r1_k3_s11_e1_i32_o16_conv,r1_k5_s22_e1_i16_o24_se0.25_noskip,"
                      "r1_k3_s22_e3_i24_o32_se0.25_pool;resolution=32;num_classes=10")
    layers = expand_layers(arch)
    assert {L.kind for L in layers} == {"stem", "conv", "sepconv", "mbconv", "head",
                                        "classifier"}
    for i, layer in enumerate(layers):
        path = export_layer_pte(layer, tmp_path / f"l{i}.pte", seed=0)
        torch.manual_seed(0)
        with torch.inference_mode():
            ref = build_layer(layer).eval()(x := layer_input(layer, seed=1))
        out = PteRunner(path)(x)
        assert out.shape == ref.shape and torch.allclose(out, ref, atol=1e-4, rtol=1e-4), layer
    out = PteRunner(export_overhead_pte(tmp_path / "overhead.pte"))(torch.zeros(1, 8))
    assert torch.equal(out, torch.ones(1, 8))
