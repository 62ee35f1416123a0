"""ecoradar.metrics stage: the YAML metric catalog, its SQLGlot compiler and the DuckDB metric cube."""

from ecoradar.metrics.compiler import CUBE_COLUMNS, Compiler, MetricNotSupported, compile_metric, get_compiler
from ecoradar.metrics.cube import CUBE_SCHEMA, CubeResult, compute_cube, read_cube
from ecoradar.metrics.engine import DuckDBEngine, Engine, get_engine
from ecoradar.metrics.loader import Catalog, load_catalog
from ecoradar.metrics.model import Metric

__all__ = [
    "CUBE_COLUMNS",
    "CUBE_SCHEMA",
    "Catalog",
    "Compiler",
    "CubeResult",
    "DuckDBEngine",
    "Engine",
    "Metric",
    "MetricNotSupported",
    "compile_metric",
    "compute_cube",
    "get_compiler",
    "get_engine",
    "load_catalog",
    "read_cube",
]
