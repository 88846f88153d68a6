"""Datasets for the proxy task ACC(m), as uint8 tensors in memory.

The paper trains each sampled model for 5 epochs on ImageNet with 50K training images held out
as the validation set that scores it. We do the same at classroom scale: `load_dataset` returns a
training set, a validation set held out from the training data (the search's ACC(m)), and,
where the source has one, a test set kept apart for a final report and never used to select.

Sources (DataConfig.name, registered in mnas_core.registry.DATASETS): ``digits`` (built-in,
offline), ``cifar10``, ``cifar100``, ``folder:PATH`` (a folder of class folders, or
ImageNet-style ``train/`` plus ``val/`` or ``test/``; PATH may be a .tar/.tar.gz/.tgz of
either, read in place: see folder.py). Images are (N, C, H, W) uint8; the trainer normalizes
with the training set's per-channel mean/std and augments per batch (see augment.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..registry import DATASETS
from .augment import POLICIES, augment
from .common import DatasetError, default_cache_dir, seeded_subset, stratified_split
from .decode import DECODERS
from .progress import DecodeBar

__all__ = ["DataConfig", "Dataset", "DatasetError", "DecodeBar", "load_dataset",
           "load_with_bar", "augment"]


@dataclass(frozen=True)
class DataConfig:
    """What to load. The defaults are the proxy task a classroom search runs on 2 CPU cores.

    resolution=16: digits are 8x8 scans, so 16x16 loses nothing; 8x8 was 2-3x cheaper per
    step but leaves blocks 4-7 on 2x2 and 1x1 maps, where the space's kernel choice (3 vs 5)
    changes nothing: a proxy that cannot see a decision cannot rank it. At 16x16 with the
    small-input stem, random models of the space train at ~300-700 images/s on 2 cores.
    See README "Proxy task" for the measured cost and rank fidelity behind the choice.
    val_fraction=0.25: of the 1,437 non-test digits, 359 validate; fewer made the validation
    accuracy too coarse to rank models (one image = 0.28 points).
    """

    name: str = "digits"
    resolution: int = 16
    train_images: int | None = None  # seeded subset of the training pool (None: all of it)
    val_fraction: float = 0.25       # share of the training pool held out for validation
    val_images: int | None = None    # cap on the validation set (CIFAR: 5,000 is plenty)
    seed: int = 0                    # the split and subset seed (not the training seed)
    cache_dir: str | None = None     # default: $XDG_CACHE_HOME/mnas-explorer/data
    path: str | None = None          # CIFAR: extracted folder or .tar.gz instead of a download
    url: str | None = None           # CIFAR: archive URL override (mirror, test server)
    md5: str | None = None           # CIFAR: expected archive md5 (default: the official one)
    download: bool = True
    max_classes: int | None = None   # folder: first N classes (sorted names)
    max_per_class: int | None = None # folder: first N images of each class and split (sorted)
    augment: str = "auto"            # auto | none | crop | crop_flip
    decoder: str = "auto"            # folder: auto | pillow | torchvision (see decode.py)

    def __post_init__(self):
        if self.source not in DATASETS or (DATASETS.get(self.source).arg and not self.folder):
            usages = [e.usage for e in DATASETS.entries()]
            raise ValueError(f"dataset {self.name!r}: use {', '.join(usages[:-1])} or "
                             f"{usages[-1]}")
        if not 8 <= self.resolution <= 1024:
            raise ValueError(f"resolution must be in 8..1024, got {self.resolution}")
        if not 0.0 < self.val_fraction < 1.0:
            raise ValueError(f"val_fraction must be in (0, 1), got {self.val_fraction}")
        for name in ("train_images", "val_images", "max_classes", "max_per_class"):
            v = getattr(self, name)
            if v is not None and (not isinstance(v, int) or v < 1):
                raise ValueError(f"{name} must be a positive integer or None, got {v!r}")
        if self.augment != "auto" and self.augment not in POLICIES:
            raise ValueError(f"augment must be auto or one of {POLICIES}, got {self.augment!r}")
        if self.decoder not in DECODERS:
            raise ValueError(f"decoder must be one of {DECODERS}, got {self.decoder!r}")

    @property
    def source(self) -> str:
        return self.name.partition(":")[0]

    @property
    def folder(self) -> str:
        return self.name.partition(":")[2]

    def cache_path(self) -> Path:
        return Path(self.cache_dir).expanduser() if self.cache_dir else default_cache_dir()


@dataclass
class Dataset:
    """Tensors of one proxy task. x: (N, C, H, W) uint8; y: (N,) int64."""

    name: str
    train_x: torch.Tensor
    train_y: torch.Tensor
    val_x: torch.Tensor
    val_y: torch.Tensor
    num_classes: int
    classes: list[str]
    augment: str                        # the resolved policy
    test_x: torch.Tensor | None = None  # the source's test split, never used for selection
    test_y: torch.Tensor | None = None
    skipped: list[str] = field(default_factory=list)  # unreadable files (folder datasets)
    decoder: str | None = None          # folder datasets: the decoder that built the cache

    @property
    def in_chans(self) -> int:
        return int(self.train_x.shape[1])

    @property
    def resolution(self) -> int:
        return int(self.train_x.shape[-1])

    @property
    def crop_pad(self) -> int:
        """Random-crop padding: 4 px at 32x32 as in the CIFAR recipe, scaled with resolution."""
        return max(1, self.resolution // 8)

    def mean_std(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-channel mean and std of the training images in 0..255, shape (C,)."""
        # Chunked float64 sums: a float copy of CIFAR's 45k training images would take 1 GB.
        s = torch.zeros(self.in_chans, dtype=torch.float64)
        s2 = torch.zeros_like(s)
        for part in self.train_x.split(4096):
            p = part.double()
            s += p.sum((0, 2, 3))
            s2 += (p * p).sum((0, 2, 3))
        n = max(1, self.train_x.numel() // self.in_chans)
        mean = s / n
        std = (s2 / n - mean * mean).clamp_min(1.0).sqrt()  # >= 1 grey level: blank channels
        return mean.float(), std.float()

    def arch_overrides(self) -> dict:
        """What an Architecture or SearchSpace must be told to fit this data. Inputs of 64 px
        or less use the small-input variant (stem and first stride-2 block at stride 1)."""
        return {"resolution": self.resolution, "num_classes": self.num_classes,
                "in_chans": self.in_chans, "small_input": self.resolution <= 64}

    def summary(self) -> str:
        test = f", {len(self.test_y)} test" if self.test_y is not None else ""
        skip = f", {len(self.skipped)} unreadable images skipped" if self.skipped else ""
        return (f"{self.name}: {len(self.train_y)} train, {len(self.val_y)} val{test} images, "
                f"{self.num_classes} classes, {self.in_chans}x{self.resolution}x"
                f"{self.resolution}, augment={self.augment}{skip}")


def _hold_out(cfg: DataConfig, x: torch.Tensor, y: torch.Tensor):
    """Split a training pool into (train_x, train_y, val_x, val_y) with cfg's seed and limits."""
    keep, val = stratified_split(y.numpy(), cfg.val_fraction, cfg.seed)
    val = val[seeded_subset(len(val), cfg.val_images, cfg.seed + 1)]
    keep = keep[seeded_subset(len(keep), cfg.train_images, cfg.seed + 2)]
    if len(keep) == 0 or len(val) == 0:
        raise ValueError(f"dataset {cfg.name}: {len(y)} images leave {len(keep)} for training "
                         f"and {len(val)} for validation; lower val_fraction or add images")
    keep, val = torch.from_numpy(keep), torch.from_numpy(val)
    return x[keep], y[keep], x[val], y[val]


def load_dataset(cfg: DataConfig | None = None, progress=None) -> Dataset:
    """Load the dataset `cfg` describes, with its registered loader (registry.DATASETS).
    `progress(done, total)` is called while a folder is first decoded (DecodeBar draws it).
    Raises DatasetError (a ValueError) naming any missing or damaged file."""
    cfg = cfg or DataConfig()
    return DATASETS.load(cfg.source)(cfg, progress)


def _policy(cfg: DataConfig) -> str:
    """The augmentation policy: the source's registered one when cfg.augment is "auto"."""
    return DATASETS.get(cfg.source).info["augment"] if cfg.augment == "auto" else cfg.augment


def _load_digits(cfg: DataConfig, progress=None) -> Dataset:
    from .builtin import load_digits_tensors
    d = load_digits_tensors(cfg.resolution)
    test = d["test_mask"]
    parts = _hold_out(cfg, d["x"][~test], d["y"][~test])
    return Dataset(cfg.name, *parts, num_classes=len(d["classes"]), classes=d["classes"],
                   augment=_policy(cfg), test_x=d["x"][test], test_y=d["y"][test])


def _load_cifar(cfg: DataConfig, progress=None) -> Dataset:
    from .cifar import load_cifar
    d = load_cifar(cfg.source, cfg.resolution, cfg.cache_path(), cfg.path, cfg.url, cfg.md5,
                   cfg.download)
    parts = _hold_out(cfg, d["train_x"], d["train_y"])
    return Dataset(cfg.name, *parts, num_classes=len(d["classes"]), classes=d["classes"],
                   augment=_policy(cfg), test_x=d["test_x"], test_y=d["test_y"])


def _load_folder(cfg: DataConfig, progress=None) -> Dataset:
    from .folder import load_folder
    d = load_folder(cfg.folder, cfg.resolution, cfg.cache_path(), cfg.max_classes,
                    cfg.max_per_class, progress, cfg.decoder)
    parts = _hold_out(cfg, d["x"], d["y"])
    return Dataset(cfg.name, *parts, num_classes=len(d["classes"]), classes=d["classes"],
                   augment=_policy(cfg), test_x=d["test_x"], test_y=d["test_y"],
                   skipped=list(d["skipped"]), decoder=d["decoder"])


def load_with_bar(cfg: DataConfig | None = None, show: bool = True) -> Dataset:
    """load_dataset with a terminal bar labelled "decoding" while a folder is first decoded
    (the CLI's); a cached load or a built-in source prints nothing."""
    with DecodeBar(disable=not show) as bar:
        return load_dataset(cfg, progress=bar)
