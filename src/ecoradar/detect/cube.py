"""Detection over a whole metric cube: panels per metric, detectors, BH per day, hierarchy pruning, records."""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from ecoradar.data.schema import DIMENSIONS
from ecoradar.detect.base import KINDS, Detector, Scores, get_detector, quiet_nan
from ecoradar.detect.multitest import bh_qvalues, rescale_p
from ecoradar.detect.records import Anomaly
from ecoradar.errors import DataError
from ecoradar.metrics.model import Metric

log = logging.getLogger(__name__)

#: Detectors run on every metric; the first one is swapped for `ratio` on metrics that are proportions.
DEFAULT_DETECTORS: tuple[str, ...] = ("seasonal", "level_shift", "trend")
#: A slice-day fires when its q-value (BH across every slice tested that day) is at most this.
DEFAULT_ALPHA = 1e-4
#: Smallest share of the platform's metric a reported change must amount to.
DEFAULT_MIN_IMPACT = 0.005
#: A slice of two or more dims is judged only when one of its one-dim parents moved the same way at this p (gate).
GATE_P = 0.01
#: A fired child whose own deviation accounts for at least this share of its fired parent's replaces the parent
EXPLAIN_SHARE = 2 / 3
#: ... and at least this much more than the child's own share of the parent (else the change is proportional: broad).
CONCENTRATION = 0.2

#: Metric kinds that are volumes: their slices grow with the platform (detectors follow the total's growth).
VOLUME_KINDS = ("count", "sum", "distinct_count")
#: Metric kinds whose slices filter one population: a change inside a slice shows, diluted, in every slice it overlaps.
FILTER_KINDS = (*VOLUME_KINDS, "ratio", "mean")

#: Dimensions whose values come and go with rollouts (a count in such a slice rises and falls with adoption).
ROLLOUT_DIMS = ("app_version", "model_version")

_CUBE_COLUMNS = ("metric", "date", *DIMENSIONS, "numerator", "denominator", "value")


@dataclass(frozen=True)
class DetectionResult:
    """What detection hands on: typed records, skip counts by reason, and the same records as an Arrow table."""

    anomalies: list[Anomaly]
    skipped: dict[str, int]
    """Reason -> number of slice-days not judged (below_min_denominator, short_history, missing, holiday, ...)."""
    table: pa.Table
    tested: int = 0
    """Slice-days judged."""


