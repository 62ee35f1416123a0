"""Root-cause localizers: one interface, a registry, our own method and references written from their papers."""

from ecoradar.explain.localize.adtributor import Adtributor
from ecoradar.explain.localize.base import LOCALIZERS, LeafCube, Localizer, get_localizer, leaf_cube, root_causes
from ecoradar.explain.localize.ripple import Ripple
from ecoradar.explain.localize.riskloc import RiskLoc

__all__ = [
    "LOCALIZERS",
    "Adtributor",
    "RiskLoc",
    "LeafCube",
    "Localizer",
    "Ripple",
    "get_localizer",
    "leaf_cube",
    "localize",
    "root_causes",
]


def localize(leaves, dims, real_col="real", predict_col="predict", *, method="ripple", **kwargs):
    """Run a localizer (ours by default) on one leaf table; see Localizer.localize."""
    return get_localizer(method).localize(leaves, dims, real_col, predict_col, **kwargs)
