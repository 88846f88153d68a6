"""The run pickers' default: the paper's Figure 6 pair when the runs allow it."""
import pandas as pd

from app.widgets import default_comparison


def _runs(*rows):
    return pd.DataFrame([dict(zip(("path", "strategy", "alpha", "beta", "n_trials"), r))
                         for r in rows])


def test_default_pairs_the_largest_hard_and_soft_runs_of_one_strategy():
    df = _runs(("single_op.db", "random", -0.07, -0.07, 1),      # newest first, as listed
               ("random.db", "random", -0.07, -0.07, 300),
               ("soft_ppo.db", "ppo", -0.07, -0.07, 300),
               ("hard_small.db", "ppo", 0.0, -1.0, 20),
               ("hard_ppo.db", "ppo", 0.0, -1.0, 300))
    assert default_comparison(df) == ["hard_ppo.db", "soft_ppo.db"]


def test_without_a_hard_and_soft_pair_the_newest_two():
    df = _runs(("a.db", "ppo", -0.07, -0.07, 5), ("b.db", "ppo", -0.07, -0.07, 9),
               ("c.db", "ppo", -0.5, -0.5, 9))
    assert default_comparison(df) == ["a.db", "b.db"]
    hard_only = _runs(("h.db", "random", 0.0, -1.0, 3), ("s.db", "ppo", -0.07, -0.07, 3))
    assert default_comparison(hard_only) == ["h.db", "s.db"]  # other strategy when no match


def test_a_predicted_search_is_not_paired_with_trained_runs_by_default():
    df = _runs(("instant.db", "ppo", -0.07, -0.07, 2000), ("soft_ppo.db", "ppo", -0.07, -0.07, 300),
               ("hard_ppo.db", "ppo", 0.0, -1.0, 300))
    df["accuracy"] = ["predicted", "trained", "trained"]
    assert default_comparison(df) == ["hard_ppo.db", "soft_ppo.db"]
    only = df[df.accuracy == "predicted"]
    assert default_comparison(only) == ["instant.db"]  # nothing measured: what there is


def test_list_runs_says_where_each_run_s_accuracy_came_from():
    from pathlib import Path

    from mnas_core.runread import list_runs
    df = list_runs(Path(__file__).parents[2] / "sample_runs").set_index("name")
    assert df.loc["hard_ppo", "accuracy"] == "trained"  # a config from before the field
    assert df.loc["instant_ppo_digits", "accuracy"] == "predicted"