def detect_cube(
    cube: pa.Table | pd.DataFrame,
    metrics: Mapping[str, Metric],
    *,
    date_from: dt.date,
    date_to: dt.date,
    events: pd.DataFrame | None = None,
    history_days: int = 56,
    alpha: float = DEFAULT_ALPHA,
    min_impact: float = DEFAULT_MIN_IMPACT,
    gate_p: float | None = GATE_P,
) -> DetectionResult:
    """Find anomalies on the days date_from..date_to of every slice of every metric in `metrics`.

    Args:
        cube: rows (metric, date, dims..., numerator, denominator, value); a NULL dim means "all".
        metrics: metric name -> definition (is_ratio, min_denominator, sensitivity, kind).
        date_from: first day judged.
        date_to: last day judged (inclusive).
        events: the events table; rows of kind 'holiday' are left out of baselines and not judged.
        history_days: days before each judged day that form its baseline.
        alpha: BH level across all slice-days tested on one day.
        min_impact: a significant change that amounts to less than this share of the whole platform's metric
            (see `_impact`) is not reported (counted as skipped "immaterial"): small slices drift all the time.
        gate_p: a slice of two or more dims is judged only when one of its one-dim parents moved the same way
            with p_adj <= gate_p (see `gate_hierarchy`; counted as skipped "gated"); None judges every slice.

    Returns:
        DetectionResult with anomalies ranked by q-value, then score.

    Raises:
        DataError: the cube lacks a required column.
    """
    df = cube.to_pandas() if isinstance(cube, pa.Table) else cube
    missing = [c for c in ("metric", "date", "value") if c not in df.columns]
    if missing:
        raise DataError(f"the cube lacks column(s) {missing}; expected {list(_CUBE_COLUMNS)}")
    dims = [d for d in DIMENSIONS if d in df.columns]
    start = pd.Timestamp(date_from) - pd.Timedelta(days=history_days)
    dates = pd.to_datetime(df["date"]).dt.normalize()
    wanted = [*metrics, *(m.effective_n for m in metrics.values() if m.effective_n)]
    keep = df["metric"].isin(wanted) & (dates >= start) & (dates <= pd.Timestamp(date_to))
    df = df.loc[keep].assign(date=dates[keep])
    days = pd.date_range(start, pd.Timestamp(date_to), freq="D")
    holidays = holiday_mask(events, days)
    skipped: Counter[str] = Counter()
    frames = []
    tested: Counter[dt.date] = Counter()  # slice-days judged per day: the BH family size
    level = max(alpha, gate_p or 0.0)  # candidates down to the gate's level: parents' evidence for the gate
    by_metric = dict(tuple(df.groupby("metric", sort=True)))  # one pass: an effective_n source serves five metrics
    for name, rows in by_metric.items():
        if name not in metrics or not metrics[name].detect:
            continue
        if metrics[name].effective_n:
            rows = with_effective_n(rows, by_metric.get(metrics[name].effective_n, df.iloc[:0]), dims)
        frames.append(
            detect_metric(rows, metrics[name], dims, days, holidays, history_days, date_from, skipped, tested, level)
        )
    for name in sorted({n for n, m in metrics.items() if m.detect} - set(by_metric)):
        log.warning("metric %s has no rows in the cube for %s..%s", name, date_from, date_to)
        skipped["metric_not_in_cube"] += 1
    found = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if gate_p is not None:
        found = gate_hierarchy(found, dims, skipped, gate_p=gate_p, metrics=metrics)
    depth = df[dims].notna().sum(axis=1)
    parents = df.loc[(depth < depth.max()) & (df["date"] >= pd.Timestamp(date_from)) & df["metric"].isin(metrics)]
    sizes = slice_sizes(parents, dims)
    return finish_candidates(found, dims, metrics, tested, skipped, alpha=alpha, min_impact=min_impact, sizes=sizes)


def finish_candidates(
    found: pd.DataFrame,
    dims: list[str],
    metrics: Mapping[str, Metric],
    tested: Counter,
    skipped: Counter,
    *,
    alpha: float,
    min_impact: float,
    sizes: pd.DataFrame | None = None,
) -> DetectionResult:
    """Candidates (after the gate) -> the result: BH per day, materiality, hierarchy pruning, ranking, records.

    `tested` counts the slice-days judged per day (the BH family sizes); `sizes` (see `slice_sizes`) holds the
    sizes of the slices that can be two anomalies' common parent, for `prune_overlaps` (None: no such pruning).
    DuckDB and Spark both end here.
    """
    if found.empty:
        return DetectionResult([], dict(skipped), _schema(dims).empty_table(), sum(tested.values()))
    for c in ("metric", *dims, "kind", "detector"):
        found[c] = found[c].astype(object).where(found[c].notna(), None)
    # a deterministic order before the stable sorts below (rows with equal q and score stay in slice order)
    found = found.sort_values(["metric", "date", *dims], na_position="first", kind="stable").reset_index(drop=True)
    found["q_value"] = bh_qvalues(found["p_adj"].to_numpy(), found["date"].to_numpy(), n_tests=tested)
    found = found.loc[found["q_value"] <= alpha]
    immaterial = found["impact"].to_numpy(dtype=float) < min_impact  # NaN (no root slice) is kept
    if immaterial.any():
        skipped["immaterial"] += int(immaterial.sum())
        found = found.loc[~immaterial]
    found = prune_hierarchy(found, dims, metrics)
    if sizes is not None:
        kept = prune_overlaps(found, dims, metrics, sizes)
        if len(kept) < len(found):
            skipped["explained_by_overlap"] += len(found) - len(kept)
        found = kept
    found = found.sort_values(["q_value", "score"], ascending=[True, False], kind="stable").reset_index(drop=True)
    return DetectionResult(_records(found, dims), dict(skipped), _to_table(found, dims), sum(tested.values()))


