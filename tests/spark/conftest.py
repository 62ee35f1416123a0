"""A local SparkSession shared by every Spark test (started once: JVM start-up takes 10-30 s)."""

from __future__ import annotations

import shutil

import pytest

pytest.importorskip("pyspark", reason="PySpark is not installed (uv sync --extra spark)")


@pytest.fixture(scope="session")
def spark():
    """local[2] with 4 shuffle partitions and no UI; stopped at the end of the session."""
    if shutil.which("java") is None:
        pytest.skip("Spark needs Java 17 on PATH")
    from ecoradar.metrics.spark import start_session

    session = start_session(threads=2, conf={"spark.sql.shuffle.partitions": "4"})
    yield session
    session.stop()
