"""Optuna's samplers as peer strategies behind our ask/tell interface: TPE and NSGA-II.

Each decision of the space (`space.vocab_sizes()`) is one Optuna categorical named
"b{block}.{decision}", so a trial is a token sequence. Optuna is driven only through its
ask/tell API (`study.ask(fixed_distributions)`, `study.tell`): our loop owns the evaluation,
as with every strategy (base.py). The study maximises our scalar reward (eq. 2 of the paper);
a candidate told NaN is told to Optuna as TrialState.FAIL, and both samplers learn only from
COMPLETE trials, so its tokens change nothing.

State: Optuna's in-memory study is objects, not plain data, so `state_dict` holds the seed and
the history (every asked token sequence, every told reward, where each tell fell), and
`load_state_dict` rebuilds the study by replaying those calls on a fresh sampler seeded alike,
which puts its generator where it was. Each replayed ask is checked against the recorded one;
a divergence (another Optuna version, another config) is a RuntimeError, never a silent drift.
Replay repeats every ask, so loading a state costs about as long as the run took to ask and
tell it; TPE's ask grows with the history, so that is what limits resuming a long TPE run.

Optuna is imported on first use (building a strategy), so importing this module, the
strategies package or the registry never imports it.
"""
from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterator

import numpy as np

from ..space import SearchSpace
from .base import Strategy, Tokens

if TYPE_CHECKING:
    import optuna


def _optuna():
    import optuna  # here, not at the top: see the module docstring

    return optuna


@contextmanager
def _quiet(optuna) -> Iterator[None]:
    """Optuna's INFO lines ("A new study created in memory ...") off for our calls only; its
    warnings still show. The level is restored afterwards, so nobody else's logging changes."""
    before = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(before)


@dataclass(frozen=True)
class TPEConfig:
    """Optuna's TPESampler (Bergstra et al., NeurIPS 2011; Watanabe 2023), its defaults."""
    n_startup_trials: int = 10   # random asks before the Parzen estimators take over
    n_ei_candidates: int = 24    # samples from l(x) scored by l(x)/g(x) per ask
    multivariate: bool = True    # one joint estimator over all decisions (Optuna 5's default)
    constant_liar: bool = True   # asked, untold trials of the batch count as bad: a batch spreads

    def __post_init__(self):
        if self.n_startup_trials < 0 or self.n_ei_candidates < 1:
            raise ValueError("tpe needs n_startup_trials >= 0 and n_ei_candidates >= 1 (got "
                             f"{self.n_startup_trials}, {self.n_ei_candidates})")


@dataclass(frozen=True)
class NSGA2Config:
    """Optuna's NSGAIISampler (Deb et al., IEEE TEVC 2002), its defaults."""
    population: int = 50             # trials per generation (Optuna's population_size)
    crossover_prob: float = 0.9      # else a child copies one parent
    swapping_prob: float = 0.5       # uniform crossover: chance of taking the other parent's value
    mutation_prob: float | None = None  # per decision; None is 1 / number of decisions

    def __post_init__(self):
        if self.population < 2:
            raise ValueError(f"nsga2 needs population >= 2, got {self.population}")
        for name in ("crossover_prob", "swapping_prob", "mutation_prob"):
            p = getattr(self, name)
            if p is not None and not 0.0 <= p <= 1.0:
                raise ValueError(f"nsga2 {name} must be in [0, 1], got {p}")


