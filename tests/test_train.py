"""The proxy trainer: budgets, determinism, divergence, candidate evaluation, `mnas train`."""
from __future__ import annotations

import dataclasses
import json
import math
import pickle

import pytest
import torch

from mnas_core.arch import parse_arch
from mnas_core.builder import build_model
from mnas_core.cli import main
from mnas_core.data import DataConfig, Dataset, load_dataset
from mnas_core.train import (TrainConfig, TrainingDiverged, TrainResult, evaluate_candidate,
                             lr_factor, train)

# A tiny network of the space's kind (sepconv, MBConv with SE, pool skip) that trains in ~1 s.
TINY = ("r1_k3_s11_e1_i32_o16_noskip,r1_k3_s22_e3_i16_o24_se0.25,r1_k5_s22_e3_i24_o32_pool"
        ";width=0.5;head_chs=64")
FAST = TrainConfig(steps=6, batch_size=32, threads=1)


@pytest.fixture(scope="module")
def digits() -> Dataset:
    return load_dataset(DataConfig(resolution=12, train_images=300))


def tiny(data: Dataset):
    return parse_arch(TINY, **data.arch_overrides())


def test_trains_above_chance_and_reports(digits):
    r = evaluate_candidate(tiny(digits), digits, dataclasses.replace(FAST, steps=60, lr=0.2))
    assert isinstance(r, TrainResult)
    assert r.top1 > 0.4, r  # chance is 0.1
    assert r.top5 is not None and r.top5 >= r.top1
    assert r.steps == 60 and r.epochs == pytest.approx(60 * 32 / 300)
    assert r.images_per_second > 0 and r.train_seconds > 0 and r.params > 0
    assert r.total_seconds >= r.train_seconds + r.eval_seconds
    assert r.device == "cpu" and r.threads == 1
    assert pickle.loads(pickle.dumps(r)) == r and json.dumps(r.to_dict())


def test_deterministic_for_a_seed_and_rng_untouched(digits):
    def run(seed):
        model = build_model(tiny(digits), seed=seed)
        r = train(model, digits, dataclasses.replace(FAST, seed=seed))
        return r, torch.cat([p.detach().flatten() for p in model.parameters()])

    torch.manual_seed(123)
    before = torch.rand(3)
    torch.manual_seed(123)
    (r1, w1), (r2, w2), (_, w3) = run(0), run(0), run(1)
    assert torch.equal(torch.rand(3), before)  # the caller's global RNG is left alone
    assert torch.equal(w1, w2) and r1.top1 == r2.top1 and r1.loss == r2.loss
    assert not torch.equal(w1, w3)


def test_budget_in_epochs_or_steps():
    assert TrainConfig(epochs=2, batch_size=50).total_steps(1000) == 40
    assert TrainConfig(epochs=2, steps=7).total_steps(1000) == 7
    assert TrainConfig(epochs=1.5, batch_size=64).scaled(4).total_steps(640) == 60
    assert TrainConfig(steps=10).scaled(4).steps == 40
    assert TrainConfig(epochs=3, batch_size=512).total_steps(100) == 3  # batch capped at n


def test_schedule_warms_up_then_decays_to_zero():
    f = [lr_factor(s, 100, 0.1) for s in range(100)]
    assert f[0] == pytest.approx(0.1) and f[9] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(f[9:], f[10:])) and f[-1] < 0.01


@pytest.mark.parametrize("kwargs, word", [({"optimizer": "adam"}, "optimizer"),
                                          ({"steps": 0}, "steps"),
                                          ({"epochs": 0}, "epochs"),
                                          ({"batch_size": 0}, "batch_size"),
                                          ({"threads": 0}, "threads"),
                                          ({"warmup": 1.0}, "warmup"),
                                          ({"width": 0}, "width")])
def test_train_config_rejects_bad_values(kwargs, word):
    with pytest.raises(ValueError, match=word):
        TrainConfig(**kwargs)


def test_nan_loss_raises_training_diverged(digits):
    model = build_model(tiny(digits), seed=0)
    with torch.no_grad():
        model.classifier.weight.fill_(float("nan"))
    with pytest.raises(TrainingDiverged) as info:
        train(model, digits, FAST)
    assert info.value.step == 0 and math.isnan(info.value.loss)
    assert isinstance(info.value, RuntimeError)


def test_exploding_learning_rate_is_caught(digits):
    cfg = dataclasses.replace(FAST, steps=40, lr=1e12, warmup=0.0, label_smoothing=0.0)
    with pytest.raises(TrainingDiverged):
        evaluate_candidate(tiny(digits), digits, cfg)


def test_rmsprop_and_no_top5_with_few_classes(digits):
    keep = digits.train_y < 3
    vkeep = digits.val_y < 3
    three = dataclasses.replace(digits, train_x=digits.train_x[keep],
                                train_y=digits.train_y[keep], val_x=digits.val_x[vkeep],
                                val_y=digits.val_y[vkeep], num_classes=3, classes=["0", "1", "2"])
    r = evaluate_candidate(tiny(three), three, dataclasses.replace(
        FAST, optimizer="rmsprop", lr=0.01))
    assert r.top5 is None and 0.0 <= r.top1 <= 1.0


def test_evaluate_candidate_checks_fit_and_accepts_a_config(digits):
    wrong = parse_arch(TINY, resolution=32, num_classes=10, in_chans=3)
    with pytest.raises(ValueError, match="resolution=32.*in_chans=3"):
        evaluate_candidate(wrong, digits, FAST)
    cfg = DataConfig(resolution=12, train_images=300)
    r = evaluate_candidate(tiny(digits), cfg, dataclasses.replace(FAST, steps=2))
    assert r.steps == 2


def test_a_width_below_one_trains_a_narrower_copy_of_the_candidate(digits):
    arch = tiny(digits)
    full = evaluate_candidate(arch, digits, FAST)
    half = evaluate_candidate(arch, digits, dataclasses.replace(FAST, width=0.5))
    narrow = build_model(arch.replace(width=arch.width * 0.5))
    assert half.params == sum(p.numel() for p in narrow.parameters()) < full.params


def test_cli_train_smoke(capsys):
    rc = main(["train", TINY, "--steps", "3", "--resolution", "12", "--train-images", "200",
               "--threads", "1", "--quiet"])
    out = capsys.readouterr().out
    assert rc == 0 and "validation top-1" in out and "digits: 200 train" in out
    rc = main(["train", "mnasnet_a1_x0.35", "--steps", "1", "--resolution", "16",
               "--train-images", "64", "--quiet", "--json"])
    assert rc == 0 and json.loads(capsys.readouterr().out.splitlines()[-1])["steps"] == 1
    assert main(["train", TINY, "--dataset", "mnist", "--quiet"]) == 2
    assert "mnist" in capsys.readouterr().err
