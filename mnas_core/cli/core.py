"""`mnas space` and `mnas profile`."""
from __future__ import annotations

import argparse
from pathlib import Path

from .. import zoo
from ..arch import Architecture, parse_arch
from ..profile import profile
from ..space import DECISIONS, SearchSpace


def _read(path: str, what: str) -> str:
    """A user's file as text; unreadable or undecodable files become a one-line ValueError."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise ValueError(f"cannot read {what} {path}: {err.strerror or err}") from None
    except UnicodeDecodeError as err:
        raise ValueError(f"{what} {path} is not UTF-8 text: {err.reason}") from None


def resolve_arch(text: str, **overrides) -> Architecture:
    """A zoo name, a block string (optionally with ;key=value fields) or a JSON file."""
    if text in zoo.names() or text.partition("_x")[0] in zoo.BASES:
        return zoo.get(text, **overrides)
    if text.endswith(".json") and Path(text).is_file():
        content = _read(text, "architecture file")
        try:
            return Architecture.from_json(content).replace(**overrides)
        except ValueError as err:
            raise ValueError(f"{text}: {err}") from None
    return parse_arch(text, **overrides)


def load_space(path: str | None) -> SearchSpace:
    """The search space in the JSON file `path` (the paper's when None), validated before
    anything else happens, so a bad file never leaves a half-created run behind."""
    if not path:
        return SearchSpace()
    content = _read(path, "--space file")
    try:
        return SearchSpace.from_json(content)
    except ValueError as err:
        raise ValueError(f"--space {path}: {err}") from None


def arch_overrides(args: argparse.Namespace) -> dict:
    out = {}
    for name in ("resolution", "num_classes", "width"):
        if getattr(args, name, None) is not None:
            out[name] = getattr(args, name)
    if getattr(args, "small_input", False):
        out["small_input"] = True
    return out


def add_arch_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--resolution", type=int, help="input resolution (default: the model's)")
    p.add_argument("--num-classes", dest="num_classes", type=int)
    p.add_argument("--width", type=float, help="width multiplier")
    p.add_argument("--small-input", action="store_true",
                   help="32x32 variant: stem and first stride-2 block at stride 1")


def cmd_space(args: argparse.Namespace) -> int:
    if args.of and args.space:
        raise ValueError("give --space or --of, not both")
    space = SearchSpace.of(resolve_arch(args.of)) if args.of else load_space(args.space)
    if args.json:  # a file for `mnas search --space`, e.g. to edit or to train one network
        print(space.to_json())
        return 0
    print(f"{'block':>5} {'base (out,layers,stride)':>24}  options")
    for i, (opts, base) in enumerate(zip(space.blocks, space.skeleton), 1):
        choices = "  ".join(f"{d}={list(opts.vocab(d))}" for d in DECISIONS)
        print(f"{i:>5} {str(base):>24}  {choices}")
    S = space.block_choices()
    print(f"\nchoices per block S_b: {S}")
    print(f"space size: {space.size():.3e} (10^{space.log10_size():.2f}) decision sequences")
    print(f"paper: S=432, B=5 -> 432^5 = {432 ** 5:.2e} ('about 10^13'); a per-layer space "
          f"over these layers would be 10^{space.log10_per_layer_size():.1f}")
    return 0


def cmd_profile(args: argparse.Namespace) -> int:
    arch = resolve_arch(args.arch, **arch_overrides(args))
    df = profile(arch)
    print(df.to_string(index=False))
    print(f"\ntotal params: {df.params.sum():,}   total MACs: {df.macs.sum() / 1e6:,.1f}M   "
          f"(resolution {arch.resolution}, {arch.num_classes} classes, width {arch.width:g})")
    return 0


def register(sub) -> None:
    p = sub.add_parser("space", help="print the search space and its size")
    p.add_argument("--space", help="a search space JSON file (default: the paper's)")
    p.add_argument("--of", metavar="ARCH", help="the one-point space of a zoo name, block "
                   "string or architecture JSON file: a search over it trains and times that "
                   "network as a search's trials are")
    p.add_argument("--json", action="store_true", help="print the space as JSON")
    p.set_defaults(func=cmd_space)

    p = sub.add_parser("profile", help="per-layer params and MACs of an architecture")
    p.add_argument("arch", help="zoo name (e.g. mnasnet_a1, mobilenet_v2_x0.5), block string "
                                "or architecture JSON file")
    add_arch_options(p)
    p.set_defaults(func=cmd_profile)
