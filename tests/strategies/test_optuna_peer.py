"""Optuna's TPE and NSGA-II as peer strategies (mnas_core.strategies.optuna_peer): the contract
at configs small enough to reach their learning phase, learning, failures, exact replay of the
state, a real resumed search, and no import-time or logging side effects."""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

from mnas_core.runfile import decode_state, encode_state
from mnas_core.search import run_search, start_run
from mnas_core.space import SearchSpace
from mnas_core.store import RunStore, read_trials
from mnas_core.strategies import make_strategy
from mnas_core.strategies.optuna_peer import NSGA2Config, TPEConfig
from mnas_core.testing.strategy import StrategyContract, toy_reward

from ..test_search import InterruptAfter, tiny_config

# test_contract.py runs the contract at the defaults (10 random startup trials, a population
# of 50), which its few batches of 4 never leave; these reach TPE's Parzen estimators and
# NSGA-II's second generation by the second batch.
SMALL = {"tpe": {"n_startup_trials": 4}, "nsga2": {"population": 4}}
PEERS = tuple(SMALL)


def play(s, batches, n=8, reward=toy_reward):
    """Ask and tell `batches` batches; the mean reward of each."""
    means = []
    for _ in range(batches):
        batch = s.ask(n)
        rewards = [reward(t) for t in batch]
        s.tell(batch, rewards)
        means.append(float(np.mean(rewards)))
    return means


class TestSmallConfigs(StrategyContract):
    @pytest.fixture(autouse=True, params=PEERS)
    def peer(self, request):
        self.kind = request.param

    def make(self, space, seed):
        return make_strategy(self.kind, space, seed=seed, **SMALL[self.kind])


# ------------------------------------------------------------ it learns
def mean_reward_of_last_batches(name, seed, **cfg):
    """The protocol of test_learning.py: 30 batches of 8, the mean of the last 5."""
    return float(np.mean(play(make_strategy(name, SearchSpace(), seed=seed, **cfg), 30)[-5:]))


@pytest.mark.parametrize("name,cfg", [("tpe", {}), ("nsga2", {"population": 16})])
def test_beats_random_search(name, cfg):
    # Random averages ~0.36 on toy_reward; the same margin test_learning.py asks of PPO and
    # evolution. NSGA-II at its default population of 50 sees under 5 generations in 240
    # trials, hence 16 here.
    random = np.mean([mean_reward_of_last_batches("random", s) for s in range(3)])
    learned = np.mean([mean_reward_of_last_batches(name, s, **cfg) for s in range(3)])
    assert random == pytest.approx(0.36, abs=0.03)
    assert learned > random + 0.15


@pytest.mark.parametrize("name", PEERS)
def test_told_rewards_steer_the_asks(name):
    """The contract's failure test would pass for a strategy that learns nothing: here twins
    told different rewards for the same asks go on to ask differently."""
    space = SearchSpace()
    a, b = (make_strategy(name, space, seed=0, **SMALL[name]) for _ in range(2))
    batch = a.ask(4)  # random: before any reward, the twins agree
    assert b.ask(4) == batch
    a.tell(batch, [toy_reward(t) for t in batch])
    b.tell(batch, [1.0 - toy_reward(t) for t in batch])
    assert a.ask(4) != b.ask(4)