def gate_hierarchy(
    found: pd.DataFrame,
    dims: list[str],
    skipped: Counter | None = None,
    *,
    gate_p: float = GATE_P,
    metrics: Mapping[str, Metric] | None = None,
) -> pd.DataFrame:
    """Drop candidates of two or more dims none of whose one-dim parents moved the same way with p_adj <= gate_p.

    Hierarchical gatekeeping (Yekutieli 2008): a deep slice is tested only under a parent that shows evidence. An
    issue big enough to matter moves the one-dim slice it lives in; organic churn in small cross-slices (cohorts
    ageing, a few dominant creators) does not, and those were almost all the false alarms. A share's entity
    dimension does not count (`metrics` tells which metrics are shares): {region: BR, format: photo} is BR's format
    mix, a one-dim slice of the share, whose parent {format: photo} over every region would dilute BR's move.
    """
    if found.empty:
        return found
    f = found.reset_index(drop=True)
    depth = f[dims].notna().sum(axis=1).to_numpy().copy()
    for name, m in (metrics or {}).items():
        if m.kind == "share" and m.entity in dims:
            depth -= ((f["metric"] == name) & f[m.entity].notna()).to_numpy()
    up = np.where(f["observed"].to_numpy(dtype=float) >= f["expected"].to_numpy(dtype=float), "u", "d")
    stem = f["metric"].astype(str) + "|" + f["date"].astype(str) + "|" + up
    parent = (depth == 1) & (f["p_adj"].to_numpy(dtype=float) <= gate_p)
    ok = depth < 2
    for d in dims:  # a loop over dims, each step vectorized over candidates
        key = stem + "|" + d + "=" + f[d].astype(str)
        ok |= f[d].notna().to_numpy() & key.isin(set(key[parent & f[d].notna().to_numpy()])).to_numpy()
    if skipped is not None:
        skipped["gated"] += int((~ok).sum())
    return f.loc[ok]


def holiday_mask(events: pd.DataFrame | None, days: pd.DatetimeIndex) -> np.ndarray:
    """Bool mask over `days`: True on holidays named in the events table."""
    if events is None or events.empty or "kind" not in events.columns:
        return np.zeros(len(days), dtype=bool)
    when = pd.to_datetime(events.loc[events["kind"] == "holiday", "ts"]).dt.normalize()
    return days.isin(when)


def with_effective_n(rows: pd.DataFrame, source: pd.DataFrame, dims: list[str]) -> pd.DataFrame:
    """`rows` of one metric with column `effective_n`: its effective_count source's value on the same slice-day."""
    eff = source[["date", *dims, "value"]].rename(columns={"value": "effective_n"})
    keys = ["date", *dims]
    return rows.merge(eff.astype({d: object for d in dims}), on=keys, how="left", validate="many_to_one")


def lump_trials(value: np.ndarray, den: np.ndarray, lumps: np.ndarray) -> np.ndarray:
    """Trials of a rate whose numerator is `lumps` (K) lumps: K^2 / rate, so one lump, 1/K of the numerator, is a
    sampling sd (a creator arriving or ageing out is no finding; many creators together are). Never more than the
    denominator; a day without lumps keeps the slice's last lump size, so its trials do not jump to every row."""
    with np.errstate(all="ignore"):
        unit = np.where(value * den > 0, value * den / lumps**2, np.nan)  # rows per trial
    unit = pd.DataFrame(unit).ffill(axis=1).to_numpy()
    return np.where(unit > 1, den / unit, den)


def one_lump(observed: pd.Series, expected: pd.Series, lumps: np.ndarray, lumps_before: np.ndarray) -> np.ndarray:
    """Whether a count's change is no bigger than one lump (one creator's total) could have made it.

    N total over K effective lumps has a sum of squared lump sizes of N^2 / K. One lump of size x moving by H moves
    that sum by 2xH + H^2 (or 2xH - H^2 with x >= H): at least H^2. So a change of |N - expected| no larger than
    sqrt(|N^2 / K - expected^2 / K_before|) may be a single creator's (one viral video doubling a category's views),
    not an issue of the slice; a change spread over many creators moves that sum far less than its square.
    K_before is the slice's median over the history.
    """
    obs, exp = observed.to_numpy(dtype=float), expected.to_numpy(dtype=float)
    with np.errstate(all="ignore"), quiet_nan():
        before = np.nanmedian(lumps_before, axis=1)
        room = np.sqrt(np.abs(obs**2 / lumps - exp**2 / before))
    return np.abs(obs - exp) <= room  # NaN (no lumps known): False, judged as before


