"""The shipped Strategy contract (mnas_core.testing.strategy) over every registered strategy."""
import pytest

from mnas_core.registry import STRATEGIES
from mnas_core.strategies import make_strategy
from mnas_core.testing.strategy import StrategyContract

# Small enough that the contract's few batches reach evolution's mutation phase.
# Small populations, so that the contract's few batches reach each strategy's learning phase.
SMALL = {"evolution": {"population": 6, "sample_size": 3}, "tpe": {"n_startup_trials": 4},
         "nsga2": {"population": 4}}


class TestRegisteredStrategies(StrategyContract):
    @pytest.fixture(autouse=True, params=STRATEGIES.names())
    def registered(self, request):
        self.kind = request.param

    def make(self, space, seed):
        return make_strategy(self.kind, space, seed=seed, **SMALL.get(self.kind, {}))

    def test_name_is_the_registered_one(self):
        assert self.make(self.space(), 0).name == self.kind
