"""The detector family: one interface (fit on history, score new points) over a whole panel of series."""

from __future__ import annotations

import importlib
import warnings
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import ClassVar, Self

import numpy as np
from scipy import stats

from ecoradar.errors import InputError, unknown

#: Kind codes of `Scores.kind`, index into KINDS.
KINDS: tuple[str, ...] = ("none", "spike", "dip", "level_shift", "trend")
SPIKE, DIP, LEVEL_SHIFT, TREND = 1, 2, 3, 4

#: Consistency constant: MAD * 1.4826 estimates the standard deviation of a normal sample.
MAD_TO_SD = 1.4826

_REGISTRY: dict[str, type[Detector]] = {}

#: Modules of the built-in detectors, imported on first lookup (the package no longer imports them eagerly,
#: so that `ecoradar --help` stays fast).
BUILTINS = (
    "ecoradar.detect.level_shift",
    "ecoradar.detect.ratio",
    "ecoradar.detect.robust_z",
    "ecoradar.detect.seasonal",
    "ecoradar.detect.trend",
    "ecoradar.detect.novelty",
)


def _load_builtins() -> None:
    for module in BUILTINS:
        importlib.import_module(module)


@dataclass(frozen=True)
class Scores:
    """Per-point judgement of a panel: every array is [n_series, n_new]."""

    score: np.ndarray
    """Strength in [0, 1] (monotone in the p-value: 0.5 at p = 1e-3); 0 where not judged."""
    p_value: np.ndarray
    """Two-sided p-value; 1 where not judged (never NaN)."""
    expected: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    kind: np.ndarray
    """int8 codes into KINDS (0 = not anomalous in any direction)."""
    valid: np.ndarray
    """Whether the point could be judged (enough clean history, observed value present)."""
    start: np.ndarray | None = None
    """For level shifts and trends: index (relative to the first new point, may be negative) of the change."""


