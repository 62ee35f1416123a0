"""Every built-in metric, every slice up to depth 2, against an independent pandas computation on small data."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd
import pytest
from metricdata import make_data

from ecoradar.data.schema import DIMENSIONS
from ecoradar.metrics.cube import compute_cube, read_cube
from ecoradar.metrics.loader import load_catalog

NONE = "(none)"
IMP_DIMS = ("region", "format", "category", "surface", "os", "app_version", "tier", "creator_age")
UP_DIMS = ("region", "format", "category", "tier", "creator_age")
MOD_DIMS = ("region", "format", "category", "policy", "source", "model_version", "tier")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Tiny data, its pandas frames (with day, tier, creator_age, NULL dims as '(none)'), and the computed cube."""
    folder = tmp_path_factory.mktemp("ref")
    frames = make_data(folder)
    creators = frames["creators"].set_index("creator_id")
    prepared = {}
    for table in ("impressions", "uploads", "moderation"):
        df = frames[table].copy()
        df["day"] = df["ts"].dt.normalize()
        df["tier"] = df["creator_id"].map(creators["tier"])
        joined = pd.to_datetime(df["creator_id"].map(creators["join_date"]))
        df["creator_age"] = np.where((df["day"] - joined).dt.days < 30, "new", "established")
        for d in DIMENSIONS:
            if d in df:
                df[d] = df[d].astype(object).where(df[d].notna(), NONE)
        prepared[table] = df
    compute_cube(folder)
    cube = read_cube(folder).to_pandas()
    cube["date"] = pd.to_datetime(cube["date"])
    return prepared, cube


def _sets(dims, depth=2, must=None):
    out = [c for k in range(depth + 1) for c in combinations(dims, k)]
    return [c for c in out if must is None or must in c]


def _flag(s: pd.Series) -> pd.Series:
    return s.astype("boolean").fillna(False).astype(float)


def _ratio(df, dims, num, den=None, **kw):
    """num / den per slice; num and den are per-row Series (den defaults to 1 per row)."""
    rows = []
    for s in _sets(dims, **kw):
        keys = ["day", *s]
        g = pd.DataFrame({"n": num, "d": 1.0 if den is None else den, **{k: df[k] for k in keys}})
        agg = g.groupby(keys, dropna=False)[["n", "d"]].sum().reset_index()
        rows.append(agg)
    out = pd.concat(rows, ignore_index=True)
    out["value"] = out["n"] / out["d"].where(out["d"] != 0)
    return out


def _per_slice(df, dims, fn, **kw):
    """fn(groupby over keys) -> DataFrame with n, d, value columns, per slice."""
    rows = []
    for s in _sets(dims, **kw):
        keys = ["day", *s]
        rows.append(fn(df.groupby(keys, dropna=False), keys).reset_index())
    return pd.concat(rows, ignore_index=True)


def _count(df, dims, mask=None):
    def fn(g, keys):
        base = g.size() if mask is None else g[mask.name].sum()
        return pd.DataFrame({"n": base.astype(float), "d": np.nan, "value": base.astype(float)})

    if mask is not None:
        df = df.assign(**{mask.name: mask.astype(float)})
    return _per_slice(df, dims, fn)


def _distinct(df, dims, col):
    return _per_slice(
        df,
        dims,
        lambda g, k: pd.DataFrame({"n": g[col].nunique().astype(float), "d": np.nan}).assign(value=lambda x: x.n),
    )


def _share(df, dims, entity):
    rows = []
    for s in _sets(dims, must=entity):
        keys = ["day", *s]
        parent = ["day", *[d for d in s if d != entity]]
        n = df.groupby(keys).size().rename("n").reset_index()
        n["d"] = n.groupby(parent)["n"].transform("sum")
        rows.append(n)
    out = pd.concat(rows, ignore_index=True)
    out["value"] = out["n"] / out["d"]
    return out


def _entity_stats(df, dims, entity):
    """Per slice: per-entity counts ranked (desc count, asc entity), n entities and total."""
    rows = []
    for s in _sets(dims):
        keys = ["day", *s]
        x = df.groupby([*keys, entity]).size().rename("x").reset_index()
        x = x.sort_values([*keys, "x", entity], ascending=[True] * len(keys) + [False, True])
        x["rank"] = x.groupby(keys).cumcount() + 1
        x["n"] = x.groupby(keys)["x"].transform("size")
        x["tot"] = x.groupby(keys)["x"].transform("sum")
        x["_keys"] = [tuple(r) for r in x[keys].itertuples(index=False)]
        rows.append((keys, x))
    return rows


