"""Multiple-testing control: Benjamini-Hochberg q-values within groups (e.g. all slices tested on one day)."""

from __future__ import annotations

import numpy as np
from scipy import stats


def bh_qvalues(p: np.ndarray, groups: np.ndarray | None = None, n_tests: dict | None = None) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values), computed separately within each group.

    Args:
        p: p-values.
        groups: group label of each p (e.g. the day); None: one group.
        n_tests: group label -> number of hypotheses tested in that group, when only the smallest p-values are
            passed (every q <= alpha has p <= alpha, so callers may drop larger p and keep the count).

    Example:
        >>> bh_qvalues(np.array([0.01, 0.04, 0.03, 0.5])).round(3).tolist()
        [0.04, 0.053, 0.053, 0.5]
    """
    p = np.asarray(p, dtype=float)
    labels = np.zeros(len(p), dtype=int) if groups is None else np.asarray(groups)
    keys, groups = np.unique(labels, return_inverse=True)
    # sort by group, then p descending inside the group: a reverse cumulative minimum gives the step-up q-values
    order = np.lexsort((-p, groups))
    g, ps = groups[order], p[order]
    n_in = np.bincount(g)
    first = np.r_[0, np.cumsum(n_in)[:-1]]
    pos = np.arange(len(p)) - first[g]  # 0 = largest p of the group
    rank = n_in[g] - pos  # rank of p ascending inside the group (1-based)
    m = n_in if n_tests is None else np.maximum(np.array([n_tests[k] for k in keys]), n_in)
    raw = np.minimum(ps * m[g] / rank, 1.0)
    q_sorted = np.empty_like(raw)
    for start, n in zip(first, n_in, strict=True):  # one cumulative minimum per group (per day), not per slice
        q_sorted[start : start + n] = np.minimum.accumulate(raw[start : start + n])
    q = np.empty_like(q_sorted)
    q[order] = q_sorted
    return q


def rescale_p(p: np.ndarray, sensitivity: np.ndarray | float) -> np.ndarray:
    """Divide the z-score behind each two-sided p by `sensitivity`: above 1 a point needs a larger deviation.

    Example:
        >>> float(rescale_p(np.array([0.0027]), 1.5)[0].round(3))
        0.046
    """
    z = stats.norm.isf(np.clip(np.asarray(p, dtype=float), 1e-300, 1.0) / 2.0)
    return np.clip(2.0 * stats.norm.sf(z / np.asarray(sensitivity, dtype=float)), 0.0, 1.0)