class _OptunaPeer(Strategy):
    """One Optuna study in memory, driven by ask/tell (see the module docstring)."""

    def __init__(self, space: SearchSpace, cfg: Any, seed: int = 0):
        self.space, self.cfg = space, cfg
        self.sizes = space.vocab_sizes()
        self._names = [f"b{b}.{d}" for b, d, _ in space.decisions()]
        self._optuna = _optuna()
        dist = self._optuna.distributions.CategoricalDistribution
        # Categorical, not int: the tokens index unordered choices (ops, skip kinds).
        self._dists = {name: dist(tuple(range(k))) for name, k in zip(self._names, self.sizes)}
        self._start(seed)

    # ------------------------------------------------------------ the sampler (per subclass)
    def _sampler(self, seed: int) -> optuna.samplers.BaseSampler:
        raise NotImplementedError

    def _start(self, seed: int) -> None:
        """A fresh study whose sampler draws from `seed` only, and an empty history."""
        self.seed = int(seed)
        # Optuna seeds numpy's legacy RandomState (0 <= seed < 2**32); SeedSequence maps any
        # non-negative int there, different seeds apart.
        sampler_seed = int(np.random.SeedSequence(self.seed).generate_state(1)[0])
        with _quiet(self._optuna):
            self._study = self._optuna.create_study(direction="maximize",
                                                    sampler=self._sampler(sampler_seed))
        self._asked: list[Tokens] = []    # every asked sequence, in order
        self._rewards: list[float] = []   # every told reward (NaN: failed), in order
        self._told: list[int] = []        # how many trials each tell finished
        self._pending: list = []          # optuna Trials asked and not yet told

    # ------------------------------------------------------------ ask / tell
    def _ask_one(self) -> Tokens:
        trial = self._study.ask(self._dists)
        self._pending.append(trial)
        params = trial.params  # a copy per read: read it once
        return [int(params[name]) for name in self._names]

    def ask(self, n: int) -> list[Tokens]:
        # An ask before the last batch is told just grows the pending batch: Optuna asks one
        # trial at a time either way, so the sampler cannot tell the difference.
        with _quiet(self._optuna):
            out = [self._ask_one() for _ in range(n)]
        self._asked.extend(out)
        return [list(t) for t in out]

    def tell(self, tokens: list[Tokens], rewards: list[float]) -> None:
        if not self._pending:
            raise RuntimeError(f"{self.name}: tell without an ask")
        if not len(tokens) == len(rewards) == len(self._pending):
            raise ValueError(f"{self.name}: told {len(tokens)} tokens and {len(rewards)} "
                             f"rewards for the {len(self._pending)} candidates asked")
        rewards = [math.nan if r is None else float(r) for r in rewards]
        first = len(self._asked) - len(self._pending)
        for i, (t, r) in enumerate(zip(tokens, rewards)):
            # A failed candidate's tokens are never read (the contract); the others must be
            # what was asked, since Optuna learns from the trial's own params.
            if not math.isnan(r) and [int(x) for x in t] != self._asked[first + i]:
                raise ValueError(f"{self.name}: candidate {i} was told with tokens it was not "
                                 f"asked ({list(t)} vs {self._asked[first + i]})")
        self._tell(rewards)

    def _tell(self, rewards: list[float]) -> None:
        fail = self._optuna.trial.TrialState.FAIL
        with _quiet(self._optuna):
            for trial, r in zip(self._pending, rewards):
                if math.isnan(r):
                    self._study.tell(trial, state=fail)  # left out of learning by both samplers
                else:
                    self._study.tell(trial, r)
        self._rewards.extend(rewards)
        self._told.append(len(rewards))
        self._pending = []

    # ------------------------------------------------------------ state
    def state_dict(self) -> dict:
        # The history as tensors, not lists: the run store's safe unpickler reads a list
        # element by element in Python, seconds for a few thousand trials.
        import torch  # here: the run store's codec needs it anyway, importing us must not

        small = max(self.sizes, default=1) <= 256  # a byte per token: the store rewrites it
        asked = torch.tensor(self._asked, dtype=torch.uint8 if small else torch.int64)
        asked = asked.reshape(-1, len(self.sizes))  # also when nothing was asked yet
        return {"strategy": self.name, "optuna": self._optuna.__version__, "seed": self.seed,
                "sizes": list(self.sizes), "asked": asked,
                "rewards": torch.tensor(self._rewards, dtype=torch.float64),
                "told": torch.tensor(self._told, dtype=torch.int64)}

    def load_state_dict(self, state: dict) -> None:
        if state["strategy"] != self.name:
            raise ValueError(f"a {state['strategy']!r} state does not fit strategy {self.name}")
        if list(state["sizes"]) != list(self.sizes):
            raise ValueError(f"{self.name}: the state is of a space with vocabularies "
                             f"{list(state['sizes'])}, not {self.sizes}")
        asked = [[int(x) for x in t] for t in state["asked"].tolist()]
        rewards = [float(r) for r in state["rewards"].tolist()]
        told = [int(k) for k in state["told"].tolist()]
        if sum(told) != len(rewards) or len(rewards) > len(asked) or min(told, default=1) < 1:
            raise ValueError(f"{self.name}: inconsistent history ({len(asked)} asked, "
                             f"{len(rewards)} rewards, tells of {told})")
        self._start(int(state["seed"]))
        done = 0
        for k in told + [len(asked) - len(rewards)]:  # the last: asked, not yet told
            if k:
                self._replay(asked[done:done + k], state["optuna"])
                if done + k <= len(rewards):
                    self._tell(rewards[done:done + k])
            done += k

    def _replay(self, expected: list[Tokens], version: str) -> None:
        got = self.ask(len(expected))
        if got != expected:
            n = len(self._asked) - len(expected) + next(
                i for i, (a, b) in enumerate(zip(got, expected)) if a != b)
            raise RuntimeError(
                f"{self.name}: replaying the stored history diverged at trial {n} (state from "
                f"optuna {version}, this is {self._optuna.__version__}); it cannot resume")


