"""Plain JSON data -> nested frozen dataclasses: the one reader of every stored or uploaded
config (search configs, search spaces, architectures, phone settings).

`load(cls, data, where)` checks the shape (an object, known fields, the required ones present),
the plain types the annotations name (int, float, str, bool, dict, each optional with None),
and recurses by annotation into nested dataclasses and tuples of them. Value ranges stay in
each dataclass's own `__post_init__`, so a config built in Python is checked the same way.
Every failure is one ValueError that says where it is, e.g. "search config: dataset:
resolution must be in 8..1024, got 4". A field's `metadata={"item": "block"}` names the items
of a tuple of dataclasses in messages ("block 3: ...").
"""
from __future__ import annotations

import dataclasses
import functools
import numbers
import types
import typing

_PLAIN = {int: "an integer", float: "a number", str: "a string", bool: "true or false",
          dict: "a JSON object"}


def load(cls, data, where: str):
    """An instance of the dataclass `cls` from `data` (a dict, as json.loads gives it)."""
    if not isinstance(data, dict):
        raise ValueError(f"{where} must be a JSON object, got {type(data).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(str(k) for k in data if k not in fields)
    if unknown:
        shown = ", ".join(_show(k) for k in unknown[:5]) + (", ..." if len(unknown) > 5 else "")
        raise ValueError(f"{where}: unknown field(s) {shown}; known: {', '.join(fields)}")
    missing = [n for n, f in fields.items() if n not in data and f.default is dataclasses.MISSING
               and f.default_factory is dataclasses.MISSING]
    if missing:
        raise ValueError(f"{where}: missing field(s) {', '.join(missing)}")
    hints = _hints(cls)
    kwargs = {name: _value(hints[name], value, f"{where}: {name}", fields[name])
              for name, value in data.items()}
    try:
        return cls(**kwargs)
    except (TypeError, ValueError, AttributeError) as err:  # a value its class refuses
        raise ValueError(f"{where}: {err}") from None


@functools.cache
def _hints(cls) -> dict:
    return typing.get_type_hints(cls)


def _value(tp, value, where: str, field: dataclasses.Field | None = None):
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        rest = [a for a in args if a is not type(None)]
        return _value(rest[0], value, where, field) if len(rest) == 1 else value
    if dataclasses.is_dataclass(tp):  # an instance already built (a runner spec) stays
        return value if isinstance(value, tp) else load(tp, value, where)
    if origin is tuple and args and dataclasses.is_dataclass(args[0]):
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"{where} must be a list, got {type(value).__name__}")
        item = field.metadata.get("item") if field else None
        head = where.rpartition(": ")[0]
        item = (f"{head}: {item}" if head else item) if item else f"{where} item"
        return tuple(_value(args[0], v, f"{item} {i}") for i, v in enumerate(value, 1))
    if origin is tuple:
        return _tuples(tp, value)
    if tp in _PLAIN and not _is(tp, value):
        raise ValueError(f"{where} must be {_PLAIN[tp]}, got {_show(value)}")
    return value  # tuples of plain values, callables...: the class's own checks apply


def _tuples(tp, value):
    """Lists read from JSON as the tuples a tuple annotation names (recursively); anything
    else is left as it is for the class's own checks, which name what is wrong."""
    if typing.get_origin(tp) is not tuple or not isinstance(value, (list, tuple)):
        return value
    args = typing.get_args(tp)
    if len(args) == 2 and args[1] is Ellipsis:
        return tuple(_tuples(args[0], v) for v in value)
    if len(args) == len(value):
        return tuple(_tuples(a, v) for a, v in zip(args, value))
    return tuple(value)


def _show(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _is(tp, value) -> bool:
    if isinstance(value, bool):
        return tp is bool
    if tp is int:
        return isinstance(value, numbers.Integral)
    if tp is float:
        return isinstance(value, numbers.Real)
    return isinstance(value, tp)