def detect_metric(
    rows: pd.DataFrame,
    metric: Metric,
    dims: list[str],
    days: pd.DatetimeIndex,
    holidays: np.ndarray,
    history_days: int,
    date_from: dt.date,
    skipped: Counter,
    tested: Counter,
    alpha: float,
) -> pd.DataFrame:
    """Pivot one metric into [n_slices, n_days] panels and judge each day in range with every detector.

    Only candidates (p <= alpha after sensitivity) become rows; `tested` counts every judged slice-day for BH.
    """
    keys = rows[dims].astype(object).where(rows[dims].notna(), None)
    slice_id = keys.groupby(dims, dropna=False, sort=False).ngroup().to_numpy()
    n_slices, n_days = int(slice_id.max()) + 1, len(days)
    day_idx = ((rows["date"] - days[0]) / pd.Timedelta(days=1)).to_numpy().astype(int)
    value = np.full((n_slices, n_days), np.nan)
    den = np.full((n_slices, n_days), np.nan)
    value[slice_id, day_idx] = rows["value"].to_numpy(dtype=float, na_value=np.nan)
    has_den = "denominator" in rows.columns and rows["denominator"].notna().any()
    if has_den:
        den[slice_id, day_idx] = rows["denominator"].to_numpy(dtype=float, na_value=np.nan)
    first = np.unique(slice_id, return_index=True)[1]
    slice_keys = keys.iloc[first].reset_index(drop=True)

    # bad input: negative counts and rates outside [0, 1] are not judged (counted), never scored as NaN
    bad = np.zeros_like(value, dtype=bool)
    if metric.is_additive and metric.kind == "count":
        bad |= value < 0
    if has_den:
        bad |= den < 0
    if bad.any():
        log.warning("%s: %d negative counts left out", metric.name, int(bad.sum()))
    value = np.where(bad, np.nan, value)
    size = den if has_den else value
    lumps = trials = None
    if "effective_n" in rows.columns:
        lumps = np.full((n_slices, n_days), np.nan)
        lumps[slice_id, day_idx] = rows["effective_n"].to_numpy(dtype=float, na_value=np.nan)
        if has_den:
            trials = lump_trials(value, den, lumps)
    small = np.nan_to_num(size, nan=0.0) < metric.min_denominator
    usable = np.where(small, np.nan, value)

    proportion = metric.is_ratio and has_den and np.nanmin(value, initial=0) >= 0 and np.nanmax(value, initial=0) <= 1
    lumpy = proportion and trials is not None
    names = (("ratio",) if proportion else ()) + DEFAULT_DETECTORS[(1 if proportion else 0) :]
    growth = {"shared_growth": True} if metric.kind in VOLUME_KINDS else {}
    # a top share's numerator is a few creators: their swings are its noise, not outliers to look past
    options = {"seasonal": growth, "level_shift": growth, "ratio": {"clustered": metric.kind == "top_share"}}
    detectors: list[Detector] = [get_detector(n)(**options.get(n, {})) for n in names]
    # counts, shares, concentrations and the like in app/model version slices follow adoption curves (rollouts), not
    # issues: only rates are judged there
    root = np.flatnonzero(slice_keys.isna().all(axis=1).to_numpy())
    if not len(root):
        root_total = np.full(n_days, np.nan)
    elif metric.is_additive or metric.is_ratio or not has_den:
        root_total = _size(value[root[0]], den[root[0]] if has_den else None)
    else:
        root_total = den[root[0]]
    in_rollout = slice_keys[[d for d in ROLLOUT_DIMS if d in dims]].notna().any(axis=1).to_numpy()
    rollout = in_rollout & metric.follows_adoption

    parts = []
    first_day = (pd.Timestamp(date_from) - days[0]).days
    for t in range(max(first_day, 0), n_days):  # loop over days; every step is vectorized over slices
        hist, new = slice(t - history_days, t), slice(t, t + 1)
        observed = value[:, t]
        reasons = np.full(n_slices, "", dtype=object)
        reasons[np.isnan(observed)] = "missing"
        reasons[bad[:, t]] = "negative_count"
        reasons[(reasons == "") & small[:, t]] = "below_min_denominator"
        reasons[(reasons == "") & rollout] = "rollout_slice"
        if holidays[t]:
            reasons[reasons == ""] = "holiday"
        results: list[Scores] = []
        d_pair = (den[:, hist], den[:, new]) if proportion else None
        mask = (holidays[hist], None)
        with quiet_nan():
            for det in detectors:
                if lumpy and det.name == "ratio":
                    # one day's count: as many events as the numerator's lumps, today's or yesterday's, whichever
                    # are fewer (a creator who held the numerator yesterday may have aged out today)
                    today = np.fmin(trials[:, new], trials[:, t - 1 : t]) if t > 0 else trials[:, new]
                    scores = det.fit_score(
                        usable[:, hist], usable[:, new], denominators=(trials[:, hist], today), calendar_mask=mask
                    )
                elif lumpy and det.name == "level_shift":  # the weeks before show how steady the slice is
                    det.fit(
                        usable[:, hist], denominators=den[:, hist], calendar_mask=holidays[hist], units=trials[:, hist]
                    )
                    scores = det.score(usable[:, new], denominators=den[:, new], units=trials[:, new])
                else:
                    scores = det.fit_score(usable[:, hist], usable[:, new], denominators=d_pair, calendar_mask=mask)
                results.append(scores)
        valid = np.column_stack([r.valid[:, 0] for r in results]).any(axis=1)
        reasons[(reasons == "") & ~valid] = "short_history"
        skipped.update(reasons[reasons != ""].tolist())
        judged = reasons == ""
        tested[days[t].date()] += int(judged.sum())
        if not judged.any():
            continue
        part = _combine_day(results, names, judged, observed, den[:, t], slice_keys, days[t], metric, alpha)
        if lumps is not None and not has_den:
            at = part.index.to_numpy()
            one = one_lump(part["observed"], part["expected"], lumps[at, t], lumps[at, hist])
            if one.any():
                skipped["one_lump"] += int(one.sum())
                part = part.loc[~one]
        if proportion:  # a trend carried forward can leave [0, 1]; a share is never expected below 0 or above 1
            part[["expected", "lower", "upper"]] = part[["expected", "lower", "upper"]].clip(0.0, 1.0)
        part["impact"] = _impact(part, has_den, metric, root_total[t])
        parts.append(part)
    return pd.concat(parts, ignore_index=True) if parts else _empty(dims)


