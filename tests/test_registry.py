"""The plug-in registries (mnas_core/registry.py): lazy, complete, and read by everything that
lists or checks a plug-in name."""
from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

from mnas_core import registry
from mnas_core.registry import (DATASETS, EXECUTORS, LATENCY_SOURCES, STRATEGIES, Entry,
                                Registry)

ALL = [STRATEGIES, LATENCY_SOURCES, EXECUTORS, DATASETS]
NAMED = [(reg, name) for reg in ALL for name in reg]


def test_reading_registries_and_the_store_imports_no_torch():
    code = ("import sys\n"
            "import mnas_core.registry as r, mnas_core.runfile, mnas_core.store\n"
            "import mnas_core.space, mnas_core.profile\n"
            "import mnas_core.strategies, mnas_core.strategies.random\n"
            "import mnas_core.strategies.evolution, mnas_core.executors\n"
            "for reg in (r.STRATEGIES, r.LATENCY_SOURCES, r.EXECUTORS, r.DATASETS):\n"
            "    [(e.name, e.help, e.usage) for e in reg.entries()]\n"
            "from mnas_core.strategies import RandomSearch\n"
            "bad = sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.'))\n"
            "assert not bad, f'torch was imported: {bad[:3]}'\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]


@pytest.mark.parametrize("reg,name", NAMED, ids=[f"{r.kind}-{n}" for r, n in NAMED])
def test_every_entry_resolves_to_its_implementation(reg, name):
    entry = reg.get(name)
    impl = entry.load()
    assert callable(impl)
    config = entry.load_config()
    assert config is None or dataclasses.is_dataclass(config)
    if reg is not DATASETS:  # strategies, sources and executors say their registered name
        assert impl.name == name
    if reg is EXECUTORS:
        assert callable(impl.from_config)


@pytest.mark.parametrize("reg", ALL, ids=lambda r: r.kind)
def test_unknown_names_are_value_errors_naming_the_choices(reg):
    with pytest.raises(ValueError, match=rf"unknown {reg.kind} 'nope'; use one of \[") as err:
        reg.get("nope")
    assert all(repr(name) in str(err.value) for name in reg)
    with pytest.raises(ValueError, match="unknown"):
        reg.get(["a", "list"])  # a JSON config may hold anything: never a TypeError


def test_an_entry_is_imported_only_when_loaded():
    reg = Registry("widget", (Entry("ghost", "no_such_module_anywhere:Thing", help="lazy"),))
    assert reg.names() == ("ghost",) and "ghost" in reg and len(reg) == 1
    assert reg.get("ghost").help == "lazy"  # reading it imported nothing ...
    with pytest.raises(ModuleNotFoundError):
        reg.load("ghost")                    # ... loading it does
    with pytest.raises(ValueError, match="widget 'ghost' is already registered"):
        reg.register(Entry("ghost", "x:y"))


# ------------------------------------------------------------ a toy plug-in, registered once
@dataclasses.dataclass(frozen=True)
class ToyConfig:
    value: int = 0


class ToyStrategy:
    """Always asks the all-zero sequence: just enough to show a registered plug-in is used."""
    name = "toy"

    def __init__(self, space, cfg=None, seed=0):
        self.space, self.cfg = space, cfg

    def ask(self, n):
        return [[0] * len(self.space.vocab_sizes()) for _ in range(n)]

    def tell(self, tokens, rewards):
        pass

    def state_dict(self):
        return {}

    def load_state_dict(self, state):
        pass


@pytest.fixture
def toy(monkeypatch):
    """A strategy registered for one test (the registry's own dict, restored afterwards)."""
    entry = Entry("toy", f"{__name__}:ToyStrategy", f"{__name__}:ToyConfig", "a test strategy")
    monkeypatch.setitem(STRATEGIES._entries, "toy", entry)
    return entry


def test_a_registered_strategy_is_accepted_everywhere(toy):
    from app import search_form
    from mnas_core.cli import make_parser
    from mnas_core.cli.search import config_from_args
    from mnas_core.search import SearchConfig
    from mnas_core.space import SearchSpace
    from mnas_core.strategies import make_strategy

    s = make_strategy("toy", SearchSpace(), value=3)
    assert isinstance(s, ToyStrategy) and s.cfg == ToyConfig(3)
    assert SearchConfig(strategy="toy").strategy == "toy"  # config validation
    args = make_parser().parse_args(["search", "--strategy", "toy"])  # argparse choices
    assert config_from_args(args).strategy == "toy"
    assert search_form.build_config(search_form.FormValues(name="t", strategy="toy"),
                                    SearchSpace()).strategy == "toy"  # the app's form
    assert search_form.STRATEGIES[-1] == "toy"                          # ... and its menu


def test_configs_refuse_unregistered_names():
    from mnas_core.data import DataConfig
    from mnas_core.executors import ExecutorConfig
    from mnas_core.search import LatencySetup, SearchConfig

    with pytest.raises(ValueError, match="unknown strategy 'bayes'"):
        SearchConfig(strategy="bayes")
    with pytest.raises(ValueError, match="unknown executor 'threads'"):
        SearchConfig(executor="threads")
    with pytest.raises(ValueError, match="unknown executor 'threads'"):
        ExecutorConfig(kind="threads")
    with pytest.raises(ValueError, match="unknown latency source 'guessed'"):
        LatencySetup(source="guessed")
    with pytest.raises(ValueError, match="use digits, cifar10, cifar100 or folder:PATH"):
        DataConfig(name="mnist")
    with pytest.raises(ValueError, match="folder:PATH"):
        DataConfig(name="folder")  # a dataset that takes an argument needs it


def test_the_menus_and_choices_are_the_registries():
    from app import search_form
    from mnas_core.cli import make_parser

    assert search_form.STRATEGIES == STRATEGIES.names()
    assert search_form.LATENCY_SOURCES == LATENCY_SOURCES.names()
    assert search_form.DATASETS == ("digits", "cifar10", "cifar100")  # folder:PATH is typed
    parser = make_parser()
    for flag, reg in (("strategy", STRATEGIES), ("latency", LATENCY_SOURCES),
                      ("executor", EXECUTORS), ("dataset", DATASETS)):
        for entry in reg.entries():
            args = parser.parse_args(["search", f"--{flag}", entry.usage.replace("PATH", "p")])
            assert getattr(args, flag).partition(":")[0] == entry.name


def test_the_phone_is_built_like_any_other_source(tmp_path):
    """make_source builds the phone source from its nested settings, connecting nothing."""
    from mnas_core.latency import make_source
    from mnas_core.phone import PhoneLatency

    src = make_source("phone", connect={"host": "127.0.0.1", "port": 5555},
                      db_path=str(tmp_path / "lat.db"))
    assert isinstance(src, PhoneLatency) and src.config.connect.port == 5555
    assert src._phone is None  # construction is cheap: no connection yet
    with pytest.raises(ValueError, match="phone source: .*colour"):
        make_source("phone", connect={"colour": "red"})


def test_registry_module_stays_generic():
    # The registry itself imports nothing of the package: every target is a string.
    assert all(":" in e.target for reg in ALL for e in reg.entries())
    assert registry.resolve("mnas_core.registry:Registry") is Registry
