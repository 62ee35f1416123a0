"""The metrics commands as real processes, and the SQL console (in process, through the stage's own Typer app)."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
import typer
from metricdata import make_data
from typer.testing import CliRunner

from cli_runner import run_cli
from ecoradar.errors import DataError, EcoradarError, InputError
from ecoradar.metrics import cli as metrics_cli
from ecoradar.metrics.console import run_sql


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli") / "data"
    make_data(folder, days=2, impressions=300, seed=5)
    return folder


@pytest.fixture(scope="module")
def computed(data):
    result = run_cli("metrics", "compute", "--data", data, "--depth", "1")
    assert result.exit_code == 0, result.stderr
    return data, result


def test_list():
    result = run_cli("metrics", "list")
    assert result.exit_code == 0, result.stderr
    for word in ("name", "kind", "category", "direction", "owner", "like_rate", "review_latency_p90_h", "diversity"):
        assert word in result.stdout


def test_show_prints_definition_and_sql():
    result = run_cli("metrics", "show", "format_share")
    assert result.exit_code == 0, result.stderr
    assert "impressions.yaml" in result.stdout and "entity: format" in result.stdout
    assert "GROUPING SETS" in result.stdout and "PARTITION BY" in result.stdout


def test_show_unknown_metric_is_one_line_exit_2():
    result = run_cli("metrics", "show", "like_rat")
    assert result.exit_code == 2
    assert result.stderr.strip().count("\n") == 0
    assert "unknown metric 'like_rat'" in result.stderr and "did you mean 'like_rate'" in result.stderr


def test_compute_then_incremental(computed):
    data, first = computed
    assert "2 days computed" in first.stdout and (data / "cube").is_dir()
    again = run_cli("metrics", "compute", "--data", data, "--depth", "1")
    assert again.exit_code == 0 and "0 days computed" in again.stdout and "2 days already up to date" in again.stdout


def test_compute_bad_yaml_names_file_line_and_field(data, tmp_path):
    (tmp_path / "cat").mkdir()
    (tmp_path / "cat" / "bad.yaml").write_text(
        "- name: x\n  description: y\n  table: impressions\n  kind: count\n"
        "  dimensions: [region]\n  category: supply\n  filter: nope > 1\n"
    )
    bad_yaml = run_cli("metrics", "compute", "--data", data, "--catalog", tmp_path / "cat")
    assert bad_yaml.exit_code == 2
    assert "bad.yaml:7: metric 'x', field 'filter': unknown column 'nope'" in bad_yaml.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2026-13-01"], "--from '2026-13-01' is not a date"),
        (["--from", "2031-01-01"], "empty date range: no data between 2031-01-01"),
        (["--metric", "like_rat"], "did you mean 'like_rate'"),
    ],
)
def test_compute_bad_input(data, tmp_path, args, message):
    result = CliRunner().invoke(
        runner_app(), ["metrics", "compute", "--data", str(data), "--out", str(tmp_path), *args]
    )
    assert isinstance(result.exception, EcoradarError) and result.exception.exit_code == 2
    assert message in str(result.exception)


def test_compute_missing_folder(tmp_path):
    result = CliRunner().invoke(runner_app(), ["metrics", "compute", "--data", str(tmp_path / "nope")])
    assert isinstance(result.exception, DataError) and "does not exist" in str(result.exception)


def runner_app() -> typer.Typer:
    app = typer.Typer()
    metrics_cli.register(app)
    return app


@pytest.mark.parametrize("fmt", ["table", "csv", "json"])
def test_sql_console_formats(computed, fmt):
    data, _ = computed
    query = "SELECT metric, count(*) AS n FROM cube WHERE metric IN ('uploads', 'like_rate') GROUP BY 1 ORDER BY 1"
    result = CliRunner().invoke(runner_app(), ["sql", query, "--data", str(data), "--format", fmt])
    assert result.exit_code == 0, result.output
    if fmt == "json":
        rows = json.loads(result.output)
        assert [r["metric"] for r in rows] == ["like_rate", "uploads"] and all(r["n"] > 0 for r in rows)
    elif fmt == "csv":
        assert result.output.splitlines()[0] == '"metric","n"'
    else:
        assert "like_rate" in result.output and "2 rows" in result.output


def test_sql_console_parquet_and_event_tables(computed, tmp_path):
    data, _ = computed
    out = tmp_path / "r.parquet"
    query = "SELECT count(*) AS n FROM impressions JOIN creators USING (creator_id)"
    result = CliRunner().invoke(
        runner_app(), ["sql", query, "--data", str(data), "--format", "parquet", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert pq.read_table(out)["n"].to_pylist() == [600 + 37]


def test_sql_console_errors(computed):
    data, _ = computed
    with pytest.raises(InputError, match="SQL error: .*nope"):
        run_sql("SELECT * FROM nope", data)
    target = data.parent / "copied.csv"
    with pytest.raises(InputError, match="only SELECT/WITH"):
        run_sql(f"COPY (SELECT 1) TO '{target}'", data)
    assert not target.exists()
    result = CliRunner().invoke(runner_app(), ["sql", "SELECT 1", "--data", str(data), "--format", "parquet"])
    assert isinstance(result.exception, InputError) and "needs --out" in str(result.exception)
