from mnas_core.cli import main, make_parser
from mnas_core.cli.search import config_from_args
from mnas_core.reward import RewardConfig


def parse(*argv):
    return config_from_args(make_parser().parse_args(["search", *argv]))


def test_defaults_are_the_soft_ppo_classroom_search():
    cfg = parse()
    assert (cfg.strategy, cfg.trials, cfg.reward, cfg.exponents) == ("ppo", 100, None,
                                                                     (-0.07, -0.07))
    assert cfg.dataset.name == "digits"


def test_presets_targets_and_overrides():
    assert parse("--preset", "hard").exponents == (0.0, -1.0)
    assert parse("--preset", "hard", "--target", "12").reward == RewardConfig(12.0, 0.0, -1.0)
    assert parse("--beta", "-0.2", "--target", "9").reward == RewardConfig(9.0, -0.07, -0.2)
    cfg = parse("--strategy", "random", "--epochs", "1", "--train-images", "300")
    assert (cfg.strategy, cfg.train.epochs, cfg.dataset.train_images) == ("random", 1, 300)


def test_bad_reward_settings_are_clean_errors(tmp_path, capsys):
    out = str(tmp_path / "r.db")
    assert main(["search", "--target", "-5", "--out", out]) == 2
    assert "--target: target latency T must be a positive" in capsys.readouterr().err
    assert main(["search", "--beta", "0.3", "--out", out]) == 2
    assert "beta = 0.3 > 0" in capsys.readouterr().err
    assert not (tmp_path / "r.db").exists()  # nothing is created for a rejected config
