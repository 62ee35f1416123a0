"""Weekly seasonal baseline (robust medians) with robust residual scoring: spikes and dips."""

from __future__ import annotations

from typing import Self

import numpy as np

from ecoradar.detect.base import (
    DIP,
    MAD_TO_SD,
    SPIKE,
    Detector,
    Scores,
    apply_mask,
    as_panel,
    finish,
    nanmedian,
    robust_scale,
    scale_floor,
)


def deseasonalize(
    history: np.ndarray, calendar_mask: np.ndarray | None, period: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The masked panel, its weekday offsets, and the panel minus them: where every weekly detector starts."""
    panel = apply_mask(as_panel(history), calendar_mask)
    offsets = weekly_offsets(panel, period)
    return panel, offsets, panel - offsets[:, phase_of(0, panel.shape[1], period)]


def weekly_offsets(panel: np.ndarray, period: int) -> np.ndarray:
    """Median offset of each phase (weekday) from a centred moving average: [n_series, period], mean zero.

    The median over weeks keeps outliers and masked holidays (NaN) out of the profile; a series with no season
    gets offsets ~0. The moving average is NaN-aware (sums and counts by cumulative sums).
    """
    n_series, n_time = panel.shape
    if period <= 1 or n_time < 2 * period:
        return np.zeros((n_series, max(period, 1)))
    half = period // 2
    finite = np.isfinite(panel)
    csum = np.pad(np.cumsum(np.where(finite, panel, 0.0), axis=1), ((0, 0), (1, 0)))
    ccnt = np.pad(np.cumsum(finite, axis=1), ((0, 0), (1, 0)))
    lo = np.clip(np.arange(n_time) - half, 0, n_time - period)
    with np.errstate(all="ignore"):
        level = (csum[:, lo + period] - csum[:, lo]) / (ccnt[:, lo + period] - ccnt[:, lo])
        detrended = panel - level
    pad = (-n_time) % period
    by_phase = np.pad(detrended, ((0, 0), (0, pad)), constant_values=np.nan).reshape(n_series, -1, period)
    offsets = np.nan_to_num(nanmedian(by_phase, axis=1))
    return offsets - offsets.mean(axis=1, keepdims=True)


def diff_scale(panel: np.ndarray) -> np.ndarray:
    """Noise sd from the MAD of first differences: robust to level shifts and slow drifts."""
    with np.errstate(all="ignore"):
        d = np.diff(panel, axis=1)
        med = nanmedian(d, axis=1, keepdims=True)
        mad = nanmedian(np.abs(d - med), axis=1)
    return np.nan_to_num(mad * MAD_TO_SD / np.sqrt(2.0))


#: Panels of at least this many series lend a slope to series whose own slope is not clear (shared growth).
MIN_PANEL = 20


def robust_slope(windows: np.ndarray, scale: np.ndarray, level: np.ndarray | None = None) -> np.ndarray:
    """Per-row slope over the last axis from medians of its thirds; the panel's growth unless both steps are clear.

    Two step estimates (first->middle, middle->last third) must agree in sign and each exceed twice its standard
    error (from the noise sd `scale`, one per row), so one level shift (which shows in one step only) or noise is
    not mistaken for a trend, while steady growth is followed. The smaller step is used. A row whose own steps are
    not clear takes, when `level` is given and the panel (axis 0) has MIN_PANEL rows or more, the relative growth
    of the panel's largest series (for a volume, the platform total) times its own level: a platform that grows
    0.25% a day grows in most slices, too slowly for one slice's few weeks to prove it, and a flat baseline would
    call that growth a shift. Only volumes (counts, sums) should pass `level`: rates do not grow with traffic.
    """
    w = windows.shape[-1]
    third = max(w // 3, 1)
    m1 = nanmedian(windows[..., :third], axis=-1)
    m2 = nanmedian(windows[..., third : w - third], axis=-1)
    m3 = nanmedian(windows[..., w - third :], axis=-1)
    gap = (w - third) / 2.0  # distance between the centres of neighbouring thirds
    s1, s2 = (m2 - m1) / gap, (m3 - m2) / gap
    sd = np.asarray(scale)[(...,) + (None,) * (s1.ndim - np.ndim(scale))]
    step_se = sd * np.sqrt(np.pi / third) / gap
    agree = np.sign(s1) == np.sign(s2)
    slope = np.where(agree, np.sign(s1) * np.minimum(np.abs(s1), np.abs(s2)), 0.0)
    clear = agree & (np.minimum(np.abs(s1), np.abs(s2)) >= 2.0 * step_se)
    # a step in the middle third also puts its median half-way: a line spreads that third's points evenly (a MAD of
    # a quarter of its rise), a step splits them in two (a MAD of half the step), so a middle third spread much wider
    # than noise and the line together is a step, not a trend (weeks after a shift, carrying the step forward as a
    # slope would call the new level a shift the other way)
    if clear.any():  # (only where the steps are clear: the check costs two medians per window)
        sd_b = np.broadcast_to(sd, clear.shape)
        clear[clear] = _line_like(windows[clear], sd_b[clear], slope[clear], third)
    shared = 0.0
    if level is not None and windows.shape[0] >= MIN_PANEL:
        # the relative growth of the panel's largest series (its total, when the panel holds the root slice)
        size = np.abs(np.nan_to_num(level))
        top = np.expand_dims(size.argmax(axis=0), 0)
        with np.errstate(all="ignore"):
            growth = np.take_along_axis((s1 + s2) / 2.0, top, axis=0) / np.take_along_axis(size, top, axis=0)
        # only a total whose own growth is clear lends it (a step in the total is no growth of its slices)
        growth = np.where(np.take_along_axis(clear, top, axis=0), growth, 0.0)
        shared = np.nan_to_num(growth) * size
    return np.nan_to_num(np.where(clear, slope, shared))


def _line_like(windows: np.ndarray, sd: np.ndarray, slope: np.ndarray, third: int) -> np.ndarray:
    """Whether each window's middle third spreads no wider than noise and its slope make it (see `robust_slope`)."""
    middle = windows[..., third : windows.shape[-1] - third]
    line = np.hypot(sd, MAD_TO_SD * np.abs(slope) * middle.shape[-1] / 4.0)
    return ~(robust_scale(middle) > 2.0 * line)


def phase_of(start: int, n: int, period: int) -> np.ndarray:
    """Phase (position mod period) of n consecutive points starting at index `start`."""
    return (start + np.arange(n)) % max(period, 1)


class SeasonalBaseline(Detector):
    """Expected = recent robust level + weekday offset; z = (observed - expected) / robust residual sd.

    Args:
        period (int): season length in points (7 for daily data; 1 disables the season).
        level_window (int): trailing points whose median gives the current (deseasonalized) level.
        z_band (float): half-width of the expected band in residual sds.
        min_rel_scale (float): residual sd floor as a share of the level, so constant series do not divide by 0.
        df (float): degrees of freedom of the Student t the z is judged by: the level, offsets and sd are estimated
            from a few weeks, so normal tails would be overconfident across thousands of slices.
        shared_growth (bool): the panel is a volume's slices, growing with the total (see `robust_slope`).
    """

    name = "seasonal"

    def __init__(
        self,
        *,
        period: int = 7,
        level_window: int = 14,
        z_band: float = 4.0,
        min_rel_scale: float = 0.005,
        df: float = 10.0,
        shared_growth: bool = False,
    ):
        self.df = df
        self.shared_growth = shared_growth
        self.period = period
        self.level_window = level_window
        self.z_band = z_band
        self.min_rel_scale = min_rel_scale

    def fit(
        self, history: np.ndarray, *, denominators: np.ndarray | None = None, calendar_mask: np.ndarray | None = None
    ) -> Self:
        """Learn weekday offsets, the current level and the residual sd of each series."""
        panel, self.offsets_, deseason = deseasonalize(history, calendar_mask, self.period)
        self.n_time_ = panel.shape[1]
        # the level of the last days, carried forward along a steady (robust) slope so growth is not an anomaly
        with np.errstate(all="ignore"):
            self.level_ = nanmedian(deseason[:, -self.level_window :], axis=1)
        # noise: day-to-day sd, or the spread of recent days around their level when the level wanders more
        recent = deseason[:, -2 * self.level_window :]
        noise = np.maximum(diff_scale(deseason), scale_floor(self.level_, self.min_rel_scale))
        noise = np.maximum(noise, robust_scale(recent - nanmedian(recent, axis=1, keepdims=True), axis=1))
        self.slope_ = robust_slope(
            deseason[:, -2 * self.level_window :], noise, self.level_ if self.shared_growth else None
        )
        n_level = np.isfinite(deseason[:, -self.level_window :]).sum(axis=1)
        # estimated level and weekday offsets widen the band: var(median) ~ pi/2 * sd^2 / n
        n_weeks = max(self.n_time_ // max(self.period, 1), 1) if self.period > 1 else np.inf
        inflate = np.sqrt(1.0 + np.pi / 2.0 / np.maximum(n_level, 1) + np.pi / 2.0 / n_weeks)
        self.scale_ = noise * inflate
        self.valid_ = (np.isfinite(panel).sum(axis=1) >= self.min_history) & (n_level > 0)
        return self

    def score(
        self, new: np.ndarray, *, denominators: np.ndarray | None = None, calendar_mask: np.ndarray | None = None
    ) -> Scores:
        """Robust z of each new point against level + weekday offset."""
        new = as_panel(new, "new")
        ahead = (self.level_window + 1) / 2.0 + np.arange(new.shape[1])  # from the level window's centre
        expected = self.level_[:, None] + self.slope_[:, None] * ahead[None, :]
        expected = expected + self.offsets_[:, phase_of(self.n_time_, new.shape[1], self.period)]
        scale = np.broadcast_to(self.scale_[:, None], new.shape)
        valid = self.valid_[:, None] & np.isfinite(new) & np.isfinite(expected)
        with np.errstate(all="ignore"):
            z = (new - expected) / scale
        return finish(z, expected, scale, valid, self.z_band, SPIKE, DIP, self.df)
