"""Root-cause localizers: one interface, a registry, our own method and references written from their papers.

Adding one: a module with a `Localizer` subclass that sets `name`, and an import line here.
"""

from __future__ import annotations

import pandas as pd

from ecoradar.explain.localize.adtributor import Adtributor
from ecoradar.explain.localize.base import LOCALIZERS, LeafCube, Localizer, get_localizer, leaf_cube, root_causes
from ecoradar.explain.localize.ripple import Ripple
from ecoradar.explain.localize.riskloc import RiskLoc
from ecoradar.explain.records import RootCause

__all__ = [
    "LOCALIZERS",
    "Adtributor",
    "LeafCube",
    "Localizer",
    "Ripple",
    "RiskLoc",
    "get_localizer",
    "leaf_cube",
    "localize",
    "root_causes",
]


def localize(
    leaves: pd.DataFrame,
    dims: list[str],
    real_col: str = "real",
    predict_col: str = "predict",
    *,
    method: str = "ripple",
    real_den_col: str | None = None,
    predict_den_col: str | None = None,
) -> list[RootCause]:
    """Run a localizer (ours by default) on one leaf table; see `Localizer.localize`.

    Example:
        >>> leaves = pd.DataFrame({"a": ["x", "x", "y", "y"], "b": ["p", "q", "p", "q"],
        ...                        "real": [10.0, 2.0, 100.0, 100.0], "predict": [100.0, 20.0, 100.0, 100.0]})
        >>> [rc.scope for rc in localize(leaves, ["a", "b"])]
        [{'a': 'x'}]
    """
    loc = get_localizer(method)
    return loc.localize(leaves, dims, real_col, predict_col, real_den_col=real_den_col, predict_den_col=predict_den_col)
