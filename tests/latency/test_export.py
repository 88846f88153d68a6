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