# ------------------------------------------------------------ failures
@pytest.mark.parametrize("name", PEERS)
def test_failed_candidates_reach_optuna_as_failed_trials(name):
    """NaN (and None) rewards become TrialState.FAIL, which both samplers leave out of their
    models; no NaN ever reaches Optuna as a value (it would turn one into a failure too, but
    with a warning: "The value nan is not acceptable")."""
    import optuna

    s = make_strategy(name, SearchSpace(), seed=0, **SMALL[name])
    batch = s.ask(4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s.tell(batch, [math.nan, 0.5, None, 0.7])
    states = [t.state for t in s._study.get_trials(deepcopy=False)]
    fail, ok = optuna.trial.TrialState.FAIL, optuna.trial.TrialState.COMPLETE
    assert states == [fail, ok, fail, ok]
    assert [t.value for t in s._study.get_trials(deepcopy=False)] == [None, 0.5, None, 0.7]


@pytest.mark.parametrize("name", PEERS)
def test_a_failure_with_the_best_tokens_is_not_learned(name):
    """Told as failed, the optimum (all zeros) must not pull later asks towards it: the
    strategy asks as if that candidate's tokens were anything else."""
    space = SearchSpace()
    a, b = (make_strategy(name, space, seed=1, **SMALL[name]) for _ in range(2))
    play(a, 1, n=4)
    play(b, 1, n=4)
    batch = a.ask(4)
    assert b.ask(4) == batch
    rewards = [math.nan] + [toy_reward(t) for t in batch[1:]]
    a.tell(batch, rewards)
    b.tell([[0] * len(space.vocab_sizes())] + batch[1:], rewards)  # the failure: the optimum
    assert play(a, 2, n=4) == play(b, 2, n=4)


# ------------------------------------------------------------ state: replay, refusals
@pytest.mark.parametrize("name", PEERS)
def test_state_is_compact_plain_data_and_replays_exactly(name):
    space = SearchSpace()
    a = make_strategy(name, space, seed=3, **SMALL[name])
    play(a, 6)
    a.ask(8)  # taken between an ask and its tell, as the search does
    state = a.state_dict()
    assert state["asked"].shape == (56, len(space.vocab_sizes()))
    assert state["rewards"].shape == (48,) and state["told"].tolist() == [8] * 6
    b = make_strategy(name, space, seed=42, **SMALL[name])
    b.load_state_dict(decode_state(encode_state(state), "test"))
    assert b._asked == a._asked  # every replayed ask matched its record
    assert len(b._pending) == 8 and b.state_dict()["asked"].equal(state["asked"])


@pytest.mark.parametrize("name", PEERS)
def test_a_history_that_does_not_replay_is_refused(name):
    space = SearchSpace()
    a = make_strategy(name, space, seed=3, **SMALL[name])
    play(a, 3, n=4)
    state = a.state_dict()
    sizes = space.vocab_sizes()
    state["asked"][9, 0] = (state["asked"][9, 0] + 1) % sizes[0]  # not what seed 3 asks
    with pytest.raises(RuntimeError, match="diverged at trial 9"):
        make_strategy(name, space, seed=3, **SMALL[name]).load_state_dict(state)


def test_states_of_other_strategies_or_spaces_are_refused():
    space = SearchSpace()
    tpe, nsga2 = make_strategy("tpe", space), make_strategy("nsga2", space)
    play(tpe, 1, n=2)
    with pytest.raises(ValueError, match="'tpe' state does not fit strategy nsga2"):
        nsga2.load_state_dict(tpe.state_dict())
    other = SearchSpace(blocks=space.blocks[:-1], skeleton=space.skeleton[:-1])
    with pytest.raises(ValueError, match="vocabularies"):
        make_strategy("tpe", other).load_state_dict(tpe.state_dict())
    broken = {**tpe.state_dict(), "told": tpe.state_dict()["told"] + 1}
    with pytest.raises(ValueError, match="inconsistent history"):
        make_strategy("tpe", space).load_state_dict(broken)


# ------------------------------------------------------------ the calling protocol
def test_tell_checks_what_it_is_told():
    s = make_strategy("tpe", SearchSpace())
    with pytest.raises(RuntimeError, match="tell without an ask"):
        s.tell([], [])
    batch = s.ask(2)
    with pytest.raises(ValueError, match="for the 2 candidates asked"):
        s.tell(batch[:1], [0.5])
    other = [list(batch[0]), [(t + 1) % 2 for t in batch[1]]]
    with pytest.raises(ValueError, match="candidate 1 was told with tokens it was not asked"):
        s.tell(other, [0.5, 0.5])
    s.tell(other, [0.5, math.nan])  # a failure's tokens are not read: accepted


def test_two_asks_before_a_tell_make_one_pending_batch():
    s = make_strategy("nsga2", SearchSpace())
    batch = s.ask(2) + s.ask(3)
    s.tell(batch, [toy_reward(t) for t in batch])
    assert s.state_dict()["told"].tolist() == [5]


def test_configs_are_validated():
    for bad in (dict(n_startup_trials=-1), dict(n_ei_candidates=0)):
        with pytest.raises(ValueError, match="tpe needs"):
            TPEConfig(**bad)
    with pytest.raises(ValueError, match="population >= 2"):
        NSGA2Config(population=1)
    with pytest.raises(ValueError, match="mutation_prob must be in"):
        NSGA2Config(mutation_prob=1.5)
    with pytest.raises(ValueError, match="strategy nsga2"):
        make_strategy("nsga2", SearchSpace(), populaton=8)


# ------------------------------------------------------------ side effects
def test_importing_never_imports_optuna_and_its_logging_stays_quiet():
    """Run in a fresh process: importing the package, the registry and this module imports no
    optuna; a strategy's study says nothing on stderr and leaves Optuna's verbosity alone."""
    code = (
        "import sys\n"
        "import mnas_core.registry, mnas_core.strategies, mnas_core.strategies.optuna_peer\n"
        "assert 'optuna' not in sys.modules, 'imported optuna'\n"
        "from mnas_core.space import SearchSpace\n"
        "from mnas_core.strategies import make_strategy\n"
        "import optuna\n"
        "before = optuna.logging.get_verbosity()\n"
        "for name in ('tpe', 'nsga2'):\n"
        "    s = make_strategy(name, SearchSpace(), n_startup_trials=2) if name == 'tpe' \\\n"
        "        else make_strategy(name, SearchSpace(), population=2)\n"
        "    for _ in range(3):\n"
        "        b = s.ask(2)\n"
        "        s.tell(b, [0.5, float('nan')])\n"
        "assert optuna.logging.get_verbosity() == before == optuna.logging.INFO\n"
        "print('ok')\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok" and proc.stderr == ""


# A resume is a new process, with another string-hash seed: state taken in one (between an
# ask and its tell) must replay in the other.
RESUME = """
import json, sys
from pathlib import Path
from mnas_core.runfile import decode_state, encode_state
from mnas_core.space import SearchSpace
from mnas_core.strategies import make_strategy
from mnas_core.testing.strategy import toy_reward
name, cfg, blob = sys.argv[1], json.loads(sys.argv[2]), Path(sys.argv[3])
s = make_strategy(name, SearchSpace(), seed=7 if not blob.exists() else 0, **cfg)
if blob.exists():
    s.load_state_dict(decode_state(blob.read_bytes(), blob))
    pending = json.loads(blob.with_suffix(".json").read_text())
else:
    for _ in range(3):
        b = s.ask(4)
        s.tell(b, [toy_reward(t) for t in b])
    pending = s.ask(4)
    blob.write_bytes(encode_state(s.state_dict()))
    blob.with_suffix(".json").write_text(json.dumps(pending))
s.tell(pending, [toy_reward(t) for t in pending])
print(json.dumps(s.ask(4)))
"""


@pytest.mark.slow  # two subprocesses per strategy
@pytest.mark.parametrize("name", PEERS)
def test_state_resumes_in_another_process(tmp_path, name):
    runs = []
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        proc = subprocess.run([sys.executable, "-c", RESUME, name, json.dumps(SMALL[name]),
                               str(tmp_path / "state.pt")], capture_output=True, text=True,
                              timeout=120, env=env)
        assert proc.returncode == 0, proc.stderr
        runs.append(json.loads(proc.stdout))
    assert runs[0] == runs[1]


# ------------------------------------------------------------ a real search, cut and resumed
@pytest.mark.slow  # eight real (tiny) trainings and latency measurements
def test_interrupted_tpe_search_resumes_exactly(tmp_path):
    """The search loop's own resume (search._restore) through the run store: a run cut in
    batch 2 (TPE's first modelled batch) and resumed asks what an uninterrupted one asks, and
    ends in the same state. The shared latency cache makes the two runs' rewards equal."""
    cfg = tiny_config(tmp_path, strategy="tpe", strategy_options={"n_startup_trials": 2},
                      trials=4, batch_size=2)
    full = start_run(cfg, tmp_path / "full.db")
    run_search(full)
    cut = start_run(cfg, tmp_path / "cut.db")
    with pytest.raises(KeyboardInterrupt):
        run_search(cut, executor=InterruptAfter(3))  # one trial of batch 2 finished
    cut.close()
    cut = run_search(RunStore(cut.path))
    a, b = read_trials(full.path), read_trials(cut.path)
    assert list(a.tokens) == list(b.tokens) and len(a) == 4
    assert all(len(json.loads(t)) == len(SearchSpace().vocab_sizes()) for t in a.tokens)
    sa, sb = full.strategy_state()[1], cut.strategy_state()[1]
    assert sa["asked"].equal(sb["asked"]) and sa["told"].equal(sb["told"])
    np.testing.assert_allclose(sa["rewards"].numpy(), sb["rewards"].numpy())