def _size(value: np.ndarray, den: np.ndarray | None) -> np.ndarray:
    """What a slice's value is made of: its numerator (value x denominator) or, for counts, the value."""
    return np.abs(value * den) if den is not None else np.abs(value)


def _impact(part: pd.DataFrame, has_den: bool, metric: Metric, root_total: float) -> np.ndarray:
    """Share of the whole platform's metric the deviation amounts to (how much it matters), NaN if unknown.

    Counts, sums and distinct counts (as if additive): |observed - expected| / root value; ratios: the extra or
    missing numerator over the root numerator; other kinds: relative deviation times the slice's share of the root
    denominator.
    """
    dev = (part["observed"] - part["expected"]).to_numpy(dtype=float)
    den = part["denominator"].to_numpy(dtype=float) if has_den else None
    with np.errstate(all="ignore"):
        if metric.is_additive or metric.is_ratio or (metric.kind in VOLUME_KINDS and den is None):
            return np.abs(_size(dev, den)) / root_total
        if den is not None:
            exp = part["expected"].to_numpy(dtype=float)
            return np.abs(dev / exp) * den / root_total
    return np.full(len(part), np.nan)


def _combine_day(
    results: list[Scores],
    names: tuple[str, ...],
    judged: np.ndarray,
    observed: np.ndarray,
    den: np.ndarray,
    slice_keys: pd.DataFrame,
    day: pd.Timestamp,
    metric: Metric,
    alpha: float,
) -> pd.DataFrame:
    """One row per candidate slice: the strongest detector's verdict, its p Bonferroni-corrected over detectors."""
    p = np.column_stack([r.p_value[:, 0] for r in results])
    p = np.where(np.column_stack([r.valid[:, 0] for r in results]), p, 1.0)
    best = p.argmin(axis=1)
    p_min = np.minimum(p[np.arange(len(best)), best] * len(results), 1.0)
    p_adj = rescale_p(p_min, metric.sensitivity)
    kinds = np.column_stack([r.kind[:, 0] for r in results])[np.arange(len(best)), best]
    rows = np.flatnonzero(judged & (p_adj <= alpha) & (kinds != 0))
    best = best[rows]

    def pick(attr: str) -> np.ndarray:
        return np.column_stack([getattr(r, attr)[rows, 0] for r in results])[np.arange(len(rows)), best]

    starts = np.column_stack([r.start[rows, 0] if r.start is not None else np.zeros(len(rows)) for r in results])
    out = slice_keys.iloc[rows]  # indexed by slice
    out["metric"] = metric.name
    out["date"] = day.date()
    out["observed"] = observed[rows]
    out["expected"] = pick("expected")
    out["lower"] = pick("lower")
    out["upper"] = pick("upper")
    out["p_value"] = p_min[rows]
    out["p_adj"] = p_adj[rows]
    out["score"] = pick("score")
    out["kind"] = np.array(KINDS, dtype=object)[kinds[rows].astype(int)]
    out["detector"] = np.array(names, dtype=object)[best]
    out["start_offset"] = starts[np.arange(len(rows)), best]
    out["denominator"] = den[rows]
    return out


