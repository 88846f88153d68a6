"""`mnas predictor fit / show`: the scores table, the file, and bad input as one line on
stderr with exit code 2."""
from __future__ import annotations

import pytest

from mnas_core.accuracy.predictor import Predictor
from mnas_core.cli import main
from mnas_core.train import TrainConfig
from tests.accuracy.test_predictor import make_run


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli-runs")
    return [str(make_run(folder / "a.db", 50, seed=1)), str(make_run(folder / "b.db", 40, seed=2))]


def _error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("mnas predictor: error: "), err
    assert "Traceback" not in err
    return err


def test_fit_prints_every_model_and_both_baselines_and_writes_the_file(runs, tmp_path, capsys):
    out = tmp_path / "p.json"
    assert main(["predictor", "fit", *runs, "-o", str(out)]) == 0
    text = capsys.readouterr().out
    p = Predictor.load(out)
    assert "fitted on 90 ok trials" in text and "a.db: 50 ok of 50 trials" in text
    for label in ("ridge regression", "gradient-boosted trees", "MACs alone (log MACs as is)",
                  "MACs alone (line on log MACs)"):
        assert label in text
    chosen = next(line for line in text.splitlines() if line.endswith("<- chosen"))
    assert f"{p.scores[p.kind]['spearman']:.3f}" in chosen
    assert f"wrote {out}" in text

    assert main(["predictor", "show", str(out)]) == 0
    shown = capsys.readouterr().out
    assert "fitted on 90 ok trials" in shown and chosen in shown


def test_fit_refuses_runs_with_another_budget_in_one_line(runs, tmp_path, capsys):
    other = make_run(tmp_path / "long.db", 40, train=TrainConfig(steps=30))
    out = tmp_path / "p.json"
    assert main(["predictor", "fit", runs[0], str(other), "-o", str(out)]) == 2
    assert "training budget differs" in _error(capsys)
    assert not out.exists()


@pytest.mark.parametrize("case", ["missing run", "not a run", "no folder for -o"])
def test_fit_refuses_bad_input_in_one_line(runs, tmp_path, capsys, case):
    notes = tmp_path / "notes.db"
    notes.write_text("hello")
    args = {"missing run": [str(tmp_path / "none.db"), "-o", str(tmp_path / "p.json")],
            "not a run": [str(notes), "-o", str(tmp_path / "p.json")],
            "no folder for -o": [runs[0], "-o", str(tmp_path / "no" / "p.json")]}[case]
    assert main(["predictor", "fit", *args]) == 2
    err = _error(capsys)
    assert {"missing run": "none.db", "not a run": "notes.db",
            "no folder for -o": "no folder"}[case] in err


def test_show_refuses_a_foreign_file_in_one_line(tmp_path, capsys):
    bad = tmp_path / "x.json"
    bad.write_text('{"format": "something-else"}')
    assert main(["predictor", "show", str(bad)]) == 2
    assert "x.json: not an MNAS Explorer accuracy predictor" in _error(capsys)
    assert main(["predictor", "show", str(tmp_path / "none.json")]) == 2
    assert "no predictor file" in _error(capsys)
