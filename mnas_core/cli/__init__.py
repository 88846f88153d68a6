"""The `mnas` command. Each subcommand group lives in its own module with a `register(sub)`
function that adds its parsers and sets `func`; this file only routes."""
from __future__ import annotations

import argparse
import importlib
import sys

from ..runtime import reexec_with_malloc_tunables

# Modules under mnas_core.cli that contribute subcommands, in help order.
MODULES = ("core", "train", "latency", "search", "predictor", "verify", "phone", "app")


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mnas", description="MNAS Explorer: platform-aware neural architecture search.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in MODULES:
        importlib.import_module(f"{__name__}.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    if argv is None:  # a real process start: make sure glibc's malloc is tuned (see runtime)
        reexec_with_malloc_tunables("mnas_core", sys.argv[1:])
    args = make_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ValueError as err:  # bad user input: say what is wrong, no stack trace
        print(f"mnas {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"mnas {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
