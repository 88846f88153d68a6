"""The cost estimate is measured: a probe training and a real latency timing."""
import dataclasses

import pytest

from mnas_core.data import DataConfig, load_dataset
from mnas_core.estimate import Estimate, estimate
from mnas_core.search import LatencySetup, SearchConfig
from mnas_core.train import TrainConfig


def test_estimate_measures_a_probe_and_scales_it_to_the_run(tmp_path):
    cfg = SearchConfig(trials=10, workers=2, dataset=DataConfig(train_images=300),
                       train=TrainConfig(epochs=2, threads=1),
                       latency=LatencySetup(resolution=64, options=dict(
                           runs=3, warmup=1, backend="eager", db_path=str(tmp_path / "l.db"))))
    e = estimate(cfg, probe_steps=3)
    n_train = len(load_dataset(cfg.dataset).train_y)
    assert e.steps == cfg.train.total_steps(n_train) > 3  # the run's budget, not the probe's
    assert e.step_s > 0 and e.eval_s > 0 and e.latency_s > 0
    assert e.per_model_s == pytest.approx(e.steps * e.step_s + e.eval_s + e.latency_s)
    # A second estimate finds the probe's latency cached, and times it afresh anyway.
    again = estimate(cfg, probe_steps=3)
    assert again.latency_s > 0.2 * e.latency_s
    assert "per model" in e.summary() and "10 trials" in e.summary()


def test_whole_run_counts_latency_per_model_and_training_per_batch_of_workers():
    e = Estimate(steps=100, step_s=0.1, eval_s=2.0, latency_s=1.0, trials=10, workers=4)
    assert e.train_s == pytest.approx(12.0)
    assert e.run_s == pytest.approx(10 * 1.0 + 3 * 12.0)  # ceil(10 / 4) rounds of training
    assert dataclasses.replace(e, workers=1).run_s == pytest.approx(10 + 10 * 12.0)
