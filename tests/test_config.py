"""The one config reader (mnas_core/config.py): shape, plain types and nesting, with errors
that say where."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import pytest

from mnas_core import config


@dataclass(frozen=True)
class Inner:
    size: int
    scale: float = 1.0

    def __post_init__(self):
        if self.size < 1:
            raise ValueError(f"size must be >= 1, got {self.size}")


@dataclass(frozen=True)
class Outer:
    name: str = "x"
    inner: Inner = field(default_factory=lambda: Inner(1))
    maybe: Inner | None = None
    parts: tuple[Inner, ...] = field(default=(), metadata={"item": "part"})
    pair: tuple[float, float] = (0.0, 1.0)
    grid: tuple[tuple[int, int], ...] = ()
    flag: bool = False
    options: dict = field(default_factory=dict)


def test_round_trip_through_plain_data():
    value = Outer("y", Inner(2, 0.5), Inner(3), (Inner(4), Inner(5)), (1, 2.5), ((1, 2),),
                  True, {"a": [1]})
    assert config.load(Outer, dataclasses.asdict(value), "outer") == value
    assert config.load(Outer, {}, "outer") == Outer()


@pytest.mark.parametrize("data, message", [
    ([1], "outer must be a JSON object, got list"),
    ({"colour": 1}, "outer: unknown field\\(s\\) 'colour'; known: name, inner"),
    ({"inner": {}}, "outer: inner: missing field\\(s\\) size"),
    ({"inner": 5}, "outer: inner must be a JSON object, got int"),
    ({"inner": {"size": 0}}, "outer: inner: size must be >= 1, got 0"),
    ({"inner": {"size": True}}, "outer: inner: size must be an integer, got True"),
    ({"inner": {"size": 2.0}}, "outer: inner: size must be an integer, got 2.0"),
    ({"inner": {"size": 2, "scale": "1"}}, "outer: inner: scale must be a number"),
    ({"maybe": {"size": -1}}, "outer: maybe: size must be >= 1"),
    ({"parts": {"size": 1}}, "outer: parts must be a list, got dict"),
    ({"parts": [{"size": 1}, {"size": 0}]}, "outer: part 2: size must be >= 1"),
    ({"name": 5}, "outer: name must be a string, got 5"),
    ({"flag": "no"}, "outer: flag must be true or false, got 'no'"),
    ({"options": []}, "outer: options must be a JSON object, got \\[\\]"),
])
def test_errors_name_where(data, message):
    with pytest.raises(ValueError, match=message):
        config.load(Outer, data, "outer")


def test_lists_become_tuples_and_built_instances_stay():
    out = config.load(Outer, {"pair": [1, 2], "grid": [[1, 2], [3, 4]], "inner": Inner(7)},
                      "outer")
    assert out.pair == (1, 2) and out.grid == ((1, 2), (3, 4)) and out.inner == Inner(7)
    assert config.load(Outer, {"maybe": None}, "outer").maybe is None
