"""The package's layers (README "How it is built"): each module imports only from its own layer
or the layers below, and the description layer imports no torch."""
import ast
import subprocess
import sys
from pathlib import Path

import mnas_core

# Lowest first. A module is in the layer of its longest listed prefix.
LAYERS = [
    ("description", ["mnas_core", "registry", "config", "ops", "arch", "layers", "zoo", "space",
                     "profile", "reward", "pareto", "runtime"]),
    ("modules", ["blocks", "builder"]),
    ("measure and train", ["latency", "phone", "data", "train", "accuracy"]),
    ("search parts", ["strategies", "executors", "dask_executor", "runfile", "runread",
                      "store", "findings", "fidelity", "compare", "accuracy.predictor",
                      "accuracy.predicted"]),
    ("the loop", ["search", "background", "estimate", "verify"]),
    ("shells", ["cli", "viz", "testing", "__main__"]),
]
ROOT = Path(mnas_core.__file__).parent


def layer_of(module: str) -> int:
    name = module.removeprefix("mnas_core.") if module != "mnas_core" else "mnas_core"
    best, depth = None, -1
    for i, (_, prefixes) in enumerate(LAYERS):
        for p in prefixes:
            if (name == p or name.startswith(p + ".")) and len(p) > depth:
                best, depth = i, len(p)
    assert best is not None, f"{module} is in no layer: add it to LAYERS and the README"
    return best


def _is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split(".")[1:])
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def imports() -> dict[str, set[str]]:
    """module -> the mnas_core modules it imports (relative imports resolved)."""
    out = {}
    for f in ROOT.rglob("*.py"):
        parts = ("mnas_core",) + f.relative_to(ROOT).with_suffix("").parts
        package = parts[:-1] if parts[-1] != "__init__" else parts[:-1]
        module = ".".join(parts if parts[-1] != "__init__" else parts[:-1])
        found = set()
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = list(package[:len(package) - node.level + 1]) if node.level else []
                target = ".".join(base + ([node.module] if node.module else []))
                if not node.level and not target.startswith("mnas_core"):
                    continue
                if node.module is None:  # from . import x: x may be a module or a name
                    found |= {f"{target}.{a.name}" if _is_module(f"{target}.{a.name}")
                              else target for a in node.names}
                else:
                    found.add(target)
            elif isinstance(node, ast.Import):
                found |= {a.name for a in node.names if a.name.startswith("mnas_core")}
        out[module] = found
    return out


def test_every_import_points_down_or_sideways():
    wrong = [f"{m} ({LAYERS[layer_of(m)][0]}) imports {t} ({LAYERS[layer_of(t)][0]})"
             for m, targets in imports().items() for t in targets
             if layer_of(t) > layer_of(m)]
    assert not wrong, "\n".join(wrong)


def test_only_tests_import_the_contract_suites():
    # mnas_core.testing imports pytest, a test dependency: the product must not need it.
    users = [m for m, targets in imports().items() if not m.startswith("mnas_core.testing")
             and any(t.startswith("mnas_core.testing") for t in targets)]
    assert not users


def test_the_description_layer_imports_no_torch():
    modules = [m for m in imports() if layer_of(m) == 0]
    code = f"import sys; import {', '.join(modules)}; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True)
    assert out.stdout.strip() == "False", modules
