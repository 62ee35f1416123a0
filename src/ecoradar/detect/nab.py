"""The Numenta Anomaly Benchmark (NAB v1.1) scorer, re-implemented from its documented rules.

Per file: the first 15% of rows (at most 750) are probationary; inside a labelled window a detection scores
A_TP * sigma(y) / sigma(-1), with y = -(right - i + 1) / width, and only the best (earliest) detection of a window
counts; a window with no detection costs A_FN; a detection outside windows costs A_FP * sigma(y), with y the distance
past the previous window's right edge over (its width - 1), or -1 (full cost) before any window;
sigma(y) = 2 / (1 + e^{5y}) - 1. One threshold per detector and profile is chosen by sweeping every score of the
corpus; the total is normalized as 100 * (S - S_null) / (S_perfect - S_null), S_perfect = windows * A_TP.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ecoradar.errors import DataError

PROBATION_PERCENT = 0.15


@dataclass(frozen=True)
class CostProfile:
    """Weights of one NAB application profile (config/profiles.json)."""

    name: str
    tp: float
    fp: float
    fn: float


@dataclass(frozen=True)
class SweepRows:
    """Per-row scoring material of one or more files, ready for the threshold sweep."""

    anomaly_score: np.ndarray
    sweep_score: np.ndarray
    """Weighted score the row earns if detected (TP value inside a window, FP cost outside)."""
    window_id: np.ndarray
    """-2 probationary, -1 outside windows, else a corpus-unique window id."""
    n_windows: int


def scaled_sigmoid(y: np.ndarray | float) -> np.ndarray:
    """NAB's sigma(y) = 2 / (1 + e^{5y}) - 1, and -1 for y > 3 (far past a window)."""
    y = np.asarray(y, dtype=float)
    with np.errstate(over="ignore"):
        val = 2.0 / (1.0 + np.exp(5.0 * y)) - 1.0
    return np.where(y > 3.0, -1.0, val)


def load_profiles(path: Path) -> dict[str, CostProfile]:
    """Read config/profiles.json into CostProfile records."""
    raw = json.loads(Path(path).read_text())
    return {
        name: CostProfile(name, m["CostMatrix"]["tpWeight"], m["CostMatrix"]["fpWeight"], m["CostMatrix"]["fnWeight"])
        for name, m in raw.items()
    }


def load_windows(path: Path) -> dict[str, list[tuple[pd.Timestamp, pd.Timestamp]]]:
    """Read labels/combined_windows.json: file (relative path) -> [(start, end)]."""
    raw = json.loads(Path(path).read_text())
    return {f: [(pd.Timestamp(a), pd.Timestamp(b)) for a, b in wins] for f, wins in raw.items()}


def probation_length(n_rows: int, percent: float = PROBATION_PERCENT) -> int:
    """Rows at the start of a file that are not scored: min(floor(15% of rows), 15% of 5000)."""
    return int(min(math.floor(percent * n_rows), percent * 5000))


def sweep_rows(
    timestamps: pd.Series | np.ndarray,
    anomaly_scores: np.ndarray,
    windows: list[tuple[pd.Timestamp, pd.Timestamp]],
    profile: CostProfile,
    *,
    window_offset: int = 0,
) -> SweepRows:
    """The weighted score each row of one file would earn if detected (NAB Sweeper.calcSweepScore).

    Raises:
        DataError: a window edge is not one of the file's timestamps, or the lengths differ.
    """
    ts = pd.DatetimeIndex(pd.to_datetime(np.asarray(timestamps)))
    scores = np.asarray(anomaly_scores, dtype=float)
    n = len(ts)
    if len(scores) != n:
        raise DataError(f"{n} timestamps but {len(scores)} anomaly scores")
    idx = np.arange(n)
    sweep = np.empty(n)
    window_id = np.full(n, -1)
    inside = np.zeros(n, dtype=bool)
    prev_right = np.full(n, -1)
    prev_width = np.zeros(n)
    last_right, last_width = -1, 0.0
    edges = []
    for w, (start, end) in enumerate(windows):
        try:
            left, right = ts.get_loc(start), ts.get_loc(end)
        except KeyError as exc:
            raise DataError(f"window edge {exc} is not a timestamp of the file") from None
        edges.append((left, right, w))
    cursor = 0
    for left, right, w in edges:
        # rows before this window score against the previous window's edge
        prev_right[cursor:left] = last_right
        prev_width[cursor:left] = last_width
        width = float(right - left + 1)
        rows = idx[left : right + 1]
        sweep[left : right + 1] = scaled_sigmoid(-(right - rows + 1) / width) * profile.tp / scaled_sigmoid(-1.0)
        window_id[left : right + 1] = window_offset + w
        inside[left : right + 1] = True
        last_right, last_width, cursor = right, width, right + 1
    prev_right[cursor:] = last_right
    prev_width[cursor:] = last_width
    out = ~inside
    with np.errstate(divide="ignore", invalid="ignore"):
        past = np.abs(prev_right - idx) / (prev_width - 1.0)
    fp = np.where(prev_right < 0, -1.0, scaled_sigmoid(np.nan_to_num(past, nan=0.0)))
    sweep[out] = fp[out] * profile.fp
    window_id[: probation_length(n)] = -2
    return SweepRows(scores, sweep, window_id, len(windows))