def prune_hierarchy(found: pd.DataFrame, dims: list[str], metrics: Mapping[str, Metric]) -> pd.DataFrame:
    """Keep the slice that explains the change when a parent and its descendant fire on the same metric and day.

    A descendant whose deviation (weighted by its denominator share when the metric is not additive) is at least
    EXPLAIN_SHARE of the parent's, and exceeds its own share of the parent by CONCENTRATION, replaces the parent;
    otherwise the change is broad, the parent stays and its same-direction descendants go.
    """
    if len(found) < 2:
        return found
    f = found.reset_index(drop=True)
    scope = f[dims].to_numpy(dtype=object)
    set_mask = np.array([[v is not None and v == v for v in row] for row in scope])
    drop_parent = np.zeros(len(f), dtype=bool)
    pairs = []
    for _, grp in f.groupby(["metric", "date"], sort=False):  # fired anomalies only: a few per metric and day
        idx = grp.index.to_numpy()
        if len(idx) < 2:
            continue
        sm, sc = set_mask[idx], scope[idx]
        # a is an ancestor of b: a's set dims are a strict subset of b's and agree on their values
        sub = (sm[:, None, :] <= sm[None, :, :]).all(axis=2) & (sm.sum(1)[:, None] < sm.sum(1)[None, :])
        agree = ((sc[:, None, :] == sc[None, :, :]) | ~sm[:, None, :]).all(axis=2)
        for a, b in zip(*np.nonzero(sub & agree), strict=True):
            pairs.append((idx[a], idx[b]))
    if not pairs:
        return found
    par, chi = np.array(pairs).T
    dev = (f["observed"] - f["expected"]).to_numpy(dtype=float)
    den = f["denominator"].to_numpy(dtype=float)
    additive = f["metric"].map(lambda m: metrics[m].is_additive).to_numpy(dtype=bool)
    expected = f["expected"].to_numpy(dtype=float)
    with np.errstate(all="ignore"):
        den_share = den[chi] / den[par]
        weight = np.where(additive[par], 1.0, np.nan_to_num(den_share, nan=1.0))
        share = weight * dev[chi] / dev[par]
        # the child's part of the parent before the change: a child that is most of its parent explains most
        # of any change, so only a share beyond its size counts as concentrated there
        size = np.where(additive[par], np.abs(expected[chi] / expected[par]), den_share)
    explains = (share >= EXPLAIN_SHARE) & (share - np.nan_to_num(size, nan=0.0) >= CONCENTRATION)
    drop_parent[par[explains]] = True
    same_way = np.sign(dev[chi]) == np.sign(dev[par])
    drop_child = chi[~explains & same_way & ~drop_parent[par]]
    drop = drop_parent.copy()
    drop[drop_child] = True
    f["explained_share"] = np.nan
    f.loc[par, "explained_share"] = pd.Series(share, index=par).groupby(level=0).max()
    return f.loc[~drop]


