"""A search with the phone as its latency source: every sampled model is exported, pushed to
the (emulated) phone, timed by the stand-in runner and stored with the phone's fingerprint."""
import pytest

from mnas_core.data import DataConfig
from mnas_core.reward import RewardConfig
from mnas_core.search import LatencySetup, SearchConfig, run_search, start_run
from mnas_core.store import read_trials
from mnas_core.train import TrainConfig

from .emulator import EmulatedPhone
from .fake_shell import STANDIN_RUNNER


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_search_times_every_model_on_the_phone(tmp_path):
    em = EmulatedPhone(tmp_path / "phone").start()
    runner = tmp_path / "executor_runner"
    runner.write_bytes(STANDIN_RUNNER)
    options = {"connect": {"host": "127.0.0.1", "port": em.port,
                           "key_path": str(tmp_path / "adbkey")},
               "run": {"runner_local": str(runner), "runs": 3, "warmup": 1},
               "db_path": str(tmp_path / "lat.db")}
    cfg = SearchConfig(trials=2, batch_size=2, executor="inprocess",
                       reward=RewardConfig(5.0), dataset=DataConfig(train_images=100),
                       train=TrainConfig(steps=2, threads=1),
                       latency=LatencySetup("phone", resolution=64, options=options))
    try:
        run_search(start_run(cfg, tmp_path / "run.db"))
    finally:
        em.stop()
    df = read_trials(tmp_path / "run.db")
    assert len(df) == 2 and (df.status == "ok").all(), df.error.tolist()
    assert (df.latency_source == "phone").all() and df.latency_ms.gt(0).all()
    assert (df.latency_backend == "executorch-xnnpack").all()
