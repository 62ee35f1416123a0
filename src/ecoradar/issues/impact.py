"""Did the fix work? The causal impact of an issue's fix on its metric, in its scope, stored on the issue.

The target is the issue's metric in the issue's slice; controls are slices the issue did not touch (by default
the siblings of its slice along each of its dimensions, the best five by pre-period fit). The pre-period is the
broken stretch, from the issue's start to the day before the fix, so the counterfactual is "the problem went on";
the baseline (for recovered vs partially recovered) is the level forecast from the days before the issue started.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pandas as pd
from sqlalchemy.engine import make_url

from ecoradar.data.schema import DIMENSIONS
from ecoradar.errors import InputError
from ecoradar.impact import choose_controls, estimate_impact
from ecoradar.impact.records import ImpactResult
from ecoradar.issues import service
from ecoradar.metrics.cube import read_cube
from ecoradar.store.engine import open_store, resolve_url
from ecoradar.store.models import Issue

#: Controls kept by automatic selection.
AUTO_CONTROLS = 5
#: Days before the issue needed to forecast its no-issue level; fewer fall back to their mean.
AUTO_BASELINE_DAYS = 8
ACTOR = "ecoradar-impact"


def resolve_data(data: str | Path | None, db_url: str) -> Path:
    """The data folder holding the cube: `data`, $ECORADAR_DATA, the SQLite store's folder, or the working folder."""
    if data is not None:
        if not (Path(data) / "cube").is_dir():
            raise InputError(f"no metric cube under {str(data)!r} (run `ecoradar run --data {data}` first)")
        return Path(data)
    candidates = [os.environ.get("ECORADAR_DATA")]
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite" and url.database:
        candidates.append(Path(url.database).resolve().parent)
    candidates.append(Path.cwd())
    for folder in candidates:
        if folder and (Path(folder) / "cube").is_dir():
            return Path(folder)
    raise InputError("cannot find the metric cube: pass data=DIR, or set ECORADAR_DATA to the data folder")


def parse_controls(text: str) -> list[dict[str, str]]:
    """'region=US;region=BR,format=photo' -> [{'region': 'US'}, {'region': 'BR', 'format': 'photo'}]."""
    slices = []
    for part in filter(None, (p.strip() for p in text.split(";"))):
        scope = {}
        for item in filter(None, (i.strip() for i in part.split(","))):
            dim, sep, value = item.partition("=")
            if not sep or not value or dim.strip() not in DIMENSIONS:
                raise InputError(
                    f"bad control slice {part!r}: use dim=value[,dim=value];... with dimensions from "
                    f"{', '.join(DIMENSIONS)}"
                )
            scope[dim.strip()] = value.strip()
        slices.append(scope)
    if not slices:
        raise InputError("--controls is empty: use auto or dim=value;...")
    return slices


def _name(scope: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(scope.items())) or "platform"


def _series(frame: pd.DataFrame, dims: list[str]) -> dict[str, pd.Series]:
    """One value series per slice of the metric's cube rows, keyed by the slice's name (as _name writes it)."""
    label = pd.Series("", index=frame.index, dtype="string")
    for d in sorted(dims):
        label = label + (("," + d + "=") + frame[d].astype("string")).fillna("")
    label = label.str.lstrip(",").replace("", "platform")
    values = frame.assign(_slice=label, _date=pd.to_datetime(frame["date"]))
    return {
        str(name): rows.set_index("_date")["value"].astype(float).sort_index()
        for name, rows in values.groupby("_slice", sort=True)
    }


def _auto_controls(scope: dict[str, str], names: set[str]) -> list[dict[str, str]]:
    """Siblings of the slice along each of its dimensions that exist in the cube."""
    if not scope:
        raise InputError("no control slices for a platform-wide issue: give --controls dim=value;...")
    out = []
    for name in sorted(names):
        other = dict(item.split("=", 1) for item in name.split(",")) if name != "platform" else {}
        if other.keys() == scope.keys() and sum(other[d] != scope[d] for d in scope) == 1:
            out.append(other)
    if not out:
        raise InputError(f"no usable controls: the cube has no sibling slice of {_name(scope)}")
    return out


