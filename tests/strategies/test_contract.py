"""The Strategy contract (mnas_core/strategies/base.py), run against every implementation."""
import io
import math

import numpy as np
import pytest
import torch

from mnas_core.space import BlockOptions, SearchSpace
from mnas_core.strategies import STRATEGIES, make_strategy

NAMES = sorted(STRATEGIES)
SMALL = {"evolution": {"population": 6, "sample_size": 3}}


def toy_reward(tokens):
    """A reward with a known optimum (all-zero tokens), noise-free."""
    return float(np.mean(np.asarray(tokens) == 0))


def make(name, space=None, seed=0):
    return make_strategy(name, space or SearchSpace(), seed=seed, **SMALL.get(name, {}))


@pytest.mark.parametrize("name", NAMES)
def test_asks_are_valid_token_sequences(name):
    space = SearchSpace()
    s = make(name, space)
    for _ in range(5):
        batch = s.ask(4)
        assert len(batch) == 4
        for tokens in batch:
            assert len(tokens) == len(space.vocab_sizes())
            assert all(0 <= t < n for t, n in zip(tokens, space.vocab_sizes()))
            space.decode(tokens)
        s.tell(batch, [toy_reward(t) for t in batch])


@pytest.mark.parametrize("name", NAMES)
def test_seeded(name):
    def run(seed):
        s, out = make(name, seed=seed), []
        for _ in range(4):
            batch = s.ask(3)
            s.tell(batch, [toy_reward(t) for t in batch])
            out.append(batch)
        return out

    assert run(3) == run(3)
    assert run(3) != run(4)


@pytest.mark.parametrize("name", NAMES)
def test_failed_candidates_are_told_as_nan(name):
    s = make(name)
    for _ in range(4):
        batch = s.ask(4)
        s.tell(batch, [math.nan, toy_reward(batch[1]), math.nan, math.nan])
    s.tell(s.ask(2), [math.nan, math.nan])  # an all-failed batch too
    assert len(s.ask(2)) == 2


@pytest.mark.parametrize("name", NAMES)
def test_state_round_trip_continues_exactly(name):
    a = make(name, seed=1)
    for _ in range(3):
        batch = a.ask(4)
        a.tell(batch, [toy_reward(t) for t in batch])
    buf = io.BytesIO()
    torch.save(a.state_dict(), buf)  # must survive the store's serialisation
    b = make(name, seed=99)
    b.load_state_dict(torch.load(io.BytesIO(buf.getvalue()), weights_only=False))
    for _ in range(3):
        ba, bb = a.ask(4), b.ask(4)
        assert ba == bb
        a.tell(ba, [toy_reward(t) for t in ba])
        b.tell(bb, [toy_reward(t) for t in bb])


@pytest.mark.parametrize("name", NAMES)
def test_single_choice_space(name):
    one = BlockOptions(ops=("mbconv6",), kernels=(3,), se_ratios=(0.0,), skips=("identity",),
                       filter_mults=(1.0,), layer_deltas=(0,))
    space = SearchSpace(blocks=(one,) * 7)
    s = make(name, space)
    batch = s.ask(3)
    assert batch == [[0] * 42] * 3
    s.tell(batch, [0.5, 0.6, 0.7])
