"""The trained source beyond the contract: what it says it measures."""
from mnas_core.accuracy.trained import TrainedAccuracy, TrainedConfig
from mnas_core.data import DataConfig
from mnas_core.train import TrainConfig


def test_it_says_its_budget_and_when_it_trains_a_narrower_copy():
    def said(**train):
        return TrainedAccuracy(TrainedConfig(DataConfig(), TrainConfig(**train))).describe()

    assert said() == "trained on digits for 2 epochs (validation top-1)"
    assert said(epochs=1, width=0.5) == ("trained on digits for 1 epoch as a x0.5-width copy "
                                         "(validation top-1)")
    assert said(steps=40) == "trained on digits for 40 steps (validation top-1)"