def slice_sizes(rows: pd.DataFrame, dims: list[str]) -> pd.DataFrame:
    """(key, size) of cube rows: the denominator, or the value where a metric has none; the key is
    "metric|date|value of each dim" with "" for a dim the slice leaves open, as `prune_overlaps` looks parents up."""
    den = rows["denominator"] if "denominator" in rows.columns else pd.Series(np.nan, index=rows.index)
    size = den.where(den.notna(), rows["value"]).to_numpy(dtype=float, na_value=np.nan)
    dates = pd.to_datetime(rows["date"]).dt.date
    key = rows["metric"].astype(str) + "|" + dates.astype(str)
    for d in dims:
        key = key + "|" + rows[d].astype(object).where(rows[d].notna(), "").astype(str)
    return pd.DataFrame({"key": key.to_numpy(dtype=object), "size": size})


def prune_overlaps(
    found: pd.DataFrame, dims: list[str], metrics: Mapping[str, Metric], sizes: pd.DataFrame
) -> pd.DataFrame:
    """Drop an anomaly that another fired slice, neither its parent nor its child, explains on the same metric and day.

    A change inside slice S moves a slice A that overlaps S by S's relative change times the part of A inside S;
    taking dimensions as independent, that part is S's share of the parent they have in common (the platform when
    they share no value). A playback bug in one app version otherwise fires in every category, format and tier.
    For shares the echo is in the siblings: when S's share of its parent falls, the other values of the entity in
    the same parent take it up in proportion to their shares. A is dropped when its deviation, less the echo, lies
    inside its own band. Slices explain in order of significance, then of relative deviation: under that model an
    echo, diluted by w <= n_S / n_parent, is always less significant than its source, while a small noisy slice
    may overshoot the source's relative change. A dropped slice explains nothing. Other kinds (entropy, Gini, top
    shares) are not decomposable: kept.
    """
    if len(found) < 2:
        return found
    f = found.reset_index(drop=True)
    size_of = dict(zip(sizes["key"], sizes["size"], strict=True))
    scope = f[dims].to_numpy(dtype=object)
    set_mask = pd.notna(scope)
    exp, obs = f["expected"].to_numpy(dtype=float), f["observed"].to_numpy(dtype=float)
    den = f["denominator"].to_numpy(dtype=float) if "denominator" in f.columns else np.full(len(f), np.nan)
    own = np.where(np.isnan(den), obs, den)
    with np.errstate(all="ignore"):
        rel = (obs - exp) / np.abs(exp)
    dev, low, high = obs - exp, f["lower"].to_numpy(dtype=float) - exp, f["upper"].to_numpy(dtype=float) - exp
    pval = f["p_value"].to_numpy(dtype=float) if "p_value" in f.columns else np.zeros(len(f))
    drop = np.zeros(len(f), dtype=bool)
    kinds = f["metric"].map(lambda m: metrics[m].kind)
    eligible = (kinds.isin(FILTER_KINDS) | (kinds == "share")).to_numpy(dtype=bool)
    for (metric, day), grp in f.loc[eligible].groupby(["metric", "date"], sort=False):  # fired anomalies only
        idx = grp.index.to_numpy()
        if len(idx) < 2:
            continue
        sm, sc = set_mask[idx], scope[idx]
        both = sm[:, None, :] & sm[None, :, :]
        same = both & (sc[:, None, :] == sc[None, :, :])
        echo = np.full((len(idx), len(idx)), np.nan)
        entity = metrics[metric].entity
        if metrics[metric].kind == "share":
            if entity not in dims:
                continue
            e = dims.index(entity)
            others = np.ones(len(dims), dtype=bool)
            others[e] = False
            siblings = (
                both[:, :, e]
                & ~same[:, :, e]
                & ((sm[:, None, :] == sm[None, :, :]) & (same | ~both))[:, :, others].all(axis=2)
            )
            with np.errstate(all="ignore"):
                taken = -dev[idx][:, None] * exp[idx][None, :] / (1.0 - exp[idx][:, None])
            echo = np.where(siblings, taken, np.nan)
        else:
            conflict = (both & ~same).any(axis=2)
            contains = (~sm[:, None, :] | same).all(axis=2)  # [i, j]: every value of i is one of j's
            for i, j in zip(*np.nonzero(~conflict & ~contains & ~contains.T), strict=True):
                values = ("" if not s else str(v) for v, s in zip(sc[i], same[i, j], strict=True))
                parent = size_of.get(f"{metric}|{day}|" + "|".join(values), np.nan)
                with np.errstate(all="ignore"):
                    echo[i, j] = min(own[idx[i]] / parent, 1.0) * rel[idx[i]] * exp[idx[j]]
        rest = dev[idx][None, :] - echo
        explains = (low[idx][None, :] <= rest) & (rest <= high[idx][None, :])  # NaN echo: False
        done = np.zeros(len(idx), dtype=bool)
        for i in np.lexsort((-np.abs(rel[idx]), pval[idx])):
            if not drop[idx[i]]:
                done[i] = True
                drop[idx[explains[i] & ~done]] = True
    return f.loc[~drop]


