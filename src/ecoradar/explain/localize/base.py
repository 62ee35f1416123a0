"""The localizer interface: a leaf table in, the smallest set of dimension-value combinations that explains it out."""

from __future__ import annotations

import itertools
import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd

from ecoradar.errors import DataError, InputError, unknown
from ecoradar.explain.records import RootCause

#: Every registered localizer by its `name`.
LOCALIZERS: dict[str, type[Localizer]] = {}

Element = tuple[tuple[int, ...], int]
"""A candidate root cause: (cuboid as dimension positions, element code within that cuboid)."""


@dataclass
class LeafCube:
    """Leaves as arrays: the observed and expected value of every combination of dimension values.

    For a ratio measure `real` is the observed numerator and `predict` the numerator expected at the
    observed denominator (expected rate x observed denominator), so the numerator's change is the rate's change.
    """

    dims: list[str]
    codes: np.ndarray
    """(n_leaves, n_dims) integer codes of each leaf's value in every dimension."""
    labels: list[np.ndarray]
    """Per dimension, the value behind each code."""
    real: np.ndarray
    predict: np.ndarray
    noise: np.ndarray | None = None
    """Known noise scale of each leaf (e.g. from its history); measured from the leaves themselves when None."""
    counts: bool = False
    """Whether `real` counts events (a ratio's numerator), so leaves carry at least Poisson noise."""
    _cuboids: dict[tuple[int, ...], tuple[np.ndarray, int]] = field(default_factory=dict, repr=False)
    _columns: list[np.ndarray] = field(default_factory=list, repr=False)

    @property
    def n(self) -> int:
        """Number of leaves."""
        return len(self.real)

    def cuboids(self, max_depth: int) -> list[tuple[int, ...]]:
        """Every combination of up to max_depth dimensions, shallow ones first."""
        k = len(self.dims)
        return [c for d in range(1, min(max_depth, k) + 1) for c in itertools.combinations(range(k), d)]

    def plain(self, cuboid: tuple[int, ...]) -> bool:
        """Whether a cuboid's codes are plain mixed-radix numbers over its dimensions' codes (last dimension
        fastest), which they stay while that code space is at most twice the leaves."""
        return math.prod(len(self.labels[j]) for j in cuboid) <= 2 * self.n

    def groups(self, cuboid: tuple[int, ...]) -> tuple[np.ndarray, int]:
        """Element code of every leaf in a cuboid, and the number of codes (some may hold no leaf).

        Codes follow the order of the dimension values, shallow to deep, so sorting elements by code sorts them
        by value.
        """
        if cuboid not in self._cuboids:
            if not self._columns:
                self._columns = [np.ascontiguousarray(c, dtype=np.int64) for c in self.codes.T]
            # one mixed-radix integer per leaf over the parent cuboid's codes (computed first, as cuboids come
            # shallow first): two passes per cuboid while the code space stays within twice the leaves, made
            # dense only past that (sparse cubes) so deep cuboids do not grow without bound
            *head, last = cuboid
            radix = len(self.labels[last])
            if head:
                parent, k_parent = self.groups(tuple(head))
                key = parent * radix + self._columns[last]
                size = k_parent * radix
            else:
                key, size = self._columns[last], radix
            if size <= 2 * self.n:  # (and so every prefix too: see `plain`)
                inverse, k = key, size
            elif size <= 16 * self.n:
                present = np.bincount(key, minlength=size) > 0
                inverse = (np.cumsum(present) - 1)[key]
                k = int(present.sum())
            else:
                uniq, inverse = np.unique(key, return_inverse=True)
                k = len(uniq)
            self._cuboids[cuboid] = (inverse.ravel(), k)
        return self._cuboids[cuboid]

    def mask(self, element: Element) -> np.ndarray:
        """Which leaves fall under an element."""
        return self.groups(element[0])[0] == element[1]

    def scope(self, element: Element) -> dict[str, str]:
        """The element as {dimension: value}."""
        cuboid, code = element
        leaf = int(np.argmax(self.mask(element)))
        return {self.dims[j]: str(self.labels[j][self.codes[leaf, j]]) for j in cuboid}


