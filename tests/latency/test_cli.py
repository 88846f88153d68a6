from mnas_core.cli import main


def test_cli_measures_predicts_and_builds(tmp_path, capsys):
    db = str(tmp_path / "lat.db")
    common = ["--resolution", "64", "--db", db, "--backend", "eager", "--runs", "3",
              "--warmup", "1", "--blocks", "2"]
    assert main(["latency", "mnasnet_a1_x0.35", *common]) == 0
    out = capsys.readouterr().out
    assert "CV" in out and "paired with the reference" in out
    assert main(["latency", "mnasnet_a1_x0.35", *common]) == 0
    assert "cached" in capsys.readouterr().out
    assert main(["latency", "mnasnet_a1_x0.35", *common, "--reference", "none"]) == 0
    out = capsys.readouterr().out  # the plain protocol: its own fingerprint, measured anew
    assert "cached" not in out and "paired" not in out
    assert main(["latency", "build-table", "mnasnet_a1_x0.35", "mobilenet_v2_x0.35", *common,
                 "--calibrate", "2"]) == 0
    assert "correction fitted on 2" in capsys.readouterr().out
    assert main(["latency", "mnasnet_a1_x0.35", "--predict", *common]) == 0
    assert "predicted" in capsys.readouterr().out
    assert main(["latency", "mnasnet_a1", "--resolution", "16", "--db", db]) == 2
    assert "too small" in capsys.readouterr().err
