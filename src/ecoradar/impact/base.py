"""The impact-estimator family: one interface, a registry, and the draws every estimator hands back."""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ecoradar.errors import unknown

_REGISTRY: dict[str, type[ImpactEstimator]] = {}

#: Modules of the built-in estimators, imported on first lookup (statsmodels is slow to import, and every
#: `ecoradar` command imports this package).
BUILTINS = ("ecoradar.impact.bsts", "ecoradar.impact.did")


def _load_builtins() -> None:
    for module in BUILTINS:
        importlib.import_module(module)


@dataclass(frozen=True)
class Counterfactual:
    """Posterior-predictive draws of the series had nothing happened, on the original scale."""

    draws: np.ndarray
    """Array (n_draws, n): predicted series over the whole window (pre and post), observation noise included."""
    noise_sd: float
    """Posterior mean of the observation-noise standard deviation (original scale)."""


class ImpactEstimator(ABC):
    """Builds a counterfactual for the post-period from the pre-period of the target and its controls.

    Subclasses set `name`, take every tunable as an explicit keyword in `__init__`, and register themselves.
    """

    name: ClassVar[str]
    """Registry id, e.g. "bsts"."""
    min_pre: ClassVar[int] = 8
    """Fewest pre-period points the estimator accepts."""

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        _REGISTRY[cls.name] = cls

    @abstractmethod
    def counterfactual(self, y: np.ndarray, controls: np.ndarray | None, n_pre: int) -> Counterfactual:
        """Return draws of y over the whole window, fitted on rows [0, n_pre) only.

        Args:
            y (np.ndarray): target, shape (n,); NaN allowed in the pre-period.
            controls (np.ndarray | None): control series, shape (n, k), unaffected by the intervention.
            n_pre (int): number of leading rows that form the pre-period.
        """


def get_estimator(name: str, **kwargs) -> ImpactEstimator:
    """Instantiate a registered estimator by name.

    Raises:
        NotFound: the name is not registered (with a "did you mean").
    """
    _load_builtins()
    if name not in _REGISTRY:
        raise unknown("impact estimator", name, _REGISTRY)
    return _REGISTRY[name](**kwargs)


def estimator_names() -> list[str]:
    """Names of the registered estimators."""
    _load_builtins()
    return sorted(_REGISTRY)
