"""ExecuTorch XNNPACK export: the `.pte` program the phone runs, and running it on this host.

The MnasNet paper times the model that ships (TFLite on a Pixel 1); here the shipping artefact is
an ExecuTorch program with every supported op delegated to XNNPACK. The same file is timed on
the host (`PteRunner`) and pushed to the phone (mnas_core/phone), so both measure one artefact.
"""
from __future__ import annotations

import logging
import warnings
from pathlib import Path

import torch

from ..arch import Architecture
from ..builder import build_layer, build_model
from ..layers import Layer, expand_layers

BACKEND = "executorch-xnnpack"


def _quiet_executorch_import():
    # executorch/torchao print optional-kernel load failures at import; they are harmless.
    logging.getLogger("torchao").setLevel(logging.ERROR)
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
    from executorch.exir import to_edge_transform_and_lower
    return XnnpackPartitioner, to_edge_transform_and_lower


def example_input(arch: Architecture, seed: int = 0) -> torch.Tensor:
    """A batch-1 input at the architecture's resolution, (1, in_chans, res, res)."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(1, arch.in_chans, arch.resolution, arch.resolution, generator=g)


def layer_input(layer: Layer, seed: int = 0) -> torch.Tensor:
    """The batch-1 input a layer sees in the network: (1, C, H, W), or (1, C) for the
    classifier (which runs after global pooling)."""
    g = torch.Generator().manual_seed(seed)
    if layer.kind == "classifier":
        return torch.randn(1, layer.in_chs, generator=g)
    return torch.randn(1, layer.in_chs, layer.res, layer.res, generator=g)


class _Named(torch.nn.Module):
    """Holds a module under a named attribute: ExecuTorch's conv-BN fusion pass fails on a
    top-level nn.Sequential, whose parameter names start with a digit ('0_weight_fused_bn')."""

    def __init__(self, layer: torch.nn.Module):
        super().__init__()
        self.layer = layer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer(x)


def lower_module(model: torch.nn.Module, example: torch.Tensor) -> bytes:
    """Export an eval-mode module for one fixed input shape and lower it to XNNPACK bytes."""
    XnnpackPartitioner, to_edge_transform_and_lower = _quiet_executorch_import()
    with torch.no_grad(), warnings.catch_warnings():
        # torch.export/executorch emit FutureWarning/DeprecationWarning about their own
        # internals (pytree LeafSpec, importlib.resources) on every export: not ours to fix.
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        exported = torch.export.export(_Named(model).eval(), (example,))
        program = to_edge_transform_and_lower(
            exported, partitioner=[XnnpackPartitioner()]).to_executorch()
    return program.buffer


def export_pte(arch: Architecture, path: str | Path, seed: int = 0) -> Path:
    """Build `arch` (weights from `seed`; they do not change the cost) and write its batch-1
    ExecuTorch XNNPACK program to `path`; return the path. Raises ValueError for an
    architecture that cannot run (e.g. a resolution too small for its strides)."""
    if not isinstance(arch, Architecture):
        raise ValueError(f"export_pte needs an Architecture, got {type(arch).__name__}")
    _check_suffix(path, "export_pte")
    expand_layers(arch)  # raises the clear ValueError before torch.export can fail obscurely
    return _write(lower_module(build_model(arch, seed=seed), example_input(arch)), path)


def export_layer_pte(layer: Layer, path: str | Path, seed: int = 0) -> Path:
    """One lookup-table layer (a Layer from expand_layers) as its own .pte, for timing layers
    on a device that runs .pte programs (e.g. the phone's lookup table)."""
    _check_suffix(path, "export_layer_pte")
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        module = build_layer(layer)
    return _write(lower_module(module, layer_input(layer)), path)


class NearlyEmpty(torch.nn.Module):
    """One add on 8 numbers: timing it gives a backend's cost per call, beyond any work."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + 1.0


def overhead_input() -> torch.Tensor:
    return torch.zeros(1, 8)


def export_overhead_pte(path: str | Path) -> Path:
    """`NearlyEmpty` as a .pte: the per-call cost a lookup table subtracts from each layer."""
    _check_suffix(path, "export_overhead_pte")
    return _write(lower_module(NearlyEmpty(), overhead_input()), path)


def _check_suffix(path: str | Path, what: str) -> None:
    if Path(path).suffix != ".pte":
        raise ValueError(f"{what}: path {str(path)!r} should end in .pte")


def _write(data: bytes, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".pte.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)  # atomic: a reader (e.g. an adb push) never sees half a file
    return path


def set_threads(threads: int) -> None:
    """Size ExecuTorch's (XNNPACK's) process-wide thread pool."""
    from executorch.extension.pybindings import portable_lib
    if portable_lib._threadpool_get_thread_count() != threads:
        portable_lib._unsafe_reset_threadpool(threads)


class PteRunner:
    """A loaded `.pte` program's forward method: `runner(x) -> tensor`."""

    def __init__(self, program: str | Path | bytes, method: str = "forward", threads: int = 1):
        from executorch.runtime import Runtime
        if isinstance(program, (str, Path)) and not Path(program).is_file():
            raise ValueError(f"no .pte program at {str(program)!r}")
        set_threads(threads)
        self._program = Runtime.get().load_program(program)
        self._method = self._program.load_method(method)
        if self._method is None:
            raise ValueError(f"the program has no method {method!r}")

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self._method.execute([x])[0]
