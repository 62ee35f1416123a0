"""The metric catalog and cube queries: series of a metric in a slice, and its breakdown along a dimension."""

from __future__ import annotations

import datetime as dt
import math

from fastapi import APIRouter, HTTPException, Query

from ecoradar.errors import EcoradarError, NotFound
from ecoradar.metrics.loader import Catalog
from ecoradar.report.ecosystem import parse_scope
from ecoradar.web.deps import CatalogDep, CubeDep, Viewer
from ecoradar.web.models import Breakdown, BreakdownRow, CubePoint, CubeSeries, MetricPublic, MetricsPublic

router = APIRouter(prefix="/metrics", tags=["metrics"])


def _num(value) -> float | None:
    """A float JSON can carry (NaN and missing become None)."""
    return None if value is None or (isinstance(value, float) and not math.isfinite(value)) else float(value)


def catalog_metrics(catalog: Catalog) -> list[MetricPublic]:
    """The catalog as API models."""
    return [
        MetricPublic(
            name=m.name,
            description=m.description,
            category=m.category,
            kind=m.kind,
            unit=m.unit,
            direction=m.direction,
            dimensions=list(m.dimensions),
            owner=m.owner,
        )
        for m in catalog.values()
    ]


@router.get("", response_model=MetricsPublic)
def list_metrics(catalog: CatalogDep, _user: Viewer, category: str | None = None) -> MetricsPublic:
    """Every metric of the catalog (optionally of one category)."""
    data = [m for m in catalog_metrics(catalog) if category is None or m.category == category]
    return MetricsPublic(data=data, count=len(data))


@router.get("/{name}", response_model=MetricPublic)
def read_metric(name: str, catalog: CatalogDep, _user: Viewer) -> MetricPublic:
    """One metric's definition."""
    found = next((m for m in catalog_metrics(catalog) if m.name == name), None)
    if found is None:
        raise HTTPException(404, detail="Metric not found")
    return found


@router.get("/{name}/series", response_model=CubeSeries)
def metric_series(
    name: str,
    cube: CubeDep,
    _user: Viewer,
    slice: str = Query("", description="dim=value,dim=value; empty for the whole platform"),
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> CubeSeries:
    """Daily values of a metric in one slice, from the cube."""
    try:
        scope = parse_scope(slice)
        df = cube.series([name], scope, date_from, date_to)
    except NotFound as exc:
        raise HTTPException(404, detail=str(exc)) from None
    except EcoradarError as exc:
        raise HTTPException(400, detail=str(exc)) from None
    points = [
        CubePoint(date=r.date, value=_num(r.value), numerator=_num(r.numerator), denominator=_num(r.denominator))
        for r in df.itertuples(index=False)
    ]
    return CubeSeries(metric=name, scope=scope, data=points, count=len(points))


@router.get("/{name}/breakdown", response_model=Breakdown)
def metric_breakdown(
    name: str,
    cube: CubeDep,
    _user: Viewer,
    by: str,
    slice: str = "",
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> Breakdown:
    """A metric's value per child slice along `by` (ratios re-derived from summed numerators/denominators)."""
    try:
        scope = parse_scope(slice)
        span = cube.date_range()
        if span is None:
            raise HTTPException(404, detail="The cube is empty")
        date_to = date_to or span[1]
        date_from = date_from or date_to - dt.timedelta(days=6)
        df = cube.breakdown(name, scope, by, date_from, date_to)
    except NotFound as exc:
        raise HTTPException(404, detail=str(exc)) from None
    except EcoradarError as exc:
        raise HTTPException(400, detail=str(exc)) from None
    rows = [
        BreakdownRow(
            key=str(r.key),
            value=_num(r.value),
            numerator=_num(r.numerator),
            denominator=_num(r.denominator),
            days=int(r.days),
        )
        for r in df.itertuples(index=False)
    ]
    return Breakdown(metric=name, scope=scope, by=by, date_from=date_from, date_to=date_to, data=rows, count=len(rows))
