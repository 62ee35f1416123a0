"""The Spark engine: the same compiled metric SQL (sqlglot's "spark" dialect) run by Apache Spark over any path.

PySpark is imported only when a SparkEngine is opened, so `--dialect spark` and the CLI stay fast without it.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import pyarrow as pa
from sqlglot import exp

from ecoradar.data.schema import TABLES
from ecoradar.errors import DataError, InputError
from ecoradar.metrics.compiler import Compiler
from ecoradar.metrics.engine import Engine

#: The Hive partition column of the daily tables (DIR/<table>/date=YYYY-MM-DD/).
PARTITION = "date"
_PARTITION_RE = re.compile(r"/date=(\d{4}-\d{2}-\d{2})/")

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

#: Settings of a session this engine starts itself (a session passed in is used as it is).
LOCAL_CONF: dict[str, str] = {
    "spark.sql.session.timeZone": "UTC",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.driver.memory": "4g",
}


class SparkCompiler(Compiler):
    """Spark SQL: division and the exact quantile are spelled differently (sqlglot writes the rest)."""

    dialect = "spark"

    def visit_safe_div(self, num: exp.Expression, den: exp.Expression) -> exp.Expression:
        """Divide as DOUBLE, like DuckDB's `/`.

        Spark reads 3600000.0 as a DECIMAL and divides decimals with a capped scale (about 6 digits), so
        `watch_ms / 3600000.0` would lose precision that DuckDB keeps.
        """
        return super().visit_safe_div(exp.cast(num, "DOUBLE"), exp.cast(den, "DOUBLE"))

    def visit_quantile(self, arg: exp.Expression, q: float) -> exp.Expression:
        """Spark's PERCENTILE is exact and interpolates linearly, like DuckDB's quantile_cont.

        Spark has no PERCENTILE_CONT(x, q) (sqlglot would print that); PERCENTILE_APPROX would differ from DuckDB.
        """
        return exp.Quantile(this=arg, quantile=exp.Literal.number(q))


def start_session(
    master: str | None = None, *, threads: int | None = None, conf: dict[str, str] | None = None
) -> SparkSession:
    """A SparkSession for `master` (None: local mode on `threads` cores, or all), with LOCAL_CONF and `conf`.

    Under spark-submit, call `SparkSession.builder.getOrCreate()` yourself and pass the session instead.
    """
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName("ecoradar").master(master or f"local[{threads or '*'}]")
    settings = dict(LOCAL_CONF)
    if not master or master.startswith("local"):
        # a single machine: few shuffle partitions (adaptive execution still splits big ones), and Python
        # workers (applyInPandas) in this interpreter so they see the same packages
        settings["spark.sql.shuffle.partitions"] = str(max(4, 2 * (threads or 2)))
        # (PySpark reads the worker interpreter from this variable only)
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    for key, value in {**settings, **(conf or {})}.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def read_table(session: SparkSession, location: str) -> DataFrame | None:
    """One table folder as a DataFrame (Parquet, else CSV with a header; Hive partitions become columns).

    `location` is any path Spark can read (local, hdfs://, s3a://, ...); None when it holds no Parquet or CSV file.
    """
    jvm = session.sparkContext._jvm
    path = jvm.org.apache.hadoop.fs.Path(location)
    fs = path.getFileSystem(session.sparkContext._jsc.hadoopConfiguration())
    if not fs.exists(path):
        return None
    files = fs.listFiles(path, True)
    kind = None
    while files.hasNext() and kind is None:
        name = files.next().getPath().getName()
        if name.startswith((".", "_")):
            continue
        kind = "parquet" if name.endswith(".parquet") else "csv" if name.endswith(".csv") else None
    if kind is None:
        return None
    reader = session.read.option("basePath", location)
    if kind == "parquet":
        return reader.parquet(location)
    return reader.option("header", "true").option("inferSchema", "true").csv(location)


class SparkEngine(Engine):
    """Apache Spark over a data folder: one temp view per table, then `spark.sql` on the compiled query.

    Local mode by default; `master` (e.g. spark://host:7077, yarn, k8s://...) for a cluster, or an existing
    `session` (which is not stopped on close). Tables are read from `data_dir`/<table> with Spark's own
    filesystem configuration, so HDFS and S3 paths work as a string.
    """

    name = "spark"
    compiler = SparkCompiler
    views: ClassVar[tuple[str, ...]] = tuple(TABLES)
    """Tables registered as temp views when present."""

    def __init__(
        self,
        data_dir: Path | str,
        *,
        threads: int | None = None,
        master: str | None = None,
        session: SparkSession | None = None,
        conf: dict[str, str] | None = None,
        date_from: dt.date | None = None,
        date_to: dt.date | None = None,
    ):
        """Open `data_dir` on Spark.

        Args:
            data_dir (Path | str): the data folder, local or any URL Spark can read (hdfs://, s3a://).
            threads (int | None): cores of a local session (None: all).
            master (str | None): Spark master URL of a session this engine starts (None: local mode).
            session (SparkSession | None): an existing session to use (then master/threads/conf are ignored).
            conf (dict | None): extra Spark settings for a session this engine starts.
            date_from, date_to (date | None): read only the `date=YYYY-MM-DD` partitions in this range
                (Spark cannot prune partitions from the query's filter on `ts`; a daily job on big tables needs it).

        Raises:
            DataError: the folder does not exist or a table misses a column of the contract.
        """
        super().__init__(Path(data_dir), threads=threads)
        self.location = str(data_dir).rstrip("/")
        self.own_session = session is None
        self.date_from, self.date_to = date_from, date_to
        self._partition_days: dict[str, list[dt.date]] = {}
        self.spark = session if session is not None else start_session(master, threads=threads, conf=conf)
        try:
            self._frames = self._register()
        except BaseException:
            self.close()
            raise

    def _register(self) -> dict[str, DataFrame]:
        from pyspark.sql import functions as F

        jvm = self.spark.sparkContext._jvm
        root = jvm.org.apache.hadoop.fs.Path(self.location)
        if not root.getFileSystem(self.spark.sparkContext._jsc.hadoopConfiguration()).exists(root):
            raise DataError(f"data folder {self.location!r} does not exist")
        frames = {}
        for table in self.views:
            df = read_table(self.spark, f"{self.location}/{table}")
            if df is None:
                continue
            missing = [c for c in TABLES[table].names if c not in df.columns]
            if missing:
                raise DataError(f"table {table!r} in {self.location!r} is missing column {missing[0]!r}")
            if PARTITION in df.columns and PARTITION not in TABLES[table].names:
                if self.date_from is not None:
                    df = df.where(F.col(PARTITION) >= F.lit(self.date_from))
                if self.date_to is not None:
                    df = df.where(F.col(PARTITION) <= F.lit(self.date_to))
                self._partition_days[table] = self._listed_days(df)
            df.createOrReplaceTempView(table)
            frames[table] = df
        return frames

    def _listed_days(self, df: DataFrame) -> list[dt.date]:
        """Days of the table's `date=` partitions in range, from the file listing (no data is read)."""
        found = {dt.date.fromisoformat(m.group(1)) for f in df.inputFiles() if (m := _PARTITION_RE.search(f))}
        return sorted(
            d for d in found if (not self.date_from or d >= self.date_from) and (not self.date_to or d <= self.date_to)
        )

    def columns(self) -> dict[str, set[str]]:
        return {t: set(df.columns) for t, df in self._frames.items()}

    def days(self, table: str, date_column: str) -> list[dt.date]:
        """Days of `date_column`; for `ts` of a daily-partitioned table, its partitions' days (no scan).

        The contract puts each row in the partition of its day, so both are the same.
        """
        if date_column == "ts" and table in self._partition_days:
            return self._partition_days[table]
        rows = self.spark.sql(
            f"SELECT DISTINCT CAST(`{date_column}` AS DATE) AS d FROM `{table}` "
            f"WHERE `{date_column}` IS NOT NULL ORDER BY d"
        ).collect()
        return [r["d"] for r in rows]

    def frame(self, sql: str) -> DataFrame:
        """The lazy Spark DataFrame of a query (to write it with Spark instead of collecting it)."""
        from pyspark.errors import PySparkException

        try:
            return self.spark.sql(sql)
        except PySparkException as exc:
            raise InputError(f"engine 'spark' failed: {str(exc).strip().splitlines()[0]}") from None

    def query(self, sql: str) -> pa.Table:
        from pyspark.errors import PySparkException

        try:
            return self.frame(sql).toArrow()
        except PySparkException as exc:
            raise InputError(f"engine 'spark' failed: {str(exc).strip().splitlines()[0]}") from None

    def close(self) -> None:
        if self.own_session:
            self.spark.stop()
            return
        for table in getattr(self, "_frames", {}):
            self.spark.catalog.dropTempView(table)