def leaf_cube(
    leaves: pd.DataFrame,
    dims: list[str],
    real_col: str = "real",
    predict_col: str = "predict",
    *,
    real_den_col: str | None = None,
    predict_den_col: str | None = None,
    noise_col: str | None = None,
) -> LeafCube:
    """Check a leaf table and turn it into a LeafCube; ratio leaves become numerators at the observed denominator.

    Raises:
        DataError: a named column is missing, or a value column is not numeric.
        InputError: no dimensions or no leaves.
    """
    if not dims:
        raise InputError("localize needs at least one dimension")
    if len(set(dims)) != len(dims):
        raise InputError(f"dimensions repeat: {', '.join(dims)}")
    needed = [*dims, real_col, predict_col, *(c for c in (real_den_col, predict_den_col, noise_col) if c)]
    for col in needed:
        if col not in leaves.columns:
            raise DataError(f"leaf table has no column {col!r}; columns: {', '.join(map(str, leaves.columns))}")
    if leaves.empty:
        raise InputError("leaf table has no rows")
    values = {}
    for col in needed[len(dims) :]:
        num = pd.to_numeric(leaves[col], errors="coerce")
        if num.isna().all() or not np.isfinite(num.fillna(0).to_numpy(float)).all():
            raise DataError(f"column {col!r} must hold finite numbers")
        values[col] = num.fillna(0).to_numpy(float)
    real, predict = values[real_col], values[predict_col]
    if (real_den_col is None) != (predict_den_col is None):
        raise InputError("a ratio measure needs both real_den_col and predict_den_col")
    if real_den_col and predict_den_col:
        real_den, predict_den = values[real_den_col], values[predict_den_col]
        rate = np.divide(predict, predict_den, out=np.zeros_like(predict), where=predict_den != 0)
        predict = rate * real_den
    # a leaf with nothing observed and nothing expected carries no information for any method
    keep = (real != 0) | (predict != 0)
    leaves, real, predict = leaves[keep], real[keep], predict[keep]
    noise = values[noise_col][keep] if noise_col else None
    codes, labels = [], []
    for d in dims:
        c, u = pd.factorize(leaves[d].astype(str), sort=True)
        codes.append(c)
        labels.append(np.asarray(u, dtype=object))
    return LeafCube(list(dims), np.column_stack(codes), labels, real, predict, noise, real_den_col is not None)


class Localizer(ABC):
    """A root-cause localization method.

    Every tunable is an explicit keyword of `__init__`; subclasses set `name` and are registered on definition.
    """

    name: ClassVar[str]
    """Id used by `get_localizer` and the CLI."""

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        if "name" in cls.__dict__:
            LOCALIZERS[cls.name] = cls

    @abstractmethod
    def search(self, cube: LeafCube) -> list[Element]:
        """Return the root-cause elements of a leaf cube, most important first."""

    def localize(
        self,
        leaves: pd.DataFrame,
        dims: list[str],
        real_col: str = "real",
        predict_col: str = "predict",
        *,
        real_den_col: str | None = None,
        predict_den_col: str | None = None,
    ) -> list[RootCause]:
        """Find the root-cause set of one leaf table.

        Args:
            leaves (pandas.DataFrame): one row per combination of dimension values.
            dims (list[str]): the dimension columns.
            real_col (str): observed value (numerator for a ratio measure).
            predict_col (str): expected value (numerator for a ratio measure).
            real_den_col (str | None): observed denominator, for a ratio measure.
            predict_den_col (str | None): expected denominator, for a ratio measure.

        Returns:
            list[RootCause]: elements ranked by contribution, each with its share of the total change.
        """
        cube = leaf_cube(
            leaves, dims, real_col, predict_col, real_den_col=real_den_col, predict_den_col=predict_den_col
        )
        return root_causes(cube, self.search(cube))


def root_causes(cube: LeafCube, elements: list[Element], *, by_share: bool = True) -> list[RootCause]:
    """Describe elements as RootCause records, ranked by the share of the total change they carry (or kept in
    the given order when `by_share` is false).

    A leaf under two elements counts for the one found first, so the shares of a set add up to its total.
    """
    total = float(cube.real.sum() - cube.predict.sum())
    free = np.ones(cube.n, dtype=bool)
    out = []
    for el in elements:
        m = cube.mask(el)
        own = m & free
        free &= ~m
        share = float(cube.real[own].sum() - cube.predict[own].sum()) / total if total else 0.0
        obs, exp = float(cube.real[m].sum()), float(cube.predict[m].sum())
        out.append(RootCause(scope=cube.scope(el), contribution=share, observed=obs, expected=exp))
    return sorted(out, key=lambda rc: -abs(rc.contribution)) if by_share else out


def get_localizer(name: str, **params) -> Localizer:
    """Build a registered localizer by name.

    Raises:
        NotFound: no localizer has that name (the message suggests the closest one).
    """
    if name not in LOCALIZERS:
        raise unknown("localizer", name, LOCALIZERS)
    return LOCALIZERS[name](**params)
