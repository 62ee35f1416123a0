"""One series from any table: per-row anomaly score and alarm flag (what `ecoradar detect-series` prints)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from ecoradar.detect.base import quiet_nan
from ecoradar.detect.novelty import Novelty
from ecoradar.detect.robust_z import RobustZ
from ecoradar.errors import InputError

log = logging.getLogger(__name__)

#: Fewer usable rows than this and a series is not scored (every row gets reason "short_series").
MIN_ROWS = 8


def default_series_detector() -> Novelty:
    """The default single-series detector, with the one global configuration used on NAB."""
    return Novelty()


def read_series_csv(path: Path, value_col: str, time_col: str | None = None) -> pd.DataFrame:
    """Read a CSV and check that the named columns exist.

    Raises:
        InputError: the file is missing or unreadable, or a column is not in it.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"CSV file {str(path)!r} does not exist")
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {str(path)!r} as CSV: {exc}") from None
    for col in (value_col, time_col):
        if col is not None and col not in frame.columns:
            raise InputError(f"column {col!r} is not in {path.name}; columns: {', '.join(map(str, frame.columns))}")
    return frame


def detect_series(
    frame: pd.DataFrame,
    *,
    value_col: str,
    time_col: str | None = None,
    online: bool = False,
    detector: Novelty | RobustZ | None = None,
) -> pd.DataFrame:
    """Score every row of one series.

    Args:
        frame: the table holding the series, one row per point, in time order (sorted by `time_col` if given).
        value_col: numeric column to judge; values that do not parse as numbers count as missing.
        time_col: optional column shown beside each row.
        online: judge each row from the rows before it only (causal), as streaming and NAB require.
        detector: defaults to `default_series_detector()`.

    Returns:
        DataFrame with columns row, time, score (in [0, 1], never NaN), alarm (bool), reason ('' when scored,
        else why not: missing, short_series, constant, warmup).
    """
    detector = detector or default_series_detector()
    if time_col is not None:
        frame = frame.assign(_t=pd.to_datetime(frame[time_col], errors="coerce")).sort_values("_t", kind="stable")
    values = pd.to_numeric(frame[value_col], errors="coerce").to_numpy(dtype=float, na_value=np.nan, copy=True)
    values[~np.isfinite(values)] = np.nan
    n = len(values)
    out = pd.DataFrame(
        {
            "row": frame.index.to_numpy(),
            "time": frame[time_col].astype(str).to_numpy() if time_col else frame.index.astype(str).to_numpy(),
            "score": np.zeros(n),
            "alarm": np.zeros(n, dtype=bool),
            "reason": np.full(n, "", dtype=object),
        }
    )
    present = np.isfinite(values)
    if present.sum() < MIN_ROWS:
        out["reason"] = "short_series" if present.any() else "missing"
        log.warning("series %s: %d usable rows, need %d; not scored", value_col, int(present.sum()), MIN_ROWS)
        return out
    with quiet_nan():
        scores = detector.stream(values, causal=online)
    score = np.nan_to_num(scores.score[0], nan=0.0)
    out["score"] = score
    out["alarm"] = score >= detector.alarm_score
    reasons = np.where(~present, "missing", np.where(~scores.valid[0], "warmup", ""))
    if np.nanmax(values) == np.nanmin(values):
        reasons = np.where(reasons == "", "constant", reasons)
    out["reason"] = reasons
    return out
