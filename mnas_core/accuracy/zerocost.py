"""Zero-cost proxies: scores of an untrained network from one minibatch at initialisation.

Each one stands in for "how well would this network train" without training it; whether it
ranks our models usefully is measured in benchmarks/zerocost.py against recorded trainings,
not assumed. These are scores, not accuracies, and this module is no accuracy source.

- `synflow`: Tanaka et al., "Pruning neural networks without any data by iteratively
  conserving synaptic flow", NeurIPS 2020; as a NAS score in Abdelfattah et al., "Zero-Cost
  Proxies for Lightweight NAS", ICLR 2021.
- `jacob_cov`: the Jacobian-covariance score of Mellor et al., "Neural Architecture Search
  without Training" (arXiv v1, 2020), in the form of Abdelfattah et al. 2021.
- `naswot`: the activation-pattern kernel score of Mellor et al., ICML 2021 (arXiv v3).

Every scorer works on a deep copy of the model, so the caller's model (weights, BN running
statistics, train/eval mode) is unchanged. Given the model's weights and the images, the
scores are deterministic on the CPU; `minibatch` picks the images by seed.
"""
from __future__ import annotations

import copy
import math

import numpy as np
import torch
from torch import nn

PROXIES = ("synflow", "jacob_cov", "naswot")
JACOB_K = 1e-5  # Abdelfattah et al.'s k in -sum(log(v + k) + 1 / (v + k))

_BN = nn.modules.batchnorm._BatchNorm
_RELUS = (nn.ReLU, nn.ReLU6)


def minibatch(data, n: int, seed: int = 0) -> torch.Tensor:
    """`n` training images of `data` (a mnas_core.data.Dataset), picked by `seed`, normalised
    with the training set's per-channel mean/std as the trainer does: (n, C, H, W) float32.
    No augmentation: the proxies score the network, not the augmentation policy."""
    if not isinstance(n, int) or n < 2:
        raise ValueError(f"batch must be an integer >= 2 (the scores compare images), got {n!r}")
    if n > len(data.train_y):
        raise ValueError(f"batch {n} is larger than the {len(data.train_y)} training images of "
                         f"{data.name}")
    gen = torch.Generator().manual_seed(seed)
    idx = torch.randperm(len(data.train_y), generator=gen)[:n]
    mean, std = data.mean_std()
    x = data.train_x[idx].float()
    return (x - mean[None, :, None, None]) / std[None, :, None, None]


# ---------------------------------------------------------------- synflow
def _bypass_bn(model: nn.Module) -> nn.Module:
    """Replace every BatchNorm by Identity and every ReLU6 by ReLU, in place (on a copy).
    BN: Abdelfattah et al. score synflow on a BN-free copy of the network (their `bn=False`),
    since with one all-ones image a training-mode BN would zero every channel. ReLU6: with
    positive weights and inputs every activation grows with depth, and ReLU6's cap at 6 would
    cut the gradient of most units; synflow assumes a positively homogeneous network."""
    for name, child in model.named_children():
        if isinstance(child, _BN):
            setattr(model, name, nn.Identity())
        elif isinstance(child, nn.ReLU6):
            setattr(model, name, nn.ReLU())
        else:
            _bypass_bn(child)
    return model


def synflow(model: nn.Module, input_shape: tuple[int, ...]) -> float:
    """Synaptic flow (Tanaka et al. 2020, eq. 2 as a network score in Abdelfattah et al. 2021):
    with every parameter replaced by its absolute value and in float64, R = sum of the
    network's outputs for one all-ones input of `input_shape` (C, H, W); the score is
    sum over conv and linear weights of |theta * dR/dtheta|.

    BN: bypassed (a copy with BatchNorm replaced by Identity, as in the literature), and ReLU6
    made ReLU (see `_bypass_bn`); the copy is in eval mode, so dropout is off. Biases are
    made positive too but, as in the reference code, not summed. The score grows
    exponentially with depth (a product of weight magnitudes along paths); compare it on a
    log scale. Returns +inf if float64 overflows."""
    shape = tuple(int(s) for s in input_shape)
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"input_shape must be (channels, height, width), got {input_shape!r}")
    net = _bypass_bn(copy.deepcopy(model)).double().eval()
    with torch.no_grad():
        for p in net.parameters():
            p.abs_()
    for p in net.parameters():
        p.requires_grad_(True)
        p.grad = None
    out = net(torch.ones((1, *shape), dtype=torch.float64))
    out.sum().backward()
    total = 0.0
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)) and m.weight.grad is not None:
            total += float((m.weight * m.weight.grad).abs().sum().detach())
    return total


