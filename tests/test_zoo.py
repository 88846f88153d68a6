import pytest

from mnas_core import zoo
from mnas_core.builder import build_model
from mnas_core.profile import totals


def n_params(model):
    return sum(p.numel() for p in model.parameters())


# ../shared/REFERENCE.md: exact parameter counts at 224x224, 1000 classes.
@pytest.mark.parametrize("name, params", [
    ("mnasnet_a1", 3_887_038),
    ("mnasnet_b1", 4_383_312),        # torchvision mnasnet1_0
    ("mobilenet_v2", 3_504_872),
    ("mnasnet_b1_x0.5", 2_218_512),   # torchvision mnasnet0_5
    ("mnasnet_b1_x0.75", 3_170_208),  # torchvision mnasnet0_75
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


def test_zoo_names_and_errors():
    assert len(zoo.names()) == 15
    with pytest.raises(ValueError, match="unknown zoo model 'resnet50'"):
        zoo.get("resnet50")
    with pytest.raises(ValueError, match="bad width suffix"):
        zoo.get("mnasnet_a1_xbig")
