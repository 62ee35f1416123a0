"""ecoradar.metrics stage: the YAML metric catalog, its SQLGlot compiler and the DuckDB metric cube."""

from typing import TYPE_CHECKING

from ecoradar.lazy import lazy_getattr

if TYPE_CHECKING:
    from ecoradar.metrics.compiler import CUBE_COLUMNS, Compiler, MetricNotSupported, compile_metric, get_compiler
    from ecoradar.metrics.cube import CUBE_SCHEMA, CubeResult, compute_cube, read_cube
    from ecoradar.metrics.engine import DuckDBEngine, Engine, get_engine
    from ecoradar.metrics.loader import Catalog, load_catalog
    from ecoradar.metrics.model import Metric

#: Modules holding the public names, imported on first use (PEP 562) so `ecoradar --help` stays fast.
_MODULES = (
    "ecoradar.metrics.compiler",
    "ecoradar.metrics.cube",
    "ecoradar.metrics.engine",
    "ecoradar.metrics.loader",
    "ecoradar.metrics.model",
)

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


__getattr__ = lazy_getattr(globals(), _MODULES)
