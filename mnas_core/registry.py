"""One registry per plug-in kind: strategies, latency sources, executors, datasets. Each maps a
name to an `Entry`, and argparse choices, the app's menus, config validation and the contract
tests all read it, so a name is written once (timm's register_model/list_models).

An entry names its implementation as "module:attr" (the form of Python entry points) and imports
it on first use: reading a registry's names and help imports nothing, so a menu or a --help
never pays for torch. Adding a plug-in is its module plus one Entry below (or `register`).
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping


def resolve(target: str) -> Any:
    """The object a "module:attr" string names, importing its module."""
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


@dataclass(frozen=True)
class Entry:
    name: str
    target: str                  # "module:attr" of the implementation, imported on use
    config: str | None = None    # "module:attr" of its config dataclass, when it has one
    help: str = ""               # one line for --help and the app's menus
    arg: str | None = None       # what follows "name:" when the name takes one (folder:PATH)
    info: Mapping[str, Any] = field(default_factory=dict)  # facts of its kind (see below)

    @property
    def usage(self) -> str:
        return f"{self.name}:{self.arg}" if self.arg else self.name

    def load(self) -> Any:
        return resolve(self.target)

    def load_config(self) -> Any:
        return None if self.config is None else resolve(self.config)


class Registry:
    """name -> Entry for one kind of plug-in, in registration order (the menus' order)."""

    def __init__(self, kind: str, entries: tuple[Entry, ...] = ()):
        self.kind, self._entries = kind, {}
        for entry in entries:
            self.register(entry)

    def register(self, entry: Entry) -> Entry:
        """Add a plug-in. A taken name is a ValueError: replacing it silently would change
        what the name means in every stored run."""
        if entry.name in self._entries:
            raise ValueError(f"{self.kind} {entry.name!r} is already registered")
        self._entries[entry.name] = entry
        return entry

    def names(self) -> tuple[str, ...]:
        return tuple(self._entries)

    def entries(self) -> tuple[Entry, ...]:
        return tuple(self._entries.values())

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self._entries

    def describe(self) -> str:
        """Every entry as "name: what it is", for --help and the app's menus."""
        return "; ".join(f"{e.usage}: {e.help}" for e in self.entries())

    def get(self, name: str) -> Entry:
        """The entry called `name`; ValueError naming every choice for any other value."""
        if name not in self:
            raise ValueError(f"unknown {self.kind} {name!r}; use one of {list(self._entries)}")
        return self._entries[name]

    def load(self, name: str) -> Any:
        return self.get(name).load()


# ------------------------------------------------------------ what MNAS Explorer ships
# Each target is `cls(space, config, seed=)` (contract: strategies/base.py).
_STRATEGY = "mnas_core.strategies."
STRATEGIES = Registry("strategy", (
    Entry("ppo", _STRATEGY + "ppo:PPOSearch", _STRATEGY + "ppo:PPOConfig",
          "the paper's controller, an LSTM trained with PPO (section 4.2)"),
    Entry("random", _STRATEGY + "random:RandomSearch", _STRATEGY + "random:RandomConfig",
          "uniform over the space, the baseline every NAS paper needs"),
    Entry("evolution", _STRATEGY + "evolution:RegularizedEvolution",
          _STRATEGY + "evolution:EvolutionConfig",
          "regularized (aging) evolution, Real et al. 2019"),
    Entry("tpe", _STRATEGY + "optuna_peer:TPESearch", _STRATEGY + "optuna_peer:TPEConfig",
          "Optuna's TPE sampler (Bergstra et al. 2011), a peer baseline"),
    Entry("nsga2", _STRATEGY + "optuna_peer:NSGA2Search", _STRATEGY + "optuna_peer:NSGA2Config",
          "Optuna's NSGA-II sampler; on our one reward a genetic algorithm")))

# Each target is `cls(config, db=)` (contract: latency/base.py). info["options"]: "module:attr"
# of a function that builds the config from nested settings (without it, the settings are the
# config dataclass's own fields).
LATENCY_SOURCES = Registry("latency source", (
    Entry("measured", "mnas_core.latency.host:HostLatencySource",
          "mnas_core.latency.host:HostLatencyConfig", "timed on this CPU"),
    Entry("predicted", "mnas_core.latency.lut:LutPredictor", "mnas_core.latency.lut:LutConfig",
          "the lookup table (per-layer times summed, then corrected)"),
    Entry("phone", "mnas_core.phone.source:PhoneLatency", "mnas_core.phone.source:PhoneConfig",
          "a connected Android phone (adb)",
          info={"options": "mnas_core.phone.source:phone_config_from_dict"})))

# Each target has `from_config(ExecutorConfig)`.
EXECUTORS = Registry("executor", (
    Entry("inprocess", "mnas_core.executors:InProcess", help="in the caller, one at a time"),
    Entry("process", "mnas_core.executors:ProcessPool", help="local worker processes"),
    Entry("dask", "mnas_core.dask_executor:Dask", help="a Dask cluster (local or --scheduler)")))

# Each target is `load(DataConfig, progress) -> Dataset`; info["augment"]: the "auto" policy
# (flips are wrong for digits).
DATASETS = Registry("dataset", (
    Entry("digits", "mnas_core.data:_load_digits", help="built in, offline",
          info={"augment": "crop"}),
    Entry("cifar10", "mnas_core.data:_load_cifar", help="downloaded once",
          info={"augment": "crop_flip"}),
    Entry("cifar100", "mnas_core.data:_load_cifar", help="downloaded once",
          info={"augment": "crop_flip"}),
    Entry("folder", "mnas_core.data:_load_folder", help="your images, one folder per class",
          arg="PATH", info={"augment": "crop_flip"})))

# Each target is `cls(config)` (contract: accuracy/base.py). info["measured"]: whether its
# figures are measurements (only a training is); the others are labelled as stand-ins.
_ACCURACY = "mnas_core.accuracy."
ACCURACY_SOURCES = Registry("accuracy source", (
    Entry("trained", _ACCURACY + "trained:TrainedAccuracy", _ACCURACY + "trained:TrainedConfig",
          "a short proxy training on the search dataset (the paper's ACC(m))",
          info={"measured": True}),
    Entry("predicted", _ACCURACY + "predicted:PredictedAccuracy",
          _ACCURACY + "predicted:PredictedConfig",
          "a predictor fitted on recorded trainings (mnas predictor fit)",
          info={"measured": False}),
    Entry("estimated", _ACCURACY + "estimated:EstimatedAccuracy",
          _ACCURACY + "estimated:EstimatedConfig",
          "ImageNet top-1 estimated from published results (a teaching landscape)",
          info={"measured": False})))
