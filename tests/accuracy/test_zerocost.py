"""Zero-cost proxies (mnas_core.accuracy.zerocost) and the benchmark's rank table.

Exact values come from small networks whose score has a closed form; the properties checked on
real built networks are the ones the papers state (synflow grows with width, Tanaka et al.
2020; a network whose input Jacobian is the same for every image scores lowest, Mellor et al.)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from mnas_core import zoo
from mnas_core.accuracy import zerocost as zc
from mnas_core.builder import build_model

K = zc.JACOB_K


def small_arch(width: float = 1.0):
    """MnasNet-A1 as the digits proxy trains it: 16x16 grey images, 10 classes."""
    return zoo.get("mnasnet_a1").replace(width=width, resolution=16, in_chans=1,
                                         num_classes=10, small_input=True)


def images(n: int = 8, shape=(1, 16, 16), seed: int = 0) -> torch.Tensor:
    return torch.randn((n, *shape), generator=torch.Generator().manual_seed(seed))


def mlp(*sizes: int, act=nn.ReLU, bias=True) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Flatten()]
    for a, b in zip(sizes, sizes[1:]):
        layers += [nn.Linear(a, b, bias=bias), act()]
    return nn.Sequential(*layers[:-1])


# ---------------------------------------------------------------- on built networks
def test_scores_are_finite_and_deterministic_for_a_seed():
    x = images()
    a = zc.score(build_model(small_arch(), seed=3), x)
    b = zc.score(build_model(small_arch(), seed=3), x)
    other = zc.score(build_model(small_arch(), seed=4), x)
    assert set(a) == set(zc.PROXIES)
    assert all(math.isfinite(v) for v in a.values()), a
    assert a == b
    assert a != other  # the seed reaches the weights


def test_scoring_leaves_the_model_as_it_was():
    model = build_model(small_arch(), seed=0).eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    zc.score(model, images())
    assert not model.training
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # signs, BN statistics


def test_synflow_grows_when_the_network_is_made_wider():
    # Tanaka et al. 2020: synaptic flow sums over paths, so more channels give more flow.
    s = [zc.synflow(build_model(small_arch(w), seed=0), (1, 16, 16)) for w in (0.5, 1.0, 1.5)]
    assert s[0] < s[1] < s[2], s


def test_jacob_cov_of_a_built_network_beats_a_linear_map():
    # A linear map has the same input Jacobian for every image: the lowest possible score.
    x = images(16)
    linear = zc.jacob_cov(mlp(256, 10), x)
    assert zc.jacob_cov(build_model(small_arch(), seed=0), x) > linear + 1e4


def test_minibatch_is_seeded_and_normalised_like_the_trainer():
    from mnas_core.data import DataConfig, load_dataset

    data = load_dataset(DataConfig())
    a, b, c = (zc.minibatch(data, 32, s) for s in (0, 0, 1))
    assert a.shape == (32, 1, 16, 16) and a.dtype == torch.float32
    assert torch.equal(a, b) and not torch.equal(a, c)
    mean, std = data.mean_std()
    first = torch.randperm(len(data.train_y), generator=torch.Generator().manual_seed(0))[0]
    assert torch.allclose(a[0], (data.train_x[first].float() - mean[0]) / std[0])
    for bad in (1, len(data.train_y) + 1):
        with pytest.raises(ValueError, match="batch"):
            zc.minibatch(data, bad)


# ---------------------------------------------------------------- closed forms
def test_synflow_of_a_bias_free_relu_chain_is_depth_times_the_flow():
    # With positive weights and input every ReLU passes all, so R = 1^T |W3||W2||W1| 1 is
    # homogeneous of degree 1 in each layer's weights (Euler): each layer's sum of
    # theta * dR/dtheta is R, and the score is 3 R.
    torch.manual_seed(0)
    net = mlp(6, 5, 4, 3, bias=False)
    W = [m.weight.detach().double().abs() for m in net if isinstance(m, nn.Linear)]
    R = float(torch.ones(3, dtype=torch.float64) @ W[2] @ W[1] @ W[0] @
              torch.ones(6, dtype=torch.float64))
    assert zc.synflow(net, (1, 2, 3)) == pytest.approx(3 * R, rel=1e-12)


def test_synflow_bypasses_batchnorm_and_relu6():
    torch.manual_seed(0)
    plain = mlp(6, 5, 3, bias=False)
    with_bn = nn.Sequential(plain[0], plain[1], nn.BatchNorm1d(5), nn.ReLU6(), plain[3])
    with_bn[2].running_mean.fill_(3.0)  # eval-mode BN would use these; a bypass ignores them
    assert zc.synflow(with_bn, (1, 2, 3)) == pytest.approx(zc.synflow(plain, (1, 2, 3)))


def test_jacob_cov_formula_on_uncorrelated_and_identical_jacobians():
    # Rows 1..7 of the 8x8 Sylvester-Hadamard matrix: zero mean, orthogonal, so their
    # correlation matrix is the identity and every eigenvalue is 1.
    H = np.array([[1.0]])
    for _ in range(3):
        H = np.block([[H, H], [H, -H]])
    assert zc.jacob_cov_from_jacobians(H[1:]) == pytest.approx(
        -7 * (math.log(1 + K) + 1 / (1 + K)), rel=1e-9)
    # One Jacobian for every image (a linear map): eigenvalues N and N-1 zeros.
    x, n = images(12), 12
    expected = -((n - 1) * (math.log(K) + 1 / K) + math.log(n + K) + 1 / (n + K))
    assert zc.jacob_cov(mlp(256, 7), x) == pytest.approx(expected, rel=1e-6)
    assert math.isnan(zc.jacob_cov_from_jacobians(np.ones((4, 5))))  # constant rows
    with pytest.raises(ValueError):
        zc.jacob_cov_from_jacobians(np.ones(5))


def test_naswot_kernel_counts_agreeing_codes_of_every_rectifier():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(12, 30), nn.ReLU(inplace=True),
                        nn.Linear(30, 20), nn.ReLU6(inplace=True), nn.Linear(20, 3))
    x = images(7, (3, 2, 2))
    with torch.no_grad():
        h1 = net[1](x.flatten(1))
        h2 = net[3](h1.clamp_min(0))
    codes = torch.cat([h1 > 0, h2 > 0], 1).numpy()
    brute = (codes[:, None, :] == codes[None, :, :]).sum(-1)
    assert np.array_equal(zc.activation_kernel(net, x), brute)
    assert zc.naswot(net, x) == pytest.approx(np.linalg.slogdet(brute)[1])
    assert zc.naswot(net, torch.cat([x[:3], x[:1]])) == -math.inf  # two identical images


def test_score_shares_a_pass_without_changing_values_and_refuses_unknown_names():
    model, x = build_model(small_arch(), seed=1), images()
    both = zc.score(model, x, ("naswot", "jacob_cov"))
    assert list(both) == ["naswot", "jacob_cov"]
    assert both == {"naswot": zc.naswot(model, x), "jacob_cov": zc.jacob_cov(model, x)}
    with pytest.raises(ValueError, match="grad_norm"):
        zc.score(model, x, ("grad_norm",))
    with pytest.raises(ValueError, match="input_shape"):
        zc.synflow(model, (16, 16))
    with pytest.raises(ValueError, match="images"):
        zc.jacob_cov(model, x[0])


# ---------------------------------------------------------------- the benchmark
def test_rank_table_on_a_tiny_synthetic_input():
    from benchmarks.zerocost import format_table, rank_table

    target = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
    rows = rank_table("toy", target, {
        "same": [1, 2, 3, 4, 5, 6], "reversed": [6, 5, 4, 3, 2, 1],
        "holes": [1, math.nan, 3, -math.inf, 2, 6], "flat": [1] * 6})
    by = {r["score"]: r for r in rows}
    assert by["same"]["spearman"] == pytest.approx(1) and by["same"]["kendall"] == pytest.approx(1)
    assert by["reversed"]["spearman"] == pytest.approx(-1)
    assert (by["holes"]["n"], by["holes"]["dropped"]) == (4, 2)
    assert by["holes"]["spearman"] == pytest.approx(0.8)  # ranks 1,3,2,4 vs 1,2,3,4
    assert math.isnan(by["flat"]["spearman"]) and by["flat"]["n"] == 6
    text = format_table(rows)
    assert "+1.000" in text and "-1.000" in text and "nan" in text
    with pytest.raises(ValueError, match="same"):
        rank_table("toy", target, {"same": [1, 2]})


def test_benchmark_runs_end_to_end_on_the_recorded_random_run(capsys, tmp_path):
    import json

    from benchmarks.zerocost import main

    rc = main(["--models", "4", "--batch", "8", "--proxies", "synflow,naswot",
               "--fidelity", "/nonexistent.jsonl", "--json", str(tmp_path / "out.json")])
    out = capsys.readouterr().out
    assert rc == 0
    assert "skipping the CIFAR-10 fidelity study" in out
    accuracy_table = out.split("Rank correlation with recorded")[1].split("How much")[0]
    table = [r for r in map(str.split, accuracy_table.splitlines()) if r[:1] == ["random.db"]]
    assert [r[1] for r in table] == ["synflow", "naswot", "macs", "params", "macs_trained"]
    assert all(r[2] == "4" for r in table)
    saved = json.loads((tmp_path / "out.json").read_text())
    assert len(saved["models"]) == 4 and len(saved["size"]) == 4  # 2 proxies x params, MACs
    assert all(math.isfinite(m["synflow"]) and 0 <= m["top1"] <= 1 for m in saved["models"])


def test_benchmark_refuses_bad_flags():
    from benchmarks.zerocost import main

    for argv in (["--proxies", "snip"], ["--batch", "1"], ["--models", "-1"]):
        with pytest.raises(SystemExit) as err:
            main(argv)
        assert err.value.code == 2
