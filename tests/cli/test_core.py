import subprocess
import sys

from mnas_core.cli import main

A1 = ("r1_k3_s11_e1_i32_o16_noskip,r2_k3_s22_e6_i16_o24,r3_k5_s22_e3_i24_o40_se0.25,"
      "r4_k3_s22_e6_i40_o80,r2_k3_s11_e6_i80_o112_se0.25,r3_k5_s22_e6_i112_o160_se0.25,"
      "r1_k3_s11_e6_i160_o320")


def test_space_prints_size(capsys):
    assert main(["space"]) == 0
    out = capsys.readouterr().out
    assert "2.808e+18" in out and "432^5" in out


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