class TPESearch(_OptunaPeer):
    """Tree-structured Parzen Estimator (Bergstra et al., NeurIPS 2011), Optuna's TPESampler:
    after `n_startup_trials` random asks, it splits the completed trials into good (Optuna's
    gamma: the top 10%, at most 25) and bad, fits a Parzen estimator l(x) to the good and g(x)
    to the bad, and asks the one of `n_ei_candidates` draws from l(x) with the largest
    l(x)/g(x), which maximises expected improvement (Bergstra et al., section 4)."""

    name = "tpe"

    def __init__(self, space: SearchSpace, cfg: TPEConfig | None = None, seed: int = 0):
        super().__init__(space, cfg or TPEConfig(), seed)

    def _sampler(self, seed: int):
        c = self.cfg
        return self._optuna.samplers.TPESampler(
            n_startup_trials=c.n_startup_trials, n_ei_candidates=c.n_ei_candidates,
            multivariate=c.multivariate, constant_liar=c.constant_liar, seed=seed)


class NSGA2Search(_OptunaPeer):
    """Optuna's NSGAIISampler (Deb et al., IEEE TEVC 2002) on our one objective, the reward.

    With one objective, non-dominated sorting is ranking by reward and crowding distance only
    breaks ties, so this is a generational, elitist genetic algorithm, not a multi-objective
    search: each generation of `population` completed trials is bred from the best
    `population` of the previous generation and its parents ((mu + lambda) survival), a child
    by binary-tournament parents, uniform crossover and per-decision random-reset mutation.
    The first generation is uniformly random; a generation is full once `population` of its
    trials completed (failures do not count). (The paper's two objectives, accuracy and
    latency, are folded into the one reward of eq. 2 before any strategy sees them.)"""

    name = "nsga2"

    def __init__(self, space: SearchSpace, cfg: NSGA2Config | None = None, seed: int = 0):
        super().__init__(space, cfg or NSGA2Config(), seed)

    def _sampler(self, seed: int):
        c = self.cfg
        return self._optuna.samplers.NSGAIISampler(
            population_size=c.population, crossover_prob=c.crossover_prob,
            swapping_prob=c.swapping_prob, mutation_prob=c.mutation_prob, seed=seed)
