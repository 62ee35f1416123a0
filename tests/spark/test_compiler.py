"""The Spark dialect of the metric compiler: what it spells differently, and lazy loading (no session needed)."""

from __future__ import annotations

import subprocess
import sys

import pytest
import sqlglot

from ecoradar.errors import NotFound
from ecoradar.metrics.compiler import get_compiler
from ecoradar.metrics.engine import get_engine
from ecoradar.metrics.loader import load_catalog

pytestmark = pytest.mark.spark


def test_quantile_is_spark_exact_percentile():
    sql = get_compiler("spark").compile_metric(load_catalog().get("review_latency_p90_h"), dims=["region"])
    assert "PERCENTILE(" in sql
    assert "PERCENTILE_CONT" not in sql and "PERCENTILE_APPROX" not in sql
    sqlglot.parse_one(sql, read="spark")  # valid Spark SQL for sqlglot's own parser


def test_division_is_double_not_decimal():
    # watch_ms / 3600000.0 is DECIMAL arithmetic in Spark (precision capped); DuckDB divides as DOUBLE
    sql = get_compiler("spark").compile_metric(load_catalog().get("watch_hours"), dims=["region"], pretty=False)
    assert "CAST(watch_ms AS DOUBLE) / NULLIF(CAST(3600000.0 AS DOUBLE), 0)" in sql
    duck = get_compiler("duckdb").compile_metric(load_catalog().get("watch_hours"), dims=["region"], pretty=False)
    assert "watch_ms / NULLIF(3600000.0, 0)" in duck


def test_every_catalog_metric_compiles_to_spark():
    compiler = get_compiler("spark")
    for metric in load_catalog().values():
        sql = compiler.compile_metric(metric, depth=2)
        assert "GROUPING SETS" in sql, metric.name


def test_unknown_engine_suggests_spark():
    with pytest.raises(NotFound, match="did you mean 'spark'"):
        get_engine("sprak")


def test_importing_the_cli_does_not_import_pyspark():
    code = (
        "import sys, ecoradar.cli; from ecoradar.metrics.compiler import get_compiler; get_compiler('spark');"
        "print('pyspark' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