def concat_rows(parts: list[SweepRows]) -> SweepRows:
    """Join the rows of several files (window ids must already be corpus-unique)."""
    return SweepRows(
        np.concatenate([p.anomaly_score for p in parts]),
        np.concatenate([p.sweep_score for p in parts]),
        np.concatenate([p.window_id for p in parts]),
        sum(p.n_windows for p in parts),
    )


def score_by_threshold(rows: SweepRows, profile: CostProfile) -> tuple[np.ndarray, np.ndarray]:
    """Raw NAB score when every row with anomaly_score >= threshold is a detection, for every distinct threshold.

    Returns:
        (thresholds, scores), thresholds descending, starting with 1.1 (nothing detected), as NAB's sweep does.
    """
    order = np.argsort(-rows.anomaly_score, kind="stable")
    a = rows.anomaly_score[order]
    s = rows.sweep_score[order]
    wid = rows.window_id[order]
    # FP part: cumulative sum of costs outside windows
    fp_cum = np.cumsum(np.where(wid == -1, s, 0.0))
    # window part: each window starts at -fn; it earns max(-fn, best sweep score seen so far)
    windows_present = len(np.unique(rows.window_id[rows.window_id >= 0]))
    win_total = np.full(len(a), -profile.fn * windows_present)
    if windows_present:
        # running best score of each window (initially -fn): each row adds how much it raises its window's best
        in_win = np.flatnonzero(wid >= 0)
        best = pd.Series(np.maximum(s[in_win], -profile.fn)).groupby(wid[in_win]).cummax()
        prev = best.groupby(wid[in_win]).shift(1).fillna(-profile.fn)
        gains = np.zeros(len(a))
        gains[in_win] = (best - prev).to_numpy()
        win_total += np.cumsum(gains)
    total = fp_cum + win_total
    # a threshold's score is the state after the last row with that anomaly score
    last_of_value = np.r_[a[1:] != a[:-1], True]
    thresholds = np.r_[1.1, a[last_of_value]]
    scores = np.r_[-profile.fn * windows_present, total[last_of_value]]
    return thresholds, scores


def score_at(rows: SweepRows, profile: CostProfile, threshold: float) -> float:
    """Raw NAB score when rows with anomaly_score >= threshold are detections."""
    detected = rows.anomaly_score >= threshold
    fp = rows.sweep_score[detected & (rows.window_id == -1)].sum()
    ids = np.unique(rows.window_id[rows.window_id >= 0])
    total = fp
    for w in ids:
        hit = detected & (rows.window_id == w)
        total += max(rows.sweep_score[hit].max(), -profile.fn) if hit.any() else -profile.fn
    return float(total)


def optimize_threshold(rows: SweepRows, profile: CostProfile) -> tuple[float, float]:
    """The corpus-wide threshold with the best raw score, as NAB's optimizer picks it: (threshold, score)."""
    thresholds, scores = score_by_threshold(rows, profile)
    best = int(np.argmax(scores))
    return float(thresholds[best]), float(scores[best])


def normalize(raw: float, null_raw: float, n_windows: int, profile: CostProfile) -> float:
    """NAB's final score: 100 * (raw - null) / (perfect - null) with perfect = windows * A_TP."""
    perfect = n_windows * profile.tp
    return 100.0 * (raw - null_raw) / (perfect - null_raw)


def corpus_rows(
    results: Mapping[str, tuple[np.ndarray, np.ndarray]],
    windows: Mapping[str, list[tuple[pd.Timestamp, pd.Timestamp]]],
    profile: CostProfile,
) -> SweepRows:
    """Sweep rows of a whole corpus: results maps file -> (timestamps, anomaly scores)."""
    parts, offset = [], 0
    for name in sorted(results):
        ts, sc = results[name]
        part = sweep_rows(ts, sc, windows[name], profile, window_offset=offset)
        offset += len(windows[name])
        parts.append(part)
    return concat_rows(parts)


def evaluate(
    results: Mapping[str, tuple[np.ndarray, np.ndarray]],
    windows: Mapping[str, list[tuple[pd.Timestamp, pd.Timestamp]]],
    profiles: Mapping[str, CostProfile],
    *,
    fixed_threshold: float | None = None,
) -> dict[str, dict[str, float]]:
    """Normalized NAB score per profile: {"standard": {"score", "threshold", "raw"}, ...}.

    With fixed_threshold the sweep is skipped (a threshold chosen in advance, not tuned on the labels).
    """
    out = {}
    used = {name: windows[name] for name in results}
    n_windows = sum(len(w) for w in used.values())
    for pname, profile in profiles.items():
        rows = corpus_rows(results, used, profile)
        thresholds, scores = score_by_threshold(rows, profile)
        null = float(scores[0])  # nothing detected: the null detector's score
        if fixed_threshold is None:
            best = int(np.argmax(scores))
            threshold, raw = float(thresholds[best]), float(scores[best])
        else:
            threshold, raw = fixed_threshold, score_at(rows, profile, fixed_threshold)
        out[pname] = {"score": normalize(raw, null, n_windows, profile), "threshold": threshold, "raw": raw}
    return out
