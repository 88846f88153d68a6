"""The learning strategies must beat random search on a reward with a known optimum."""
import numpy as np
import pytest

from mnas_core.space import SearchSpace
from mnas_core.strategies import make_strategy
from mnas_core.strategies.ppo import PPOConfig
from mnas_core.testing.strategy import toy_reward


def mean_reward_of_last_batches(name, seed, batches=30, **cfg):
    s = make_strategy(name, SearchSpace(), seed=seed, **cfg)
    history = []
    for _ in range(batches):
        batch = s.ask(8)
        rewards = [toy_reward(t) for t in batch]
        s.tell(batch, rewards)
        history.append(np.mean(rewards))
    return float(np.mean(history[-5:]))


@pytest.mark.parametrize("name", ["ppo", "evolution"])
def test_beats_random_search(name):
    # Random search averages ~0.36 (mean of 1/vocab sizes); learning must get well above.
    random = np.mean([mean_reward_of_last_batches("random", s) for s in range(3)])
    learned = np.mean([mean_reward_of_last_batches(name, s) for s in range(3)])
    assert random == pytest.approx(0.36, abs=0.03)
    assert learned > random + 0.15


def test_ppo_config_is_validated():
    with pytest.raises(ValueError):
        PPOConfig(clip=1.5)
    with pytest.raises(ValueError, match="unknown strategy 'bayes'"):
        make_strategy("bayes", SearchSpace())
    with pytest.raises(ValueError, match="strategy ppo"):
        make_strategy("ppo", SearchSpace(), temperature=2)
