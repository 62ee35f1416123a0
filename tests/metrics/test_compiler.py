"""The compiler: plans share scans, GROUPING SETS up to the depth, safe division, dialects as thin subclasses."""

from __future__ import annotations

from math import comb

import pytest
import sqlglot
from sqlglot import exp

from ecoradar.errors import NotFound
from ecoradar.metrics.compiler import Compiler, MetricNotSupported, compile_metric, get_compiler, plan_metrics
from ecoradar.metrics.loader import load_catalog

CATALOG = load_catalog()


def grouping_sets(sql: str) -> int:
    tree = sqlglot.parse_one(sql, read="duckdb")
    return sum(len(g.expressions) for g in tree.find_all(exp.GroupingSets))


@pytest.mark.parametrize("depth", [0, 1, 2, 3])
def test_grouping_sets_up_to_depth(depth):
    sql = compile_metric(CATALOG.get("like_rate"), depth=depth)
    assert grouping_sets(sql) == sum(comb(8, k) for k in range(depth + 1))


def test_share_only_where_entity_in_slice():
    sql = compile_metric(CATALOG.get("format_share"), dims=["region", "format", "os"], depth=2)
    # sets with format: (format), (region, format), (format, os)
    assert grouping_sets(sql) == 3


def test_one_scan_per_table_for_counts_and_sums():
    plans = plan_metrics(list(CATALOG.values()))
    simple = [p for p in plans if p.entity is None]
    assert sorted(p.tables for p in simple) == [
        ("impressions",),
        ("moderation",),
        ("moderation", "uploads"),
        ("uploads",),
    ]
    by_entity: dict[tuple, list[set[str]]] = {}
    for p in plans:
        if p.entity:
            by_entity.setdefault((p.tables[0], p.entity), []).append({m.name for m in p.metrics})
    # one per-entity scan per measure: all impressions per creator, and new creators' impressions (another filter)
    assert sorted(by_entity[("impressions", "creator_id")], key=len) == [
        {"effective_new_creators"},
        {"creator_exposure_gini", "top1pct_creator_share", "exposed_creators", "effective_creators"},
    ]
    assert by_entity[("impressions", "user_id")] == [{"active_viewers"}]


def test_counts_are_pre_aggregated_but_quantiles_are_not():
    assert "p0_fine" in compile_metric(CATALOG.get("like_rate"))
    assert "p0_fine" not in compile_metric(CATALOG.get("review_latency_p90_h"))
    assert "QUANTILE_CONT" in compile_metric(CATALOG.get("review_latency_p90_h"))


def test_every_division_is_safe():
    for name in ("watch_ratio", "like_rate", "creator_exposure_gini", "format_mix_entropy", "removal_rate"):
        tree = sqlglot.parse_one(compile_metric(CATALOG.get(name)), read="duckdb")
        for div in tree.find_all(exp.Div):
            assert isinstance(div.expression, exp.Nullif), f"{name}: {div.sql('duckdb')}"


def test_unknown_dialect():
    with pytest.raises(NotFound, match="unknown SQL dialect 'duckdbb'"):
        get_compiler("duckdbb")


def test_a_dialect_is_a_thin_subclass():
    class PrestoCompiler(Compiler):
        dialect = "presto"
        UNSUPPORTED_KINDS = ("gini",)

        def visit_quantile(self, arg, q):
            return exp.ApproxQuantile(this=arg, quantile=exp.Literal.number(q))

    try:
        sql = get_compiler("presto").compile_metric(CATALOG.get("review_latency_p90_h"))
        assert "APPROX_PERCENTILE" in sql and "GROUPING SETS" in sql
        sqlglot.parse_one(sql, read="presto")
        with pytest.raises(MetricNotSupported, match="'creator_exposure_gini'.*'gini'.*'presto'"):
            get_compiler("presto").compile_metric(CATALOG.get("creator_exposure_gini"))
    finally:
        Compiler.registry.pop("presto")
