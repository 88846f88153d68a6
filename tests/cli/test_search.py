import pytest

from mnas_core.cli import main, make_parser
from mnas_core.cli.search import config_from_args
from mnas_core.reward import RewardConfig


def parse(*argv):
    return config_from_args(make_parser().parse_args(["search", *argv]))


def test_defaults_are_the_soft_ppo_classroom_search():
    cfg = parse()
    assert (cfg.strategy, cfg.trials, cfg.reward) == ("ppo", 100, RewardConfig(None, -0.07,
                                                                                 -0.07))
    assert cfg.dataset.name == "digits"


def test_presets_targets_and_overrides():
    assert parse("--preset", "hard").reward == RewardConfig(None, 0.0, -1.0)
    assert parse("--preset", "hard", "--target", "12").reward == RewardConfig(12.0, 0.0, -1.0)
    assert parse("--beta", "-0.2", "--target", "9").reward == RewardConfig(9.0, -0.07, -0.2)
    cfg = parse("--strategy", "random", "--epochs", "1", "--train-images", "300")
    assert (cfg.strategy, cfg.train.epochs, cfg.dataset.train_images) == ("random", 1, 300)


def test_latency_options_set_the_sources_own_settings():
    cfg = parse("--latency", "phone", "--latency-option", "connect.host=10.0.0.7",
                "--latency-option", "connect.port=5556",
                "--latency-option", "run.runner_local=/opt/executor_runner")
    assert cfg.latency.options == {"connect": {"host": "10.0.0.7", "port": 5556},
                                   "run": {"runner_local": "/opt/executor_runner"}}
    assert cfg.latency.source_config().connect.port == 5556
    assert parse("--latency-option", "runs=7").latency.source_config().runs == 7
    for pair, says in [("runs", "expected KEY=VALUE"), ("a..b=1", "expected KEY=VALUE"),
                       ("runs=many", "measured source: runs must be an integer"),
                       ("colour=red", r"measured source: unknown field\(s\) 'colour'")]:
        with pytest.raises(ValueError, match=says):
            parse("--latency-option", pair)
    with pytest.raises(ValueError, match="runs is already set"):
        parse("--latency-option", "runs=1", "--latency-option", "runs.x=2")


def test_bad_reward_settings_are_clean_errors(tmp_path, capsys):
    out = str(tmp_path / "r.db")
    assert main(["search", "--target", "-5", "--out", out]) == 2
    assert "--target: target latency T must be a positive" in capsys.readouterr().err
    assert main(["search", "--beta", "0.3", "--out", out]) == 2
    assert "beta = 0.3 > 0" in capsys.readouterr().err
    assert not (tmp_path / "r.db").exists()  # nothing is created for a rejected config


def _stopped_run(tmp_path):
    """A run file as a stopped search leaves it (config and an asked batch), and its bytes."""
    from mnas_core.search import start_run
    from tests.test_search import tiny_config

    store = start_run(tiny_config(tmp_path), tmp_path / "shared.db")
    store.add_pending(1, [{"arch": "x", "tokens": "[0]"}], {"rng": 1})
    store.close()
    return store.path


def test_resuming_a_planted_run_file_runs_no_code(tmp_path, capsys):
    import sqlite3

    from tests.test_store import _planted_blobs

    path = _stopped_run(tmp_path)
    marker = tmp_path / "pwned"
    db = sqlite3.connect(path)
    db.execute("UPDATE strategy_state SET state = ?", (_planted_blobs(marker)["torch.save"],))
    db.commit()
    db.close()
    before = path.read_bytes()
    assert main(["search", "--resume", str(path), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert not marker.exists()
    assert "not plain tensors and data" in err and err.count("\n") == 1
    assert path.read_bytes() == before  # not even marked failed


def test_a_second_search_on_one_run_file_is_refused(tmp_path, capsys):
    import os

    from mnas_core.store import RunStore

    path = _stopped_run(tmp_path)
    holder = RunStore(path)  # a search writing this file
    try:
        assert main(["search", "--resume", str(path), "--no-progress"]) == 2
        err = capsys.readouterr().err
        assert f"already being written by pid {os.getpid()}" in err and err.count("\n") == 1
    finally:
        holder.close()


def test_digits_says_it_has_almost_no_size_signal_with_the_measured_figure(tmp_path):
    from mnas_core.cli.search import RECORDED_RANDOM, digits_note

    note = digits_note()
    assert "hardly more accurate" in note and "Spearman of accuracy with latency 0.04" in note
    assert RECORDED_RANDOM.name in note
    missing = digits_note(tmp_path / "none.db")  # an installed copy without sample_runs/
    assert "hardly more accurate" in missing and "Spearman" not in missing
    (tmp_path / "bad.db").write_text("not a run")
    assert "Spearman" not in digits_note(tmp_path / "bad.db")


def test_real_data_trains_at_the_studys_budget_and_the_flags_override_it():
    from mnas_core.data import DataConfig
    from mnas_core.fidelity import PROXY, PROXY_VAL_IMAGES, proxy_task
    from mnas_core.train import TrainConfig

    assert proxy_task("digits") == (DataConfig(), TrainConfig())
    for name in ("cifar10", "folder:/data/pets"):
        cfg = parse("--dataset", name)
        assert (cfg.dataset.name, cfg.dataset.resolution, cfg.dataset.train_images,
                cfg.dataset.val_images) == (name, PROXY.resolution, PROXY.images,
                                            PROXY_VAL_IMAGES)
        assert (cfg.train.epochs, cfg.train.width) == (PROXY.epochs, PROXY.width)
    cfg = parse("--dataset", "cifar10", "--epochs", "3", "--train-width", "1",
                "--resolution", "16", "--data-path", "/data/cifar.tar.gz")
    assert (cfg.train.epochs, cfg.train.width, cfg.dataset.resolution, cfg.dataset.path) == (
        3, 1, 16, "/data/cifar.tar.gz")
    with pytest.raises(ValueError, match="width must be in"):
        parse("--dataset", "cifar10", "--train-width", "-1")


def test_real_data_note_gives_the_studys_verdict_on_the_default_budget_only(tmp_path):
    from mnas_core.cli.search import RECORDED_FIDELITY, real_data_note
    from mnas_core.fidelity import PROXY, read_results, table, verdict

    cfg = parse("--dataset", "cifar10")
    note = real_data_note(cfg)
    assert f"proxy budget {PROXY.name}" in note
    assert verdict(table(read_results(RECORDED_FIDELITY))) in note
    (tmp_path / "bad.jsonl").write_text("[1, 2, 3]\n{}")
    for missing in (tmp_path / "bad.jsonl", tmp_path / "none.jsonl"):
        alone = real_data_note(cfg, missing)
        assert "Over" not in alone and f"proxy budget {PROXY.name}" in alone
    other = real_data_note(parse("--dataset", "cifar10", "--epochs", "2"))
    assert "not one the CIFAR-10 fidelity study measured" in other


def test_estimate_prints_a_measured_cost_and_makes_no_run_file(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["search", "--estimate", "--train-images", "200", "--trials", "20",
                 "--latency-option", f"db_path={tmp_path / 'lat.db'}",
                 "--latency-option", "runs=3", "--latency-option", "backend=\"eager\"",
                 "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "estimated cost, measured on this machine: ~" in out and "20 trials" in out
    # Only the latency cache is written, and closed (no -wal left): no runs/ folder, no run file.
    assert [p.name for p in tmp_path.iterdir()] == ["lat.db"]
