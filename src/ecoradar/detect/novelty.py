"""Online single-series detector: a value in a part of the range the series has never (or long not) visited."""

from __future__ import annotations

from typing import Self

import numpy as np

from ecoradar.detect.base import DIP, SPIKE, Detector, Scores
from ecoradar.detect.robust_z import RobustZ, damp_after_alarms


class Novelty(Detector):
    """Value novelty on coarse grids, after a robust-z warm-up; the default detector of `detect-series`.

    Each row's value falls in a cell of a grid of `resolutions` x (range of the first rows) / K. A cell the
    series has never visited scores 1, one last visited d rows ago scores (d / t)^2 (a long-abandoned level
    counts almost as new); each is weighted by how rare novelty has been on the series so far (a Good-Turing
    rate: novel rows + 1 over rows so far, judged in `rarity_decades` decades), so a drifting or still-growing
    series stops alarming at every new cell. The grid is re-drawn from the first `stages` rows at each stage,
    shifted by `offsets` fractions of a cell (cell edges should not decide), and the members are averaged.
    Everything at row t uses rows up to t only, in both modes. Before the first stage the score is RobustZ's
    (the value alone has no range yet). After an alarm the next `refractory` x (rows so far) rows score 0.

    On a panel (`fit` / `score`) it is RobustZ: a short history has no range to be novel against.

    Args:
        resolutions (tuple[int, ...]): cells across the range of the stage rows, one grid per value.
        offsets (int): shifted copies of each grid.
        stages (tuple[int, ...]): rows (non-missing) whose range sets the grid from then on; rising.
        rarity_decades (float): -log10 of the novelty rate at which novelty counts fully.
        alarm_novelty (float): novelty (in [0, 1]) that maps to `alarm_score`.
        refractory (float): quiet spell after an alarm, as a share of the rows seen so far.
        alarm_score (float): score at or above which a row is an alarm.

    The defaults are the one global configuration run on NAB (bench/bench_detect_nab.py).
    """

    name = "novelty"
    min_history = 8

    def __init__(
        self,
        *,
        resolutions: tuple[int, ...] = (5, 10, 20),
        offsets: int = 3,
        stages: tuple[int, ...] = (200, 400, 800),
        rarity_decades: float = 3.0,
        alarm_novelty: float = 0.3,
        refractory: float = 0.05,
        alarm_score: float = 0.5,
    ):
        self.resolutions = tuple(resolutions)
        self.offsets = offsets
        self.stages = tuple(stages)
        self.rarity_decades = rarity_decades
        self.alarm_novelty = alarm_novelty
        self.refractory = refractory
        self.alarm_score = alarm_score
        self.warmup_ = RobustZ(refractory=0.0, alarm_score=alarm_score)

    def fit(
        self, history: np.ndarray, *, denominators: np.ndarray | None = None, calendar_mask: np.ndarray | None = None
    ) -> Self:
        """RobustZ's fit (panels are judged by robust z; see the class docstring)."""
        self.warmup_.fit(history, denominators=denominators, calendar_mask=calendar_mask)
        return self

    def score(
        self, new: np.ndarray, *, denominators: np.ndarray | None = None, calendar_mask: np.ndarray | None = None
    ) -> Scores:
        """RobustZ's score of the points after the fitted history."""
        return self.warmup_.score(new, denominators=denominators, calendar_mask=calendar_mask)

    def stream(self, values: np.ndarray, *, causal: bool = True) -> Scores:
        """Score one series row by row; rows before the first stage get RobustZ's score (causal or not).

        Returns:
            Scores of shape [1, n]; missing rows score 0 and are not valid.
        """
        x = np.asarray(values, dtype=float).ravel()
        ok = np.isfinite(x)
        base = self.warmup_.stream(np.where(ok, x, np.nan), causal=causal)
        seen = np.cumsum(ok)  # non-missing rows up to and including each row
        judged = ok & (seen > self.stages[0])
        score = np.where(judged, 0.0, base.score[0])
        if judged.any():
            novelty = np.zeros(len(x))
            novelty[ok] = self.novelty(x[ok])
            score = np.where(judged, self._to_score(novelty), score)
        valid = np.where(judged, True, base.valid[0])
        expected = base.expected[0]
        up = np.nan_to_num(x) >= np.nan_to_num(expected)
        kind = np.where(base.kind[0] != 0, base.kind[0], np.where(score > 0, np.where(up, SPIKE, DIP), 0))
        logp = 3.0 * np.minimum(score, 0.999) / (1.0 - np.minimum(score, 0.999))  # inverse of p_to_score
        scores = Scores(
            score=np.clip(np.nan_to_num(score), 0.0, 1.0)[None],
            p_value=np.where(valid, 10.0**-logp, 1.0)[None],
            expected=base.expected,
            lower=base.lower,
            upper=base.upper,
            kind=np.where(valid, kind, 0).astype(np.int8)[None],
            valid=valid[None],
        )
        return damp_after_alarms(scores, self.refractory, self.alarm_score) if self.refractory else scores

    def novelty(self, x: np.ndarray) -> np.ndarray:
        """Novelty in [0, 1] of each value of a gap-free series (0 before the first stage)."""
        n = len(x)
        t = np.arange(n)
        total = np.zeros(n)
        for k in self.resolutions:
            for j in range(self.offsets):
                recency = np.zeros(n)
                for i, first in enumerate(self.stages):
                    if first >= n:
                        break
                    end = self.stages[i + 1] if i + 1 < len(self.stages) else n
                    end = min(end, n)
                    cells = _cells(x[:end], x[:first], k, j / self.offsets)
                    recency[first:end] = _recency(cells)[first:end]
                novel = recency >= 1.0
                rate = (np.cumsum(novel) - novel + 1.0) / (t + 1.0)  # novel rows before t, + 1, over rows so far
                rarity = np.clip(-np.log10(rate) / self.rarity_decades, 0.0, 1.0)
                total += recency**2 * rarity
        return total / (len(self.resolutions) * self.offsets)

    def _to_score(self, novelty: np.ndarray) -> np.ndarray:
        """Monotone map of novelty to [0, 1] that puts `alarm_novelty` at `alarm_score`."""
        a, s = self.alarm_novelty, self.alarm_score
        return np.where(novelty < a, novelty / a * s, s + (novelty - a) / (1.0 - a) * (1.0 - s))


def _cells(x: np.ndarray, probe: np.ndarray, k: int, offset: float) -> np.ndarray:
    """Cell index of each value on a grid of k cells across the probe's range (1% of the level when it is flat)."""
    lo, hi = probe.min(), probe.max()
    width = (hi - lo) / k if hi > lo else max(abs(lo), 1.0) * 0.01
    return np.clip(np.floor((x - lo) / width + offset), -1e15, 1e15).astype(np.int64)


def _recency(cells: np.ndarray) -> np.ndarray:
    """1 where a cell is visited for the first time, else (rows since its last visit) / (rows so far)."""
    n = len(cells)
    order = np.argsort(cells, kind="stable")  # stable: within a cell, rows stay in time order
    srt = cells[order]
    prev = np.full(n, -1)
    prev[order[1:]] = np.where(srt[1:] == srt[:-1], order[:-1], -1)
    t = np.arange(n)
    return np.where(prev < 0, 1.0, (t - prev) / np.maximum(t, 1))