# ---------------------------------------------------------------- jacob_cov and naswot
def _probe(model: nn.Module, images: torch.Tensor, jacobians: bool, kernel: bool):
    """One forward (and, for the Jacobians, one backward) pass of a training-mode copy of
    `model` over `images`: BN on batch statistics, as at the start of training (Mellor et al.
    and Abdelfattah et al. score the network as built), dropout off so that the scores
    depend only on weights and images. Returns (J, K), each None unless asked for:

    J (N, C*H*W): the gradient of the sum of all outputs w.r.t. each input image (the
      reference's `y.backward(ones_like(y))`).
    K (N, N) float64: K_H of Mellor et al. 2021, K[i, j] = the number of rectified units
      (the input of every ReLU/ReLU6, SE included) on which images i and j have the same
      binary code (unit > 0), i.e. N_A minus their Hamming distance. The codes are read
      from the op's input (a forward pre-hook); ReLU and ReLU6 keep the sign pattern, so
      their inplace form changes nothing.
    """
    _check_images(images)
    net = copy.deepcopy(model).train()
    for m in net.modules():
        if isinstance(m, nn.Dropout):
            m.p = 0.0
    for p in net.parameters():  # only the input's gradient is needed
        p.requires_grad_(False)
    n = len(images)
    K = torch.zeros((n, n), dtype=torch.float64) if kernel else None

    def hook(_module, args):
        # Agreements on 1s plus on 0s: c c^T + (1-c)(1-c)^T = 2 c c^T - s_i - s_j + D, with
        # s the per-image count of active units: one matmul instead of two. float32 counts
        # are exact below 2^24 units per layer.
        c = (args[0].detach().reshape(n, -1) > 0).float()
        s = c.sum(1, dtype=torch.float64)
        K.add_(2.0 * (c @ c.T).double() - s[:, None] - s[None, :] + c.shape[1])

    handles = ([m.register_forward_pre_hook(hook) for m in net.modules()
                if isinstance(m, _RELUS)] if kernel else [])
    if kernel and not handles:
        raise ValueError("naswot needs a network with ReLU or ReLU6 activations; it has none")
    x = images.detach().clone().float().requires_grad_(jacobians)
    try:
        with torch.set_grad_enabled(jacobians):
            y = net(x)
    finally:
        for h in handles:
            h.remove()
    J = None
    if jacobians:
        y.backward(torch.ones_like(y))
        J = x.grad.detach().reshape(n, -1)
    return J, (K.numpy() if kernel else None)


def input_jacobians(model: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """(N, C*H*W) per-image input Jacobians of the sum of outputs (see `_probe`)."""
    return _probe(model, images, jacobians=True, kernel=False)[0]


def activation_kernel(model: nn.Module, images: torch.Tensor) -> np.ndarray:
    """K_H of Mellor et al. 2021 over `images` (see `_probe`)."""
    return _probe(model, images, jacobians=False, kernel=True)[1]


def jacob_cov_from_jacobians(jacobians: np.ndarray, k: float = JACOB_K) -> float:
    """-sum(log(v + k) + 1 / (v + k)) over the eigenvalues v of the correlation matrix of the
    per-image Jacobians (rows). Higher: the network treats the images more differently.
    The matrix is symmetric, so eigvalsh (real eigenvalues) replaces the reference's eig;
    eigenvalues below 0 are rounding noise of a positive semi-definite matrix and are
    clipped to 0. NaN when some image's Jacobian is constant (no correlation defined)."""
    J = np.asarray(jacobians, dtype=np.float64)
    if J.ndim != 2 or J.shape[0] < 2:
        raise ValueError(f"need a (N >= 2, D) array of Jacobians, got shape {J.shape}")
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.corrcoef(J)
    if not np.isfinite(corr).all():
        return math.nan
    v = np.clip(np.linalg.eigvalsh(corr), 0.0, None)
    return float(-np.sum(np.log(v + k) + 1.0 / (v + k)))


def jacob_cov(model: nn.Module, images: torch.Tensor) -> float:
    """Jacobian covariance (Mellor et al. 2020 v1; Abdelfattah et al. 2021, `jacob_cov`) of
    `model` on `images` (N, C, H, W), normalised as the trainer feeds them (`minibatch`)."""
    return jacob_cov_from_jacobians(input_jacobians(model, images).double().numpy())


def naswot_from_kernel(K: np.ndarray) -> float:
    """log |K| (slogdet); -inf when K is singular (e.g. two images with the same code on
    every unit)."""
    sign, logdet = np.linalg.slogdet(np.asarray(K, dtype=np.float64))
    return float(logdet) if sign > 0 else -math.inf


def naswot(model: nn.Module, images: torch.Tensor) -> float:
    """NASWOT (Mellor et al., ICML 2021, eq. 2): log |K_H| over the minibatch. Higher: the
    binary activation codes of the images differ more."""
    return naswot_from_kernel(activation_kernel(model, images))


# ---------------------------------------------------------------- all at once
def score(model: nn.Module, images: torch.Tensor, proxies=PROXIES) -> dict[str, float]:
    """{proxy: score} for the names in `proxies` (see PROXIES) on one minibatch; jacob_cov
    and naswot share one pass (the same values as `jacob_cov` and `naswot` alone)."""
    proxies = tuple(proxies)
    bad = [p for p in proxies if p not in PROXIES]
    if bad:
        raise ValueError(f"unknown proxy {bad[0]!r}: choose from {', '.join(PROXIES)}")
    out = {}
    if "synflow" in proxies:
        out["synflow"] = synflow(model, tuple(images.shape[1:]))
    if "jacob_cov" in proxies or "naswot" in proxies:
        J, K = _probe(model, images, "jacob_cov" in proxies, "naswot" in proxies)
        if J is not None:
            out["jacob_cov"] = jacob_cov_from_jacobians(J.double().numpy())
        if K is not None:
            out["naswot"] = naswot_from_kernel(K)
    return {p: out[p] for p in proxies}


def _check_images(images) -> None:
    if not isinstance(images, torch.Tensor) or images.ndim != 4 or len(images) < 2:
        shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images)
        raise ValueError(f"images must be a (N >= 2, C, H, W) tensor, got {shape}")
