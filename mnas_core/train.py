"""The proxy trainer: ACC(m) for the reward, the paper's "train each sampled model for 5 epochs
and take its validation accuracy" at classroom scale.

`train(model, data, cfg)` runs SGD with momentum (or RMSProp, as the paper's ImageNet recipe)
under a linear warm-up + cosine schedule with label smoothing, for a budget in epochs or steps,
then measures validation top-1 (and top-5 with more than 5 classes). `evaluate_candidate(arch,
data, cfg)` is the one call search executors make in worker processes: plain functions and
dataclasses, so everything pickles. A non-finite loss raises TrainingDiverged, so the search can
record the candidate as failed and go on.

Deterministic for a seed on the CPU: weights come from build_model(seed), batch order and
augmentation from a private torch.Generator, dropout from a forked global RNG (the caller's
RNG state is left untouched). Set MALLOC tunables (mnas_core.runtime) before the process
starts: on 2 cores they roughly double CPU training speed.
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .arch import Architecture
from .builder import build_model
from .data import DataConfig, Dataset, augment, load_dataset

OPTIMIZERS = ("sgd", "rmsprop")


class TrainingDiverged(RuntimeError):
    """The training loss became NaN or infinite: the candidate failed (not a crash)."""

    def __init__(self, step: int, loss: float):
        super().__init__(f"training diverged at step {step}: loss {loss}")
        self.step, self.loss = step, loss


@dataclass(frozen=True)
class TrainConfig:
    """How to train one candidate. Defaults are the proxy budget of a classroom search on the
    built-in digits (README "Proxy task": measured cost and fidelity; docs/proxy_training.md:
    the measurement behind each default)."""

    epochs: float = 2.0             # budget in passes over the training set ...
    steps: int | None = None        # ... or in optimizer steps (wins when set)
    batch_size: int = 64
    optimizer: str = "sgd"          # sgd (Nesterov-free momentum) | rmsprop (paper, ImageNet)
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 5e-5      # on conv/linear weights only, not BN or biases
    label_smoothing: float = 0.1
    warmup: float = 0.1             # share of the steps with a linear warm-up
    bn_momentum: float | None = 0.1 # None keeps the architecture's BN momentum
    bn_recalibrate: int = 512       # training images to re-estimate BN statistics (0: off)
    augment: bool = True            # apply the dataset's augmentation policy
    seed: int = 0
    threads: int | None = None      # torch intra-op threads (None: leave as is)
    device: str = "auto"            # auto (cuda when present) | cpu | cuda[:N]
    channels_last: bool = True      # measurably faster on CPU (benchmarks/train.py)
    # Train a copy at width x the candidate's own width multiplier (EcoNAS's reduced channels):
    # the CIFAR-10 fidelity study ranked models better at 0.5 than at 1, at half the cost.
    width: float = 1.0
    eval_batch_size: int = 500

    def __post_init__(self):
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if self.steps is None and not self.epochs > 0:
            raise ValueError(f"epochs must be > 0, got {self.epochs}")
        if self.steps is not None and self.steps < 1:
            raise ValueError(f"steps must be >= 1, got {self.steps}")
        for name in ("batch_size", "eval_batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not self.lr > 0 or self.weight_decay < 0 or not 0 <= self.momentum < 1:
            raise ValueError("lr must be > 0, weight_decay >= 0 and momentum in [0, 1)")
        if not 0 <= self.label_smoothing < 1 or not 0 <= self.warmup < 1:
            raise ValueError("label_smoothing and warmup must be in [0, 1)")
        if self.bn_recalibrate < 0:
            raise ValueError(f"bn_recalibrate must be >= 0, got {self.bn_recalibrate}")
        if self.threads is not None and self.threads < 1:
            raise ValueError(f"threads must be >= 1, got {self.threads}")
        if not 0 < self.width <= 4:
            raise ValueError(f"width must be in (0, 4], got {self.width}")

    def total_steps(self, n_train: int) -> int:
        if self.steps is not None:
            return self.steps
        return max(1, math.ceil(self.epochs * n_train / min(self.batch_size, n_train)))

    def scaled(self, factor: float) -> "TrainConfig":
        """The same recipe with `factor` times the budget."""
        from dataclasses import replace
        if self.steps is not None:
            return replace(self, steps=max(1, round(self.steps * factor)))
        return replace(self, epochs=self.epochs * factor)


@dataclass
class TrainResult:
    """Validation accuracies are fractions in [0, 1]; top5 is None with <= 5 classes."""

    top1: float
    top5: float | None
    loss: float                # mean training loss over the last 10% of steps
    steps: int
    epochs: float
    train_seconds: float
    eval_seconds: float
    images_per_second: float   # training images per second of training time
    device: str
    threads: int
    params: int = 0
    total_seconds: float = 0.0  # build (in evaluate_candidate) + train + validate

    def to_dict(self) -> dict:
        return asdict(self)


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(name)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} requested but no CUDA GPU is available")
    return dev


def lr_factor(step: int, total: int, warmup: float) -> float:
    """Linear warm-up over the first `warmup` share of steps, then cosine decay to zero."""
    w = int(total * warmup)
    if step < w:
        return (step + 1) / w
    return 0.5 * (1.0 + math.cos(math.pi * (step - w) / max(1, total - w)))


def make_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    # Weight decay on BN scales/biases only hurts a short run; decay conv/linear weights only.
    decay = [p for p in model.parameters() if p.ndim > 1]
    rest = [p for p in model.parameters() if p.ndim <= 1]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay},
              {"params": rest, "weight_decay": 0.0}]
    if cfg.optimizer == "rmsprop":
        # The paper's ImageNet recipe: RMSProp decay 0.9, momentum 0.9, TF-style eps 1e-3.
        return torch.optim.RMSprop(groups, lr=cfg.lr, alpha=0.9, eps=1e-3, momentum=cfg.momentum)
    return torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum)


class _Batches:
    """Full-size training batches from a stream of seeded permutations, augmented and
    normalized on the data's device. Every step sees exactly batch_size images (BatchNorm
    needs > 1 per channel; equal steps keep the images/s figure honest)."""

    def __init__(self, data: Dataset, batch_size: int, do_augment: bool, device, gen,
                 channels_last: bool):
        self.x, self.y = data.train_x.to(device), data.train_y.to(device)
        mean, std = data.mean_std()
        self.mean = mean.to(device)[None, :, None, None]
        self.inv_std = (1.0 / std).to(device)[None, :, None, None]
        self.bs = min(batch_size, len(self.y))
        self.policy = data.augment if do_augment else "none"
        self.pad, self.gen, self.cl = data.crop_pad, gen, channels_last
        self.perm, self.pos = torch.empty(0, dtype=torch.long), 0

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        x = (x.float() - self.mean) * self.inv_std
        return x.contiguous(memory_format=torch.channels_last) if self.cl else x

    def next(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self.pos + self.bs > len(self.perm):  # start a new epoch, keeping the leftover
            fresh = torch.randperm(len(self.y), generator=self.gen)
            self.perm, self.pos = torch.cat([self.perm[self.pos:], fresh]), 0
        idx = self.perm[self.pos:self.pos + self.bs].to(self.x.device)
        self.pos += self.bs
        xb = augment(self.x[idx], self.policy, self.pad, self.gen)
        return self.normalize(xb), self.y[idx]


@torch.no_grad()
def recalibrate_bn(model: nn.Module, batches: _Batches, images: int) -> None:
    """Replace BN running statistics by their exact average over `images` training images
    (no augmentation) at the final weights: momentum None means a cumulative average."""
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not bns or images <= 0:
        return
    saved = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None
    model.train()
    idx = torch.randperm(len(batches.y), generator=batches.gen)[:images].to(batches.x.device)
    for part in idx.split(batches.bs):
        if len(part) > 1:  # BN cannot normalize a batch of one
            model(batches.normalize(batches.x[part]))
    for m, mom in zip(bns, saved):
        m.momentum = mom


@torch.inference_mode()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batches: _Batches,
             batch_size: int) -> tuple[float, float | None]:
    """Top-1 and top-5 (None with <= 5 classes) accuracy of `model` on uint8 images x."""
    model.eval()
    hit1 = hit5 = 0
    for xb, yb in zip(x.split(batch_size), y.split(batch_size)):
        logits = model(batches.normalize(xb.to(batches.x.device)))
        yb = yb.to(logits.device)
        hit1 += int((logits.argmax(1) == yb).sum())
        if logits.shape[1] > 5:
            hit5 += int((logits.topk(5, 1).indices == yb[:, None]).any(1).sum())
    n = max(1, len(y))
    return hit1 / n, (hit5 / n if model.classifier.out_features > 5 else None)


def train(model: nn.Module, data: Dataset, cfg: TrainConfig | None = None, progress=None,
          eval_on: str = "val") -> TrainResult:
    """Train `model` in place on data.train_*, then score it on data.val_* (or "test").
    `progress(step, total, loss)` is called after every step. Raises TrainingDiverged."""
    cfg = cfg or TrainConfig()
    device = resolve_device(cfg.device)
    old_threads = torch.get_num_threads()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    try:
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            torch.manual_seed(cfg.seed)  # dropout draws from the global RNG
            return _train(model, data, cfg, device, progress, eval_on)
    finally:
        torch.set_num_threads(old_threads)


def _train(model, data, cfg, device, progress, eval_on) -> TrainResult:
    gen = torch.Generator().manual_seed(cfg.seed)
    model.to(device)
    if cfg.channels_last:
        model.to(memory_format=torch.channels_last)
    if cfg.bn_momentum is not None:
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.momentum = cfg.bn_momentum
    batches = _Batches(data, cfg.batch_size, cfg.augment, device, gen, cfg.channels_last)
    total = cfg.total_steps(len(data.train_y))
    opt = make_optimizer(model, cfg)
    base_lrs = [g["lr"] for g in opt.param_groups]
    tail, tail_from = [], int(total * 0.9)
    model.train()
    start = time.perf_counter()
    for step in range(total):
        f = lr_factor(step, total, cfg.warmup)
        for g, lr in zip(opt.param_groups, base_lrs):
            g["lr"] = lr * f
        x, y = batches.next()
        loss = F.cross_entropy(model(x), y, label_smoothing=cfg.label_smoothing)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        value = loss.item()
        if not math.isfinite(value):
            raise TrainingDiverged(step, value)
        if step >= tail_from:
            tail.append(value)
        if progress is not None:
            progress(step + 1, total, value)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    train_s = time.perf_counter() - start
    t0 = time.perf_counter()
    recalibrate_bn(model, batches, cfg.bn_recalibrate)
    x_eval, y_eval = (data.val_x, data.val_y) if eval_on == "val" else (data.test_x, data.test_y)
    if x_eval is None:
        raise ValueError(f"dataset {data.name} has no {eval_on} split")
    top1, top5 = evaluate(model, x_eval, y_eval, batches, cfg.eval_batch_size)
    eval_s = time.perf_counter() - t0
    images = total * batches.bs
    return TrainResult(top1=top1, top5=top5, loss=sum(tail) / max(1, len(tail)), steps=total,
                       epochs=images / len(data.train_y), train_seconds=train_s,
                       eval_seconds=eval_s, images_per_second=images / max(train_s, 1e-9),
                       device=str(device), threads=torch.get_num_threads(),
                       params=sum(p.numel() for p in model.parameters()),
                       total_seconds=train_s + eval_s)


def check_fits(arch: Architecture, data: Dataset) -> None:
    """ValueError naming every setting of `arch` that does not match the data."""
    want = data.arch_overrides()
    bad = [f"{k}={getattr(arch, k)} (data: {want[k]})" for k in ("resolution", "num_classes",
                                                                   "in_chans")
           if getattr(arch, k) != want[k]]
    if bad:
        raise ValueError(f"architecture does not fit dataset {data.name}: {', '.join(bad)}; "
                         "apply dataset.arch_overrides() to the architecture or search space")


def evaluate_candidate(arch: Architecture, data: Dataset | DataConfig,
                       cfg: TrainConfig | None = None) -> TrainResult:
    """Build + train + validate one candidate: ACC(m) for the search. `data` may be a loaded
    Dataset or a DataConfig (then loaded here, from the cache: cheap in a worker process).
    The model's initial weights use cfg.seed, so a candidate's score is reproducible; with
    cfg.width != 1 the trained network is the candidate at cfg.width x its width multiplier."""
    cfg = cfg or TrainConfig()
    start = time.perf_counter()
    if isinstance(data, DataConfig):
        data = load_dataset(data)
    check_fits(arch, data)
    if cfg.width != 1:
        arch = arch.replace(width=arch.width * cfg.width)
    model = build_model(arch, seed=cfg.seed)
    result = train(model, data, cfg)
    result.total_seconds = time.perf_counter() - start
    return result
