"""`mnas app`: the command it runs (loopback, headless) and its input checks."""
from __future__ import annotations

from mnas_core.cli import main, make_parser
from mnas_core.cli.app import APP_MAIN, streamlit_command


def test_app_command_binds_loopback_headless(tmp_path):
    args = make_parser().parse_args(["app", "--port", "8765", "--runs-dir", str(tmp_path),
                                     "--sample-dir", str(tmp_path / "s")])
    cmd = streamlit_command(args)
    assert APP_MAIN.is_file() and str(APP_MAIN) in cmd
    flags = dict(zip(cmd, cmd[1:]))
    assert flags["--server.address"] == "127.0.0.1"
    assert flags["--server.port"] == "8765"
    assert flags["--server.headless"] == "true"
    assert flags["--browser.gatherUsageStats"] == "false"
    app_args = cmd[cmd.index("--") + 1:]
    assert app_args == ["--runs-dir", str(tmp_path), "--sample-dir", str(tmp_path / "s")]


def test_app_rejects_a_bad_port(capsys):
    assert main(["app", "--port", "70000"]) == 2
    assert "--port must be between 1 and 65535" in capsys.readouterr().err


def test_app_config_parses_the_app_arguments(tmp_path):
    from app.config import parse_args
    cfg = parse_args(["--runs-dir", str(tmp_path), "--sample-dir", "/x", "--refresh", "0.1"])
    assert cfg.runs_dir == tmp_path and cfg.sample_dirs[0].name == "x"
    assert cfg.refresh_s == 0.5  # floor: a faster refresh would only load the machine
    assert parse_args([]).sample_dirs[0].name == "sample_runs"