def _gini(df, dims, entity):
    out = []
    for keys, x in _entity_stats(df, dims, entity):
        x["w"] = (x["n"] - x["rank"] + 1) * x["x"]
        g = x.groupby(keys).agg(w=("w", "sum"), n=("x", "size"), tot=("x", "sum")).reset_index()
        g["value"] = 2 * g["w"] / (g["n"] * g["tot"]) - (g["n"] + 1) / g["n"]
        out.append(g.assign(d=g["n"].astype(float), n=g["value"]))
    return pd.concat(out, ignore_index=True)


def _entropy(df, dims, entity):
    out = []
    for keys, x in _entity_stats(df, dims, entity):
        p = x["x"] / x["tot"]
        x["h"] = -p * np.log(p)
        g = x.groupby(keys).agg(h=("h", "sum"), n=("x", "size")).reset_index()
        out.append(g.assign(value=g["h"], d=g["n"].astype(float), n=g["h"]))
    return pd.concat(out, ignore_index=True)


def _effective(df, dims, entity):
    """Inverse Simpson index: (sum of per-entity counts)^2 / sum of their squares; denominator = entities."""
    out = []
    for keys, x in _entity_stats(df, dims, entity):
        g = x.assign(sq=x["x"] ** 2).groupby(keys).agg(tot=("x", "sum"), sq=("sq", "sum"), d=("x", "size"))
        g = g.reset_index()
        g["value"] = g["tot"] ** 2 / g["sq"]
        out.append(g.assign(n=g["value"], d=g["d"].astype(float)))
    return pd.concat(out, ignore_index=True)


def _top_share(df, dims, entity, fraction=0.01):
    out = []
    for keys, x in _entity_stats(df, dims, entity):
        k = np.maximum(1, np.floor(x["n"] * fraction + 1e-9))
        x["top"] = np.where(x["rank"] <= k, x["x"], 0)
        g = x.groupby(keys).agg(n=("top", "sum"), d=("x", "sum")).reset_index()
        out.append(g.assign(value=g["n"] / g["d"]))
    return pd.concat(out, ignore_index=True)


def _quantile(df, dims, col, q):
    def fn(g, keys):
        return pd.DataFrame({"n": g[col].quantile(q), "d": g[col].count().astype(float)}).assign(value=lambda x: x.n)

    return _per_slice(df, dims, fn)


def _removal_rate(mod, up, dims):
    rows = []
    for s in _sets(dims):
        keys = ["day", *s]
        n = mod.assign(r=(mod["decision"] == "removed").astype(float)).groupby(keys)["r"].sum().rename("n")
        d = up.groupby(keys).size().astype(float).rename("d")
        rows.append(pd.concat([n, d], axis=1).fillna(0).reset_index())
    out = pd.concat(rows, ignore_index=True)
    out["value"] = out["n"] / out["d"].where(out["d"] != 0)
    return out


