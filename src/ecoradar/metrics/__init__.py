"""ecoradar.metrics stage: the YAML metric catalog, its SQLGlot compiler and the DuckDB metric cube."""

import importlib
from typing import TYPE_CHECKING

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


def __getattr__(name: str):
    """Import the stage's modules on first use of a public name (PEP 562)."""
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    for module in map(importlib.import_module, _MODULES):
        globals().update({n: getattr(module, n) for n in __all__ if hasattr(module, n)})
    return globals()[name]
