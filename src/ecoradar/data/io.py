"""Open a data folder (one sub-folder per table, Parquet or CSV) as DuckDB views, checking the contract."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from ecoradar.data.schema import TABLES
from ecoradar.errors import DataError


def table_glob(data_dir: Path, table: str) -> tuple[str, str] | None:
    """Return (reader, glob) for a table's files in the folder, or None when the table is absent."""
    folder = Path(data_dir) / table
    if not folder.is_dir():
        return None
    if any(folder.rglob("*.parquet")):
        return "parquet", str(folder / "**" / "*.parquet")
    if any(folder.rglob("*.csv")):
        return "csv", str(folder / "**" / "*.csv")
    return None


def register_tables(
    con: duckdb.DuckDBPyConnection,
    data_dir: str | Path,
    tables: tuple[str, ...] = tuple(TABLES),
    required: tuple[str, ...] = (),
) -> list[str]:
    """Create one view per table found in data_dir; return their names.

    Raises:
        DataError: the folder does not exist, a required table is missing, or a table misses a column.
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DataError(f"data folder {str(data_dir)!r} does not exist")
    found = []
    for table in tables:
        located = table_glob(data_dir, table)
        if located is None:
            if table in required:
                raise DataError(f"data folder {str(data_dir)!r} has no table {table!r} (expected {table}/*.parquet)")
            continue
        reader, glob = located
        if reader == "parquet":
            src = f"read_parquet('{glob}', hive_partitioning = true, union_by_name = true)"
        else:
            src = f"read_csv('{glob}', header = true, hive_partitioning = true, union_by_name = true)"
        con.execute(f'CREATE OR REPLACE VIEW "{table}" AS SELECT * FROM {src}')
        have = {r[0] for r in con.execute(f'DESCRIBE "{table}"').fetchall()}
        missing = [c for c in TABLES[table].names if c not in have]
        if missing:
            raise DataError(f"table {table!r} in {str(data_dir)!r} is missing column {missing[0]!r}")
        found.append(table)
    return found


def load_truth(data_dir: str | Path) -> list[dict]:
    """Read truth.json of a simulated world ([] when the folder has none)."""
    path = Path(data_dir) / "truth.json"
    if not path.exists():
        return []
    return json.loads(path.read_text())
