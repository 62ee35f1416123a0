"""Engines run compiled metric SQL over a data folder: one interface, DuckDB now, Spark later (issue 9)."""

from __future__ import annotations

import datetime as dt
import importlib
from abc import ABC, abstractmethod
from pathlib import Path
from typing import ClassVar, Self

import duckdb
import pyarrow as pa

from ecoradar.data.io import register_tables
from ecoradar.errors import InputError, unknown
from ecoradar.metrics.compiler import Compiler, DuckDBCompiler


class Engine(ABC):
    """Runs compiled metric queries over one data folder and returns Arrow tables.

    A new engine is one subclass: set `name` and `compiler` (a Compiler subclass for its SQL dialect) and
    implement `columns`, `days` and `query`. Use it as a context manager so `close()` runs.
    """

    name: ClassVar[str] = ""
    """Id used by `compute_cube(engine=...)` and `--engine`."""
    compiler: ClassVar[type[Compiler]]
    """Compiler of the engine's SQL dialect."""
    registry: ClassVar[dict[str, type[Engine]]] = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.name:
            Engine.registry[cls.name] = cls

    def __init__(self, data_dir: Path, *, threads: int | None = None):
        """Open `data_dir` (one sub-folder per table).

        Args:
            data_dir (Path): the data folder.
            threads (int | None): worker threads (None: the engine's default, usually all cores).
        """
        self.data_dir = Path(data_dir)
        self.threads = threads

    @abstractmethod
    def columns(self) -> dict[str, set[str]]:
        """Tables present in the data folder -> their column names."""

    @abstractmethod
    def days(self, table: str, date_column: str) -> list[dt.date]:
        """Sorted distinct days of `date_column` in `table`."""

    @abstractmethod
    def query(self, sql: str) -> pa.Table:
        """Run one query (in the engine's dialect) and return its whole result."""

    @abstractmethod
    def close(self) -> None:
        """Release the engine's resources."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class DuckDBEngine(Engine):
    """In-process DuckDB over the folder's Parquet/CSV files (views from ecoradar.data.io.register_tables)."""

    name = "duckdb"
    compiler = DuckDBCompiler

    def __init__(self, data_dir: Path, *, threads: int | None = None):
        super().__init__(data_dir, threads=threads)
        self.con = duckdb.connect(":memory:")
        # the cube does not depend on row order; letting DuckDB reorder saves memory and time
        self.con.execute("SET preserve_insertion_order = false")
        self.con.execute("SET enable_progress_bar = false")
        if threads:
            self.con.execute(f"SET threads = {int(threads)}")
        self._tables = register_tables(self.con, self.data_dir)

    def columns(self) -> dict[str, set[str]]:
        return {t: {r[0] for r in self.con.execute(f'DESCRIBE "{t}"').fetchall()} for t in self._tables}

    def days(self, table: str, date_column: str) -> list[dt.date]:
        day = f'CAST("{date_column}" AS DATE)'
        rows = self.con.execute(
            f'SELECT DISTINCT {day} AS d FROM "{table}" WHERE {day} IS NOT NULL ORDER BY d'
        ).fetchall()
        return [r[0] for r in rows]

    def query(self, sql: str) -> pa.Table:
        try:
            return self.con.sql(sql).to_arrow_table()
        except duckdb.Error as exc:
            raise InputError(f"engine 'duckdb' failed: {str(exc).splitlines()[0]}") from None

    def close(self) -> None:
        self.con.close()


#: Engines whose module is imported on first use (PySpark takes seconds to import).
LAZY_ENGINES: dict[str, str] = {"spark": "ecoradar.metrics.spark"}


def get_engine(name: str) -> type[Engine]:
    """The engine class called `name`.

    Raises:
        NotFound: no such engine (the message suggests the closest name).
    """
    if name not in Engine.registry and name in LAZY_ENGINES:
        importlib.import_module(LAZY_ENGINES[name])
    if name not in Engine.registry:
        raise unknown("engine", name, {*Engine.registry, *LAZY_ENGINES})
    return Engine.registry[name]