class Detector(ABC):
    """Fit on a panel of history, then score the points that follow it.

    Every tunable is an explicit keyword of `__init__` (no *args/**kwargs); subclasses set `name`, which registers
    them. Arrays are float panels [n_series, n_time] with NaN for missing points; `calendar_mask` is a bool array
    [n_time] or [n_series, n_time] that marks days (holidays) to leave out of the baseline.
    """

    name: ClassVar[str]
    """Registry id, e.g. "seasonal"."""
    min_history: ClassVar[int] = 14
    """Fewer clean history points than this and a series is not judged."""

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        if "name" in cls.__dict__:
            _REGISTRY[cls.name] = cls

    @abstractmethod
    def fit(
        self, history: np.ndarray, *, denominators: np.ndarray | None = None, calendar_mask: np.ndarray | None = None
    ) -> Self:
        """Learn each series' expectation from its history [n_series, n_time]; returns self."""

    @abstractmethod
    def score(
        self, new: np.ndarray, *, denominators: np.ndarray | None = None, calendar_mask: np.ndarray | None = None
    ) -> Scores:
        """Judge the points [n_series, n_new] that directly follow the fitted history."""

    def fit_score(
        self,
        history: np.ndarray,
        new: np.ndarray,
        *,
        denominators: tuple[np.ndarray, np.ndarray] | None = None,
        calendar_mask: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> Scores:
        """fit(history) then score(new); denominators and masks come as (history part, new part)."""
        dh, dn = denominators if denominators is not None else (None, None)
        mh, mn = calendar_mask if calendar_mask is not None else (None, None)
        return self.fit(history, denominators=dh, calendar_mask=mh).score(new, denominators=dn, calendar_mask=mn)


def get_detector(name: str) -> type[Detector]:
    """Return the detector class registered under `name`.

    Raises:
        NotFound: no detector has that name (the message suggests the closest one).
    """
    _load_builtins()
    if name not in _REGISTRY:
        raise unknown("detector", name, _REGISTRY)
    return _REGISTRY[name]


def detector_names() -> list[str]:
    """Names of every registered detector, sorted."""
    _load_builtins()
    return sorted(_REGISTRY)


# -- shared helpers ------------------------------------------------------------------------------------------------


def nanmedian(a: np.ndarray, axis: int = -1, keepdims: bool = False) -> np.ndarray:
    """Median ignoring NaN along `axis` (NaN where a row has no value), by one vectorized sort.

    np.nanmedian falls back to masked arrays or a per-row loop when NaNs are present, and np.median is slow on
    many short rows; sorting puts NaN last, so the median sits at the middle of each row's finite prefix.
    """
    a = np.moveaxis(np.asarray(a, dtype=float), axis, -1)
    srt = np.sort(a, axis=-1)  # NumPy 2's SIMD sort beats np.median's partition on short rows
    n = np.isfinite(srt).sum(axis=-1, keepdims=True)
    lo = np.take_along_axis(srt, np.maximum((n - 1) // 2, 0), axis=-1)
    hi = np.take_along_axis(srt, np.maximum(n // 2, 0), axis=-1)
    med = np.where(n > 0, (lo + hi) / 2.0, np.nan)
    med = med if keepdims else med[..., 0]
    return np.moveaxis(med, -1, axis) if keepdims else med


@contextmanager
def quiet_nan() -> Iterator[None]:
    """Silence NumPy's all-NaN and divide warnings: series without data are marked invalid, not warned about."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def as_panel(values: np.ndarray, what: str = "history") -> np.ndarray:
    """Return a float 2-D copy; a 1-D series becomes a panel of one.

    Raises:
        InputError: not 1-D or 2-D.
    """
    arr = np.asarray(values, dtype=float)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise InputError(f"{what} must be a [n_series, n_time] array, got shape {arr.shape}")
    return arr.copy()


def apply_mask(panel: np.ndarray, calendar_mask: np.ndarray | None) -> np.ndarray:
    """Set masked (holiday) points to NaN so that baselines ignore them."""
    if calendar_mask is None:
        return panel
    mask = np.broadcast_to(np.asarray(calendar_mask, dtype=bool), panel.shape)
    return np.where(mask, np.nan, panel)


def p_to_score(p: np.ndarray) -> np.ndarray:
    """Map p-values to scores in [0, 1]: L / (L + 3) with L = -log10 p, so p = 1e-3 gives 0.5."""
    logp = np.maximum(-np.log10(np.clip(p, 1e-300, 1.0)), 0.0)
    return logp / (logp + 3.0)


def two_sided_p(z: np.ndarray, df: float | None = None) -> np.ndarray:
    """Two-sided p-value of z, normal or Student t with `df` degrees of freedom (NaN becomes 1)."""
    dist = stats.norm if df is None else stats.t(df)
    return np.where(np.isfinite(z), 2.0 * dist.sf(np.abs(np.nan_to_num(z))), 1.0)


def robust_scale(resid: np.ndarray, axis: int = -1, floor: np.ndarray | float = 0.0) -> np.ndarray:
    """MAD-based standard deviation along `axis`, ignoring NaN, never below `floor`."""
    with np.errstate(all="ignore"):
        med = nanmedian(resid, axis=axis, keepdims=True)
        mad = nanmedian(np.abs(resid - med), axis=axis)
    return np.maximum(np.nan_to_num(mad * MAD_TO_SD, nan=0.0), floor)


def scale_floor(level: np.ndarray, rel: float = 0.01, absolute: float = 1e-9) -> np.ndarray:
    """Smallest scale a residual sd may take: constant series get a tolerance instead of a zero division."""
    return np.maximum(np.abs(np.nan_to_num(level)) * rel, absolute)


def binomial_floor(rates: np.ndarray, denominators: np.ndarray | None) -> np.ndarray | float:
    """Sampling sd of a proportion at its typical level and trials: no rate is known more precisely than that.

    0 when there are no denominators (the metric is not a proportion).
    """
    if denominators is None:
        return 0.0
    trials = nanmedian(np.where(np.asarray(denominators) > 0, denominators, np.nan), axis=1)
    trials = np.where(np.isfinite(trials) & (trials > 0), trials, 1.0)
    p = np.clip(np.nan_to_num(nanmedian(rates, axis=1)), 0.5 / trials, 1 - 0.5 / trials)
    return np.sqrt(p * (1 - p) / trials)


def point_sd(rates: np.ndarray, denominators: np.ndarray) -> np.ndarray:
    """Sampling sd of each point of a proportion panel at its own rate and trials (NaN where it has none)."""
    with np.errstate(all="ignore"):
        trials = np.where(np.asarray(denominators) > 0, denominators, np.nan)
        p = np.clip(rates, 0.5 / trials, 1 - 0.5 / trials)
        return np.sqrt(p * (1 - p) / trials)


def finish(
    z: np.ndarray,
    expected: np.ndarray,
    scale: np.ndarray,
    valid: np.ndarray,
    z_band: float,
    kind_up: int,
    kind_down: int,
    df: float | None = None,
) -> Scores:
    """Turn z-scores into Scores: p-values (t with `df` if given), bands, kinds; invalid points get p = 1, score 0."""
    z = np.where(valid, z, 0.0)
    p = np.where(valid, two_sided_p(z, df), 1.0)
    kind = np.where(~valid | (z == 0), 0, np.where(z > 0, kind_up, kind_down)).astype(np.int8)
    expected = np.where(valid, expected, np.nan)
    return Scores(
        score=np.where(valid, p_to_score(p), 0.0),
        p_value=p,
        expected=expected,
        lower=expected - z_band * scale,
        upper=expected + z_band * scale,
        kind=kind,
        valid=valid,
    )
