"""The predictor's models, each a handful of plain arrays: what `Predictor.save` writes as
JSON and `load` reads back without running code. Fitting uses numpy (ridge) or scikit-learn
(the trees, whose fitted arrays are copied out); predicting needs numpy only."""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

RIDGE_ALPHAS = tuple(10.0 ** e for e in np.arange(-2.0, 4.01, 0.5))


# ------------------------------------------------------------ models (plain arrays)
@dataclass(frozen=True)
class Ridge:
    """Linear in standardised features: ((x - mean) / scale) . coef + intercept."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    alpha: float

    def predict(self, X: np.ndarray) -> np.ndarray:
        # A running sum feature by feature (cumsum adds in order), not X @ coef or .sum():
        # a row's figure must not depend on its batch, and a matrix product or a pairwise
        # sum may add in another order for one row than for many, changing the last bit.
        terms = ((X - self.mean) / self.scale * self.coef).T
        return np.cumsum(terms, axis=0)[-1] + self.intercept

    def to_dict(self) -> dict:
        return {"kind": "ridge", "alpha": self.alpha, "intercept": self.intercept,
                **{k: getattr(self, k).tolist() for k in ("mean", "scale", "coef")}}

    @classmethod
    def from_dict(cls, d: dict, n_features: int) -> "Ridge":
        vec = {k: _array(d[k], (n_features,), float, k) for k in ("mean", "scale", "coef")}
        if not np.all(vec["scale"] > 0):
            raise ValueError("scale must be positive")
        return cls(**vec, intercept=_number(d["intercept"]), alpha=_number(d["alpha"]))


def fit_ridge(X: np.ndarray, y: np.ndarray, alphas=RIDGE_ALPHAS, seed: int = 0) -> Ridge:
    """Ridge regression in closed form; alpha is the one of `alphas` with the least
    leave-one-out squared error, which the hat matrix gives without refitting:
    e_i / (1 - H_ii) (Hastie et al., Elements of Statistical Learning, eq. 7.52)."""
    mean = X.mean(0)
    scale = X.std(0)
    scale[scale == 0] = 1.0  # a feature these trials never vary carries nothing
    Z, yc = (X - mean) / scale, y - y.mean()
    U, s, Vt = np.linalg.svd(Z, full_matrices=False)
    Uy = U.T @ yc
    best = None
    for alpha in alphas:
        shrink = s ** 2 / (s ** 2 + alpha)
        hat = 1.0 / len(y) + (U ** 2) @ shrink  # + 1/n: the intercept
        loo = np.mean(((yc - U @ (shrink * Uy)) / np.maximum(1.0 - hat, 1e-9)) ** 2)
        if best is None or loo < best[0]:
            best = (loo, alpha)
    alpha = best[1]
    coef = Vt.T @ (s / (s ** 2 + alpha) * Uy)
    return Ridge(mean, scale, coef, float(y.mean()), float(alpha))


@dataclass(frozen=True)
class Trees:
    """Gradient-boosted regression trees (Friedman 2001) as arrays, one row per tree padded
    to the same node count: init + learning_rate * sum of the trees' leaf values. A node
    with left = -1 is a leaf; children always come after their parent (scikit-learn's
    depth-first order, checked on load), so every walk ends within `depth` steps."""

    init: float
    learning_rate: float
    feature: np.ndarray    # (trees, nodes) int
    threshold: np.ndarray  # (trees, nodes)
    left: np.ndarray       # (trees, nodes) int, -1 at leaves
    right: np.ndarray
    value: np.ndarray      # (trees, nodes)
    depth: int = dataclasses.field(init=False)  # the deepest leaf: steps a walk takes

    def __post_init__(self):
        depth = np.zeros(self.left.shape, int)
        for t, n in zip(*np.nonzero(self.left >= 0)):  # parents before children
            depth[t, self.left[t, n]] = depth[t, self.right[t, n]] = depth[t, n] + 1
        object.__setattr__(self, "depth", int(depth.max()))

    def predict(self, X: np.ndarray) -> np.ndarray:
        # scikit-learn compares float32 features with float64 thresholds; do the same so
        # that a sample on a threshold goes the same way.
        # node[t, i]: where sample i is in tree t; summed over the trees in order, whatever
        # the batch (see Ridge.predict).
        X = X.astype(np.float32)
        t, cols = np.arange(len(self.left))[:, None], np.arange(len(X))[None, :]
        node = np.zeros((len(self.left), len(X)), int)
        for _ in range(self.depth):
            x = X[cols, np.maximum(self.feature[t, node], 0)]
            nxt = np.where(x <= self.threshold[t, node], self.left[t, node],
                           self.right[t, node])
            node = np.where(nxt >= 0, nxt, node)
        return self.init + self.learning_rate * np.cumsum(self.value[t, node], axis=0)[-1]

    def to_dict(self) -> dict:
        return {"kind": "trees", "init": self.init, "learning_rate": self.learning_rate,
                **{k: getattr(self, k).tolist()
                   for k in ("feature", "threshold", "left", "right", "value")}}

    @classmethod
    def from_dict(cls, d: dict, n_features: int) -> "Trees":
        left = _array(d["left"], None, int, "left")
        if left.ndim != 2 or not left.size:
            raise ValueError("left must be a non-empty (trees, nodes) table")
        shape, n_nodes = left.shape, left.shape[1]
        arrays = {"left": left, "right": _array(d["right"], shape, int, "right"),
                  "feature": _array(d["feature"], shape, int, "feature"),
                  "threshold": _array(d["threshold"], shape, float, "threshold"),
                  "value": _array(d["value"], shape, float, "value")}
        leaf = left < 0
        node = np.arange(n_nodes)
        for side in ("left", "right"):
            a = arrays[side]
            if np.any(a[leaf] != -1) or np.any((a[~leaf] <= np.broadcast_to(node, shape)[~leaf])
                                               | (a[~leaf] >= n_nodes)):
                raise ValueError(f"{side}: a child must follow its parent inside the tree")
        f = arrays["feature"][~leaf]
        if np.any((f < 0) | (f >= n_features)):
            raise ValueError(f"feature: a split on a feature outside 0..{n_features - 1}")
        return cls(init=_number(d["init"]), learning_rate=_number(d["learning_rate"]), **arrays)


def fit_trees(X: np.ndarray, y: np.ndarray, seed: int = 0) -> Trees:
    """Gradient-boosted trees by scikit-learn, kept as arrays. Small and shallow: a few
    hundred noisy trainings cannot support more."""
    from sklearn.ensemble import GradientBoostingRegressor  # on use: slow to import

    gb = GradientBoostingRegressor(n_estimators=200, max_depth=3, learning_rate=0.05,
                                   subsample=0.8, min_samples_leaf=5, random_state=seed)
    gb.fit(X, y)
    trees = [e.tree_ for e in gb.estimators_[:, 0]]
    n = max(t.node_count for t in trees)

    def table(get, fill, dtype):
        out = np.full((len(trees), n), fill, dtype)
        for i, t in enumerate(trees):
            out[i, :t.node_count] = get(t)
        return out

    return Trees(init=float(np.ravel(gb.init_.constant_)[0]), learning_rate=gb.learning_rate,
                 feature=table(lambda t: t.feature, -2, int),
                 threshold=table(lambda t: t.threshold, -2.0, float),
                 left=table(lambda t: t.children_left, -1, int),
                 right=table(lambda t: t.children_right, -1, int),
                 value=table(lambda t: t.value[:, 0, 0], 0.0, float))



def _number(v, none: bool = False) -> float | None:
    if v is None and none:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise ValueError(f"expected a finite number, got {v!r:.40}")
    return float(v)


def _array(v, shape, dtype, name: str) -> np.ndarray:
    """A list (of lists) of numbers as an array of `shape` (None: any), or ValueError."""
    try:
        a = np.array(v, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a table of numbers") from None
    if a.dtype != float or (shape is not None and a.shape != shape) or not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be {'x'.join(map(str, shape or ()))} finite numbers")
    if dtype is int:
        if np.any(a != np.round(a)):
            raise ValueError(f"{name} must hold integers")
        return a.astype(int)
    return a