def issue_impact(
    issue_id: int | str,
    *,
    fix_date: dt.date | str | None = None,
    controls: str | list[dict[str, str]] | None = "auto",
    db: str | None = None,
    data: str | Path | None = None,
    estimator: str = "bsts_adaptive",
    placebo: int = 0,
) -> ImpactResult:
    """Estimate the effect of the issue's fix and store it on the issue (impact JSON + an impact activity).

    Args:
        issue_id: ECO-1A3 or the issue number.
        fix_date: when the fix shipped (default: the issue's fix date).
        controls: "auto" (sibling slices, best AUTO_CONTROLS by pre-period fit), "dim=value;..." or a list of scopes.
        db: store URL (see open_store).
        data: data folder with the cube (default: see resolve_data).
        estimator: impact estimator name (default "bsts_adaptive": its intervals hold their coverage when the
            metric drifts, see bench/bench_impact_placebo.py; "bsts" or "did" also work).
        placebo: placebo fix dates in the pre-period.

    Returns:
        ImpactResult: the estimate, its verdict and the chart series.

    Raises:
        InputError: no fix date, a fix date before the issue or after the data, too short a pre-period, no controls.
        NotFound: unknown issue.
    """
    store = open_store(db)
    try:
        with store.session() as session:
            issue = service.get_issue(session, issue_id)
            result = _estimate(issue, fix_date, controls, resolve_data(data, resolve_url(db)), estimator, placebo)
            stored = result.to_dict() | {
                "fix_date": issue.fix_date.isoformat() if fix_date is None else str(fix_date),
                "summary": f"{result.verdict}: {result.verdict_reason}",
            }
            service.record_impact(session, issue, stored, actor=ACTOR)
        return result
    finally:
        store.close()


def _estimate(issue: Issue, fix_date, controls, data: Path, estimator: str, placebo: int) -> ImpactResult:
    if isinstance(fix_date, str):
        try:
            fix_date = dt.date.fromisoformat(fix_date)
        except ValueError:
            raise InputError(f"fix date {fix_date!r} is not a date; use YYYY-MM-DD") from None
    fix = fix_date or issue.fix_date
    if fix is None:
        raise InputError(f"issue {issue.short_id} has no fix date: give one (--fix-date YYYY-MM-DD)")
    if fix <= issue.start_date:
        raise InputError(f"fix date {fix} is not after issue {issue.short_id} started ({issue.start_date})")
    frame = read_cube(data, metrics=[issue.metric]).to_pandas()
    if frame.empty:
        raise InputError(f"the cube under {str(data)!r} has no rows of metric {issue.metric!r}")
    dims = [d for d in DIMENSIONS if d in frame.columns]
    series = _series(frame, dims)
    target_name = _name(issue.scope)
    if target_name not in series:
        raise InputError(f"the cube has no series of {issue.metric!r} for {target_name}")
    y = series[target_name]
    last = y.index.max().date()
    if fix > last:
        raise InputError(f"fix date {fix} is after the data (last day {last})")
    wanted = (
        _auto_controls(issue.scope, set(series))
        if controls in (None, "auto")
        else (parse_controls(controls) if isinstance(controls, str) else list(controls))
    )
    missing = [_name(s) for s in wanted if _name(s) not in series]
    if missing:
        raise InputError(f"control slice {missing[0]} has no series of {issue.metric!r} in the cube")
    candidates = pd.DataFrame({_name(s): series[_name(s)] for s in wanted}).reindex(y.index)
    pre = (pd.Timestamp(max(issue.start_date, y.index.min().date())), pd.Timestamp(fix - dt.timedelta(days=1)))
    post = (pd.Timestamp(fix), y.index.max())
    if controls in (None, "auto") and candidates.shape[1] > AUTO_CONTROLS:
        candidates = candidates[choose_controls(y, candidates, pre_period=pre, k=AUTO_CONTROLS)]
    before = y[y.index < pd.Timestamp(issue.start_date)]
    return estimate_impact(
        y,
        candidates,
        pre_period=pre,
        post_period=post,
        estimator=estimator,
        good_direction="up" if issue.direction == "down" else "down",
        # "auto" forecasts the no-issue level from the whole history before the issue, so "back to normal"
        # follows platform drift; a short history falls back to its mean
        baseline="auto" if len(before) >= AUTO_BASELINE_DAYS else (float(before.mean()) if len(before) else None),
        placebo=placebo,
    )
