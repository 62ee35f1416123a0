"""A read-only SQL console over a data folder, shared by the web app and the CLI.

Safety comes in layers, so one gap does not open the machine: the statement must parse (SQLGlot and DuckDB's own
parser agree) as exactly one query; the DuckDB database is in memory, can read files only under the data folder
(`allowed_directories`) with external access, extension loading and configuration changes locked after the views
are created; every statement has a row limit and a time limit (a timer thread interrupts it).
"""

from __future__ import annotations

import datetime as dt
import decimal
import logging
import math
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import duckdb
import sqlglot
from sqlglot import exp

from ecoradar.data.io import register_tables
from ecoradar.errors import InputError

#: Root expressions SQLGlot may return for a query we accept.
_QUERY_ROOTS = (exp.Select, exp.SetOperation, exp.Subquery)
#: Nodes that are never part of a read-only query, wherever they appear in the tree.
_FORBIDDEN_NODES = (exp.DML, exp.DDL, exp.Command, exp.Set, exp.Pragma, exp.Copy, exp.Into, exp.Install)


class SqlRefused(InputError):
    """The statement is not a single read-only query."""


class SqlTimeout(InputError):
    """The statement ran longer than the console's time limit."""


@dataclass(frozen=True)
class SqlResult:
    """The answer to one console query (rows already JSON-friendly)."""

    columns: list[str]
    rows: list[list]
    truncated: bool
    """True when the query returned more rows than the limit and the rest were dropped."""
    elapsed_ms: float


def check_sql(sql: str) -> str:
    """Return the single read-only statement in `sql`, or raise SqlRefused saying why.

    Example:
        >>> check_sql("SELECT 1;")
        'SELECT 1'
    """
    text = (sql or "").strip().rstrip(";").strip()
    if not text:
        raise SqlRefused("empty SQL: send one SELECT or WITH query")
    logging.getLogger("sqlglot").disabled = True  # unsupported syntax is refused below, not logged
    try:
        trees = [t for t in sqlglot.parse(text, read="duckdb") if t is not None]
    except sqlglot.errors.SqlglotError as exc:
        raise SqlRefused(f"could not parse SQL: {str(exc).splitlines()[0]}") from None
    if len(trees) != 1:
        raise SqlRefused(f"only one statement is accepted, got {len(trees)}")
    tree = trees[0]
    if not isinstance(tree, _QUERY_ROOTS):
        raise SqlRefused(f"only SELECT/WITH queries are accepted, not {text.split()[0].upper()}")
    bad = next(tree.find_all(*_FORBIDDEN_NODES), None)
    if bad is not None:
        raise SqlRefused(f"only read-only queries are accepted; found {bad.key.upper()}")
    try:
        stmts = duckdb.extract_statements(text)
    except duckdb.Error as exc:
        raise SqlRefused(f"could not parse SQL: {str(exc).splitlines()[0]}") from None
    if len(stmts) != 1 or stmts[0].type != duckdb.StatementType.SELECT:
        kinds = ", ".join(s.type.name for s in stmts)
        raise SqlRefused(f"only one SELECT/WITH query is accepted, got {kinds}")
    return stmts[0].query.strip().rstrip(";")


def _jsonable(value):
    """One DuckDB value as something JSON can carry (NaN and infinities become null)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return str(value)


class SqlConsole:
    """Read-only DuckDB over a data folder: one view per table plus `cube`.

    Args:
        data_dir (Path | None): the data folder; None gives an empty console (no tables, no file access).
        row_limit (int): most rows a query returns (the rest is dropped and `truncated` is set).
        timeout_s (float): longest a statement may run before it is interrupted.
        memory_limit (str): most memory DuckDB may use for a query (a DuckDB size, e.g. "2GB").
    """

    def __init__(
        self,
        data_dir: str | Path | None,
        *,
        row_limit: int = 10_000,
        timeout_s: float = 10.0,
        memory_limit: str = "2GB",
    ) -> None:
        self.data_dir = Path(data_dir).resolve() if data_dir is not None else None
        self.row_limit = row_limit
        self.timeout_s = timeout_s
        self._con = duckdb.connect(":memory:", config={"autoinstall_known_extensions": False})
        self._con.execute("SET autoload_known_extensions = false")
        self.tables: list[str] = []
        if self.data_dir is not None:
            self.tables = register_tables(self._con, self.data_dir)
            cube = self.data_dir / "cube"
            if cube.is_dir() and any(cube.rglob("*.parquet")):
                glob = str(cube / "**" / "*.parquet").replace("'", "''")
                self._con.execute(
                    f"CREATE OR REPLACE VIEW cube AS SELECT * FROM read_parquet('{glob}', hive_partitioning = true)"
                )
                self.tables.append("cube")
        allowed = [str(self.data_dir) + "/"] if self.data_dir is not None else []
        self._con.execute("SET allowed_directories = ?", [allowed])
        self._con.execute("SET memory_limit = ?", [memory_limit])
        self._con.execute("SET enable_external_access = false")
        self._con.execute("SET lock_configuration = true")

    def schema(self) -> dict[str, list[tuple[str, str]]]:
        """Table name -> [(column, type)] for the console's sidebar."""
        cur = self._con.cursor()
        try:
            return {t: [(r[0], r[1]) for r in cur.execute(f'DESCRIBE "{t}"').fetchall()] for t in self.tables}
        finally:
            cur.close()

    def query(self, sql: str, *, limit: int | None = None) -> SqlResult:
        """Run one read-only query and return at most `limit` (default: the console's row limit) rows.

        Raises:
            SqlRefused: not a single SELECT/WITH query.
            SqlTimeout: it ran longer than `timeout_s`.
            InputError: DuckDB refused it (unknown column, a file outside the data folder, ...).
        """
        statement = check_sql(sql)
        limit = min(limit or self.row_limit, self.row_limit)
        cur = self._con.cursor()
        timer = threading.Timer(self.timeout_s, cur.interrupt)
        started = time.perf_counter()
        timer.start()
        try:
            cur.execute(statement)
            columns = [d[0] for d in cur.description or []]
            rows = cur.fetchmany(limit + 1)
        except (duckdb.InterruptException, RuntimeError) as exc:
            if time.perf_counter() - started >= self.timeout_s * 0.9:
                raise SqlTimeout(f"query stopped after the {self.timeout_s:g} s time limit") from None
            raise InputError(f"query failed: {str(exc).splitlines()[0]}") from None
        except duckdb.Error as exc:
            raise InputError(f"query failed: {str(exc).splitlines()[0]}") from None
        finally:
            timer.cancel()
            cur.close()
        elapsed = (time.perf_counter() - started) * 1000
        truncated = len(rows) > limit
        return SqlResult(columns, [[_jsonable(v) for v in r] for r in rows[:limit]], truncated, elapsed)

    def close(self) -> None:
        """Release the DuckDB connection."""
        self._con.close()
