"""The SQL console: analysts' own queries over the event tables and the metric cube, on DuckDB."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa

from ecoradar.data.io import register_tables
from ecoradar.errors import InputError
from ecoradar.metrics.cube import cube_dir
from ecoradar.sqlconsole import check_sql


def open_console(data_dir: Path, cube: Path | None = None) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with one view per event table in `data_dir` and a `cube` view (when computed)."""
    con = duckdb.connect(":memory:")
    con.execute("SET enable_progress_bar = false")
    register_tables(con, data_dir)
    folder = Path(cube) if cube is not None else cube_dir(Path(data_dir))
    if any(folder.glob("date=*/part-0.parquet")):
        glob = str(folder / "date=*" / "part-0.parquet").replace("'", "''")
        con.execute(f"CREATE VIEW cube AS SELECT * FROM read_parquet('{glob}', hive_partitioning = false)")
    return con


def run_sql(sql: str, data_dir: Path, *, cube: Path | None = None) -> pa.Table:
    """Run one SQL query over the data folder's tables and cube.

    Raises:
        InputError: the SQL is not one read-only query, or it fails (the message is DuckDB's first line).
        DataError: the data folder is missing or breaks the contract.
    """
    sql = check_sql(sql)  # one read-only query: the console never writes files or changes the data
    con = open_console(data_dir, cube)
    try:
        return con.sql(sql).to_arrow_table()
    except duckdb.Error as exc:
        raise InputError(f"SQL error: {str(exc).splitlines()[0]}") from None
    finally:
        con.close()