def reference(name: str, t: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The pandas answer for one built-in metric: columns day, dims..., n, d, value."""
    imp, up, mod = t["impressions"], t["uploads"], t["moderation"]
    no_format = tuple(d for d in IMP_DIMS if d != "format")
    no_category = tuple(d for d in IMP_DIMS if d != "category")
    flags = {
        "like_rate": "liked",
        "share_rate": "shared",
        "comment_rate": "commented",
        "follow_rate": "followed",
        "not_interested_rate": "not_interested",
        "report_rate": "reported",
    }
    if name in flags:
        return _ratio(imp, IMP_DIMS, _flag(imp[flags[name]]))
    ratio_ms = imp["watch_ms"] / imp["duration_ms"].where(imp["duration_ms"] != 0)
    match name:
        case "impressions":
            return _count(imp, IMP_DIMS)
        case "active_viewers":
            return _distinct(imp, IMP_DIMS, "user_id")
        case "exposed_creators":
            return _distinct(imp, IMP_DIMS, "creator_id")
        case "watch_hours":
            return _ratio(imp, IMP_DIMS, imp["watch_ms"] / 3_600_000.0).assign(d=np.nan, value=lambda x: x.n)
        case "watch_ratio":
            capped = ratio_ms.clip(upper=5)
            return _ratio(imp, IMP_DIMS, capped.fillna(0), capped.notna().astype(float))
        case "completion_rate":
            return _ratio(imp, IMP_DIMS, (imp["watch_ms"] >= imp["duration_ms"]).astype(float))
        case "format_share":
            return _share(imp, IMP_DIMS, "format")
        case "category_share":
            return _share(imp, IMP_DIMS, "category")
        case "format_mix_entropy":
            return _entropy(imp, no_format, "format")
        case "category_mix_entropy":
            return _entropy(imp, no_category, "category")
        case "creator_exposure_gini":
            return _gini(imp, IMP_DIMS, "creator_id")
        case "top1pct_creator_share":
            return _top_share(imp, IMP_DIMS, "creator_id")
        case "new_creator_share":
            return _ratio(imp, IMP_DIMS, (imp["creator_age"] == "new").astype(float))
        case "effective_creators":
            return _effective(imp, IMP_DIMS, "creator_id")
        case "effective_new_creators":
            return _effective(imp.loc[imp["creator_age"] == "new"], IMP_DIMS, "creator_id")
        case "effective_new_uploaders":
            return _effective(up.loc[up["creator_age"] == "new"], UP_DIMS, "creator_id")
        case "uploads":
            return _count(up, UP_DIMS)
        case "active_creators":
            return _distinct(up, UP_DIMS, "creator_id")
        case "uploads_per_active_creator":
            n = _count(up, UP_DIMS)
            d = _distinct(up, UP_DIMS, "creator_id")
            keys = ["day", *UP_DIMS]
            merged = n[[*keys, "n"]].merge(d[[*keys, "n"]].rename(columns={"n": "d"}), on=keys)
            return merged.assign(value=merged.n / merged.d)
        case "new_creator_upload_share":
            return _ratio(up, UP_DIMS, (up["creator_age"] == "new").astype(float))
        case "upload_format_share":
            return _share(up, UP_DIMS, "format")
        case "moderation_decisions":
            return _count(mod, MOD_DIMS)
        case "removals":
            return _count(mod, MOD_DIMS, (mod["decision"] == "removed").rename("removed"))
        case "removal_rate":
            return _removal_rate(mod, up, ("region", "format", "category", "tier"))
        case "restriction_rate":
            return _ratio(mod, MOD_DIMS, (mod["decision"] == "restricted").astype(float))
        case "automated_removal_share":
            is_removed = (mod["decision"] == "removed").astype(float)
            dims = ("region", "format", "category", "policy", "tier")
            return _ratio(mod, dims, is_removed * (mod["source"] == "automated"), is_removed)
        case "appeal_rate":
            is_removed = (mod["decision"] == "removed").astype(float)
            return _ratio(mod, MOD_DIMS, is_removed * _flag(mod["appealed"]), is_removed)
        case "appeal_overturn_rate":
            has = mod["appeal_outcome"].notna().astype(float)
            return _ratio(mod, MOD_DIMS, has * (mod["appeal_outcome"] == "overturned"), has)
        case "review_latency_p50_h" | "review_latency_p90_h":
            q = 0.5 if name.endswith("p50_h") else 0.9
            return _quantile(mod.assign(h=mod["review_ms"] / 3_600_000.0), MOD_DIMS, "h", q)
    raise KeyError(f"no pandas reference for {name!r}: add one")


BUILTINS = list(load_catalog().keys())


def test_the_catalog_has_the_fixed_names():
    fixed = {
        "impressions", "active_viewers", "like_rate", "share_rate", "comment_rate", "follow_rate",
        "not_interested_rate", "report_rate", "completion_rate", "watch_ratio", "format_share",
        "top1pct_creator_share", "new_creator_share", "uploads", "removal_rate", "appeal_rate",
        "appeal_overturn_rate", "review_latency_p90_h", "watch_hours", "format_mix_entropy", "creator_exposure_gini",
        "active_creators", "uploads_per_active_creator", "automated_removal_share", "review_latency_p50_h",
    }  # fmt: skip
    assert fixed <= set(BUILTINS)
    assert len(BUILTINS) >= 25


@pytest.mark.parametrize("name", BUILTINS)
def test_builtin_metric_matches_pandas(world, name):
    tables, cube = world
    ref = reference(name, tables).rename(columns={"day": "date"})
    got = cube[cube["metric"] == name]
    assert len(got) > 0
    keys = ["date", *DIMENSIONS]
    for d in DIMENSIONS:
        if d not in ref:
            ref[d] = None
    ref = ref[[*keys, "n", "d", "value"]].rename(columns={"n": "ref_n", "d": "ref_d", "value": "ref_value"})
    assert not got.duplicated(keys).any(), "one row per metric, day and slice"
    merged = got.merge(ref, on=keys, how="outer", indicator=True)
    differ = merged[merged["_merge"] != "both"]
    assert differ.empty, f"{name}: slices differ, e.g.\n{differ.head()}"
    for ours, theirs in (("value", "ref_value"), ("numerator", "ref_n"), ("denominator", "ref_d")):
        np.testing.assert_allclose(
            merged[ours].astype(float),
            merged[theirs].astype(float),
            rtol=1e-9,
            atol=1e-12,
            equal_nan=True,
            err_msg=f"{name}: {ours}",
        )
    assert not np.isinf(got["value"].astype(float)).any(), "division by zero gives NULL, never inf"
