import json
import subprocess
import sys

import pytest

from mnas_core import zoo
from mnas_core.cli import main
from mnas_core.space import SearchSpace

A1 = ("r1_k3_s11_e1_i32_o16_noskip,r2_k3_s22_e6_i16_o24,r3_k5_s22_e3_i24_o40_se0.25,"
      "r4_k3_s22_e6_i40_o80,r2_k3_s11_e6_i80_o112_se0.25,r3_k5_s22_e6_i112_o160_se0.25,"
      "r1_k3_s11_e6_i160_o320")


def test_space_prints_size(capsys):
    assert main(["space"]) == 0
    out = capsys.readouterr().out
    assert "2.808e+18" in out and "432^5" in out


def test_space_of_a_network_is_a_one_point_space_file(capsys, tmp_path):
    assert main(["space", "--of", "mobilenet_v2_x0.5", "--json"]) == 0
    space = SearchSpace.from_json(capsys.readouterr().out)
    assert space.size() == 1 and space.decode([0] * 42) == zoo.get("mobilenet_v2_x0.5")
    assert main(["space", "--of", "mnasnet_small"]) == 2
    assert "no search space has this network" in capsys.readouterr().err
    (tmp_path / "s.json").write_text(space.to_json())
    assert main(["space", "--of", "mnasnet_a1", "--space", str(tmp_path / "s.json")]) == 2
    assert "give --space or --of, not both" in capsys.readouterr().err


def test_profile_zoo_and_block_string_agree(capsys):
    assert main(["profile", "mnasnet_a1"]) == 0
    zoo_out = capsys.readouterr().out
    assert "total params: 3,887,038" in zoo_out and "311.6M" in zoo_out
    assert main(["profile", A1]) == 0
    assert capsys.readouterr().out == zoo_out


def test_profile_bad_block_string_is_a_clean_error(capsys):
    assert main(["profile", "r1_k4_s11_e1_i32_o16"]) == 2
    err = capsys.readouterr().err
    assert "kernel must be one of" in err and "Traceback" not in err


def test_console_entry_point_runs_as_a_module():
    out = subprocess.run([sys.executable, "-m", "mnas_core", "profile", "mobilenet_v2"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "total params: 3,504,872" in out.stdout


def one_line_error(capsys, argv) -> str:
    """Run `mnas argv`; it must fail as a user error: exit 2, one line on stderr, no trace."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert "Traceback" not in err
    return err


@pytest.mark.parametrize("arch, message", [
    (A1 + ";width=inf", "width multiplier must be a finite number"),
    (A1 + ";width=nan", "width multiplier"),
    (A1 + ";head_chs=-5", "head_chs must be in"),
    ("mnasnet_a1_xinf", "width multiplier"),
])
def test_profile_bad_network_fields_are_one_line(capsys, arch, message):
    assert message in one_line_error(capsys, ["profile", arch])


def test_profile_width_flag_inf_is_one_line(capsys):
    assert "width multiplier" in one_line_error(capsys, ["profile", "mnasnet_a1",
                                                         "--width", "inf"])


@pytest.mark.parametrize("change, message", [
    ({"blocks": None}, "missing field(s) blocks"),
    ({"head_chs": -5}, "head_chs must be in"),
    ({"width": 1e999}, "width multiplier must be a finite number"),
    ({"small_input": "no"}, "small_input must be true or false"),
])
def test_profile_bad_json_file_is_one_line(capsys, tmp_path, change, message):
    d = json.loads(zoo.get("mnasnet_a1").to_json())
    d.update(change)
    d = {k: v for k, v in d.items() if v is not None}
    path = tmp_path / "arch.json"
    path.write_text(json.dumps(d))
    err = one_line_error(capsys, ["profile", str(path)])
    assert str(path) in err and message in err


def test_profile_json_file_round_trips(capsys, tmp_path):
    path = tmp_path / "arch.json"
    path.write_text(zoo.get("mnasnet_b1_x1.3").to_json())
    assert main(["profile", str(path)]) == 0
    assert "total params: 6,282,256" in capsys.readouterr().out  # torchvision's mnasnet1_3


@pytest.mark.parametrize("content, message", [
    ('{"blocks": 5}', "search space: blocks must be a list"),
    ('{"stem_chs": "32"}', "stem_chs must be an integer"),
    ('{"resolution": 16}', "resolution 16 is too small"),
    ("{not json", "malformed"),
    (b"\xff\xfe{}", "not UTF-8 text"),
])
def test_bad_space_file_is_one_line(capsys, tmp_path, content, message):
    path = tmp_path / "space.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    err = one_line_error(capsys, ["space", "--space", str(path)])
    assert message in err and str(path) in err


def test_missing_space_file_is_one_line(capsys, tmp_path):
    err = one_line_error(capsys, ["space", "--space", str(tmp_path / "nope.json")])
    assert "cannot read" in err and "nope.json" in err


def test_search_with_a_bad_space_creates_nothing(capsys, tmp_path):
    path, out = tmp_path / "space.json", tmp_path / "run.db"
    path.write_text('{"stem_chs": "32"}')
    err = one_line_error(capsys, ["search", "--space", str(path), "--out", str(out),
                                  "--no-progress", "--trials", "2", "--target", "10"])
    assert "stem_chs must be an integer" in err
    assert list(tmp_path.iterdir()) == [path]  # no run file, no lock, no temporary
