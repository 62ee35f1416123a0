"""Mix vs rate: split a rate metric's change along one dimension into traffic mix and within-segment rates.

Kitagawa's symmetric decomposition: with segment weights w (share of the denominator) and rates r,
    R1 - R0 = sum (w1 - w0) * (r0 + r1) / 2  +  sum (r1 - r0) * (w0 + w1) / 2
              `------- mix effect -------'     `------ rate effect -------'
and the two parts add up to the total exactly. A segment absent in one period takes its rate from the other, so
its appearance or disappearance is pure mix.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ecoradar.errors import DataError
from ecoradar.explain.records import MixRateSplit

#: Share of |mix| + |rate| above which one effect labels the change ('mix_shift' or 'rate_change').
DOMINANT_SHARE = 0.7
#: A rate effect beyond this many noise units of the rate is a real one (~ 2 sigma).
SIGNIFICANT = 2.0
#: A mix effect beyond this many units of its ordinary wander is a real one (3 sigma: the largest of a few).
MIX_SIGNIFICANT = 3.0

COLUMNS = ("num_before", "den_before", "num_after", "den_after")


def label(mix: float, rate: float, dominant: float = DOMINANT_SHARE, noise: float = 0.0, mix_noise: float = 0.0) -> str:
    """'mix_shift' when |mix| is at least `dominant` of |mix| + |rate|, 'rate_change' when |rate| is, else 'mixed'.

    With the noise of both effects known (> 0, in the rate's units: `noise` of the rate effect, the rate's
    sampling noise; `mix_noise` of the mix effect, its wander on ordinary days), an effect names the change only
    when it is clear (beyond SIGNIFICANT noise units for the rate, MIX_SIGNIFICANT for the mix: a bar for the
    largest of several dimensions). A clear effect beside one within its noise labels the change whatever their
    shares (a mix shift is traffic that moved while no within-segment rate did), as long as it is the larger;
    otherwise the shares decide among the clear effects, and a change with none is 'mixed'.
    """
    by_share = _by_share(mix, rate, dominant)
    if noise <= 0 or mix_noise <= 0:
        return by_share
    clear_mix, clear_rate = abs(mix) >= MIX_SIGNIFICANT * mix_noise, abs(rate) >= SIGNIFICANT * noise
    if clear_mix != clear_rate:
        larger = abs(mix) >= abs(rate) if clear_mix else abs(rate) >= abs(mix)
        return ("mix_shift" if clear_mix else "rate_change") if larger else "mixed"
    if by_share == "mix_shift" and clear_mix or by_share == "rate_change" and clear_rate:
        return by_share
    return "mixed"


def _by_share(mix: float, rate: float, dominant: float) -> str:
    """The label by the effects' shares of |mix| + |rate| alone."""
    scale = abs(mix) + abs(rate)
    if scale == 0:
        return "mixed"
    if abs(mix) >= dominant * scale:
        return "mix_shift"
    if abs(rate) >= dominant * scale:
        return "rate_change"
    return "mixed"


def mix_rate_split(
    segments: pd.DataFrame,
    dimension: str,
    *,
    dominant: float = DOMINANT_SHARE,
    noise: float = 0.0,
    mix_noise: float = 0.0,
) -> MixRateSplit:
    """Decompose the change of a rate over the segments of one dimension.

    Args:
        segments (pandas.DataFrame): one row per segment with num_before, den_before, num_after, den_after.
        dimension (str): the dimension the segments split (for the record).
        dominant (float): share of |mix| + |rate| that labels the change.
        noise (float): sampling noise (one sigma) of the after-period rate, 0 when unknown (see `label`).
        mix_noise (float): spread (one sigma) of the mix effect on ordinary days, 0 when unknown.

    Returns:
        MixRateSplit: total change of the rate, its mix and rate parts, and the label.

    Raises:
        DataError: a column is missing or a period has no denominator.

    Example:
        >>> seg = pd.DataFrame({"num_before": [10, 40], "den_before": [100, 100],
        ...                     "num_after": [5, 60], "den_after": [50, 150]})
        >>> s = mix_rate_split(seg, "region")
        >>> round(s.mix_effect, 3), round(s.rate_effect, 3), s.label
        (0.075, 0.0, 'mix_shift')
    """
    parts = segment_parts(segments, dimension)
    mix, rate = float(parts["mix"].sum()), float(parts["rate"].sum())
    n0, d0, n1, d1 = (segments[c].to_numpy(float) for c in COLUMNS)
    total = float(n1.sum() / d1.sum() - n0.sum() / d0.sum())
    named = label(mix, rate, dominant, noise, mix_noise)
    return MixRateSplit(dimension, total, mix, rate, named)  # type: ignore[arg-type]


def segment_parts(segments: pd.DataFrame, dimension: str) -> pd.DataFrame:
    """Per segment: its traffic share before and after, and its part of the mix and of the rate effect.

    Raises:
        DataError: a column is missing or a period has no denominator.
    """
    for col in COLUMNS:
        if col not in segments.columns:
            raise DataError(f"mix/rate segments need column {col!r}")
    n0, d0, n1, d1 = (segments[c].to_numpy(float) for c in COLUMNS)
    if d0.sum() <= 0 or d1.sum() <= 0:
        raise DataError(f"mix/rate along {dimension!r}: a period has no denominator")
    w0, w1 = d0 / d0.sum(), d1 / d1.sum()
    r0 = np.divide(n0, d0, out=np.full_like(n0, np.nan), where=d0 > 0)
    r1 = np.divide(n1, d1, out=np.full_like(n1, np.nan), where=d1 > 0)
    r0, r1 = np.where(np.isnan(r0), r1, r0), np.where(np.isnan(r1), r0, r1)
    r0, r1 = np.nan_to_num(r0), np.nan_to_num(r1)
    return pd.DataFrame(
        {"w_before": w0, "w_after": w1, "mix": (w1 - w0) * (r0 + r1) / 2, "rate": (r1 - r0) * (w0 + w1) / 2},
        index=segments.index,
    )