def _empty(dims: list[str]) -> pd.DataFrame:
    cols = ["metric", "date", *dims, "observed", "expected", "lower", "upper", "p_value", "q_value", "score", "kind"]
    return pd.DataFrame({c: pd.Series(dtype=object) for c in [*cols, "detector", "start_offset", "denominator"]})


def _schema(dims: list[str]) -> pa.Schema:
    return pa.schema(
        [("metric", pa.string()), ("date", pa.date32())]
        + [(d, pa.string()) for d in dims]
        + [(c, pa.float64()) for c in ("observed", "expected", "lower", "upper", "score", "p_value", "q_value")]
        + [(c, pa.string()) for c in ("direction", "kind", "detector")]
        + [("start", pa.date32()), ("denominator", pa.float64()), ("impact", pa.float64())]
    )


def _to_table(found: pd.DataFrame, dims: list[str]) -> pa.Table:
    """The anomalies as Arrow: metric, date, dims (NULL = all), numbers, kind, detector."""
    schema = _schema(dims)
    if found.empty:
        return schema.empty_table()
    out = found.reindex(columns=schema.names).copy()
    out["direction"] = np.where(found["observed"] >= found["expected"], "up", "down")
    out["start"] = [_start_of(r) for r in found.to_dict("records")]
    for d in dims:
        out[d] = out[d].astype(object).where(out[d].notna(), None)
    return pa.Table.from_pandas(out, schema=schema, preserve_index=False)


def _records(found: pd.DataFrame, dims: list[str]) -> list[Anomaly]:
    """Typed Anomaly records (scope = the slice's non-NULL dims)."""
    out = []
    for r in found.to_dict("records"):
        scope = {d: str(r[d]) for d in dims if r[d] is not None and r[d] == r[d]}
        den = r.get("denominator")
        out.append(
            Anomaly(
                metric=r["metric"],
                scope=scope,
                date=r["date"],
                observed=float(r["observed"]),
                expected=float(r["expected"]),
                lower=float(r["lower"]),
                upper=float(r["upper"]),
                score=float(r["score"]),
                p_value=float(r["p_value"]),
                q_value=float(r["q_value"]),
                direction="up" if r["observed"] >= r["expected"] else "down",
                kind=r["kind"],
                detector=r["detector"],
                start=_start_of(r),
                denominator=None if den is None or den != den else float(den),
                extra={k: float(r[k]) for k in ("explained_share", "impact") if k in r and r[k] == r[k]},
            )
        )
    return out


def _start_of(r: dict) -> dt.date | None:
    """First day of a level shift or trend, from the detector's offset; None for spikes and dips."""
    off = r.get("start_offset")
    if r["kind"] not in ("level_shift", "trend") or off is None or not np.isfinite(off):
        return None
    return r["date"] + dt.timedelta(days=int(off))
