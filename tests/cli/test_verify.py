"""`mnas verify RUN --top K`: the table of predicted vs trained for a real predicted run, a
re-run that trains nothing, and bad input as one line on stderr with exit code 2."""
from __future__ import annotations

import re
import shutil

import numpy as np
import pytest

from mnas_core.cli import main
from mnas_core.store import TrialStatus, read_trials, read_verified
from tests.accuracy.test_predictor import make_run
from tests.test_verify import fit_predictor, search_predicted

TINY = ["--executor", "inprocess", "--threads", "1", "--no-progress"]


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli-verify")
    return search_predicted(folder / "predicted.db", fit_predictor(folder), folder)


def _error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("mnas verify: error: "), err
    assert "Traceback" not in err
    return err


def _rows(text: str) -> list[list[str]]:
    """The table's rows: trial, reward, predicted, trained, difference."""
    lines = text[text.index("best first by"):].splitlines()[1:]
    assert lines[0].split() == ["trial", "reward", "predicted", "trained", "difference"]
    lines = lines[1:]
    return [line.split() for line in lines[:lines.index("")]]


def test_it_prints_predicted_trained_and_their_agreement_and_a_re_run_trains_nothing(
        made, tmp_path, capsys):
    run = shutil.copy(made, tmp_path / "run.db")
    assert main(["verify", str(run), "--top", "2", *TINY]) == 0
    text = capsys.readouterr().out
    assert "verifying the top 2 distinct architectures by reward" in text
    assert "to train: 2 (already verified: 0)" in text and "trained now: 2" in text
    rows = _rows(text)
    done = read_verified(run).set_index("trial")
    trials = read_trials(run).set_index("trial")
    assert len(rows) == 2 and set(done.status) == {TrialStatus.OK}
    for trial, rew, predicted, trained, difference in rows:
        t = int(trial)
        assert float(rew) == pytest.approx(trials.reward[t], abs=5e-5)
        assert float(predicted) == pytest.approx(trials.accuracy[t], abs=5e-5)
        assert float(trained) == pytest.approx(done.accuracy[t], abs=5e-5)
        assert float(difference) == pytest.approx(done.accuracy[t] - trials.accuracy[t],
                                                  abs=1e-4)
    mae = np.mean([abs(float(r[4])) for r in rows])
    found = re.search(r"Spearman (\S+), Kendall (\S+), MAE (\S+)", text)
    assert found and float(found.group(3)) == pytest.approx(mae, abs=2e-4)

    assert main(["verify", str(run), "--top", "2", *TINY]) == 0
    again = capsys.readouterr().out
    assert "to train: 0 (already verified: 2)" in again and "trained now: 0" in again
    assert _rows(again) == rows and read_verified(run).equals(done.reset_index())


@pytest.mark.parametrize("case", ["trained run", "top 0", "missing", "foreign", "by"])
def test_bad_input_is_one_line(made, tmp_path, capsys, case):
    notes = tmp_path / "notes.db"
    notes.write_text("hello")
    args = {"trained run": [str(make_run(tmp_path / "t.db", 5)), "--top", "2"],
            "top 0": [str(made), "--top", "0"],
            "missing": [str(tmp_path / "none.db"), "--top", "2"],
            "foreign": [str(notes), "--top", "2"],
            "by": [str(made), "--top", "2", "--by", "latency"]}[case]
    if case == "by":  # argparse's own choice check: exit 2 with its usage line
        with pytest.raises(SystemExit) as exit_:
            main(["verify", *args, *TINY])
        assert exit_.value.code == 2 and "invalid choice: 'latency'" in capsys.readouterr().err
        return
    assert main(["verify", *args, *TINY]) == 2
    err = _error(capsys)
    assert {"trained run": "is not a predicted run", "top 0": "--top must be an integer >= 1",
            "missing": "no run store at", "foreign": "not an MNAS Explorer run file"}[case] \
        in err
