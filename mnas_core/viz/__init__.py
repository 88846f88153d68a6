"""Chart builders for the app, the notebooks and the README images: pure functions of data
(DataFrames, arrays, configs) to plotly figures, with no Streamlit, so each is tested on its own
(tests/viz/) and the notebooks draw exactly what the app shows.

style.py holds what they all share (palette, layout, the target line T, the Pareto staircase,
shared bins); trials.py the charts of a run's trials (the paper's Figure 6 among them),
reward.py those of the reward (Figure 3), models.py those of networks and latency, instant.py
those of an instant search and of its check by `mnas verify`, fidelity.py that of the CIFAR-10
proxy-fidelity study.
"""
from .fidelity import fidelity_scatter
from .instant import verified_scatter
from .models import (compare_costs, latency_evidence, layer_costs, run_times, size_scatter,
                     space_sizes)
from .reward import rank_slope, reward_curves
from .style import RUN_COLORS, TARGET_COLOR, empty_figure, layout, target_line
from .trials import (figure6, latency_histogram, latency_histograms, latency_over_trials,
                     pareto_overlay, pareto_scatter, reward_over_time)

__all__ = ["RUN_COLORS", "TARGET_COLOR", "compare_costs", "empty_figure", "fidelity_scatter",
           "figure6", "latency_evidence", "latency_histogram", "latency_histograms",
           "latency_over_trials", "layer_costs", "layout", "pareto_overlay", "pareto_scatter",
           "rank_slope", "reward_curves", "reward_over_time", "run_times", "size_scatter",
           "space_sizes", "target_line", "verified_scatter"]
