"""Contract suites for the plug-in interfaces, shipped so that a new implementation proves it
conforms in a few lines (Optuna's optuna/testing). Each is a pytest class whose tests check every
clause of its interface's docstrings; subclass it in a test module and give it the one hook:

    from mnas_core.testing.strategy import StrategyContract

    class TestMine(StrategyContract):
        def make(self, space, seed):
            return Mine(space, seed=seed)

- strategy.StrategyContract, hook `make(space, seed)`: mnas_core.strategies.base.Strategy
- latency.LatencySourceContract, hook `make_source(tmp_path)`: mnas_core.latency.base's
  LatencySource (and LayerTimer, when the source is one)
- executor.ExecutorContract, hook `make_executor(candidate_timeout_s)`:
  mnas_core.executors.Executor

pytest is needed here only (a test dependency); nothing else in mnas_core imports this package.
"""
import pytest

# The suites' asserts run in the user's test session: rewritten, they report the values that
# failed instead of a bare AssertionError (pytest's advice for helper packages).
pytest.register_assert_rewrite("mnas_core.testing.strategy", "mnas_core.testing.latency",
                               "mnas_core.testing.executor")
