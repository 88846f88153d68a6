"""Pareto front (maximise accuracy, minimise latency) and its hypervolume."""
from __future__ import annotations

import numpy as np


def pareto_mask(accuracy, latency_ms) -> np.ndarray:
    """True for the non-dominated points. A point is dominated when another is at least as
    accurate and at least as fast, and strictly better in one. NaN points are never on it.
    O(n log n): sort by latency (ties: most accurate first); a point is on the front when it
    beats the best accuracy of every faster point."""
    acc = np.asarray(accuracy, dtype=float)
    lat = np.asarray(latency_ms, dtype=float)
    mask = np.zeros(acc.shape, dtype=bool)
    valid = np.flatnonzero(~(np.isnan(acc) | np.isnan(lat)))
    order = valid[np.lexsort((-acc[valid], lat[valid]))]
    a = acc[order]
    best_before = np.concatenate(([-np.inf], np.maximum.accumulate(a)[:-1]))
    mask[order[a > best_before]] = True
    return mask


def hypervolume(accuracy, latency_ms, ref_latency_ms: float, ref_accuracy: float = 0.0) -> float:
    """Area (accuracy x ms) dominated by the points and bounded by the reference point
    (ref_latency_ms, ref_accuracy): larger is better. Points slower than the reference
    latency or less accurate than the reference accuracy contribute nothing."""
    acc = np.asarray(accuracy, dtype=float)
    lat = np.asarray(latency_ms, dtype=float)
    keep = pareto_mask(acc, lat) & (lat < ref_latency_ms) & (acc > ref_accuracy)
    a, l = acc[keep], lat[keep]
    order = np.argsort(l)           # fastest first; on the front accuracy rises with latency
    a, l = a[order], l[order]
    # Each front point owns the strip from its latency to the next point's (or the reference).
    right = np.append(l[1:], ref_latency_ms)
    return float(np.sum((right - l) * (a - ref_accuracy)))


REFERENCE_T_FACTOR = 2.0  # every reported hypervolume: reference point (2T, accuracy 0)


def reference_latency(targets) -> float:
    """The reference latency of every hypervolume MNAS Explorer reports: twice the largest
    target T of the runs compared (accuracy 0). Tied to T rather than to the latencies
    sampled, so a run's hypervolume does not change when another run joins the comparison,
    and fronts of runs with the same T compare directly. ValueError with no T."""
    ts = [float(t) for t in targets if t is not None and np.isfinite(t) and t > 0]
    if not ts:
        raise ValueError("a hypervolume needs the runs' target latency T (none is known yet)")
    return REFERENCE_T_FACTOR * max(ts)
