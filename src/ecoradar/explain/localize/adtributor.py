"""Adtributor (Bhagwan et al., NSDI 2014), written by us from the paper: one dimension at a time, by surprise."""

from __future__ import annotations

import numpy as np

from ecoradar.explain.localize.base import Element, LeafCube, Localizer


def _js_surprise(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Per-element Jensen-Shannon surprise between expected shares p and observed shares q."""
    m = (p + q) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(p > 0, p * np.log(p / m), 0.0)
        b = np.where(q > 0, q * np.log(q / m), 0.0)
    return 0.5 * (a + b)


class Adtributor(Localizer):
    """Per-dimension explanatory power and surprise; the most surprising dimension's elements (reference)."""

    name = "adtributor"

    def __init__(self, *, t_eep: float = 0.1, t_ep: float = 0.67, top_dims: int = 1):
        """
        Args:
            t_eep (float): least explanatory power of one element.
            t_ep (float): explanatory power at which a dimension's candidate set is complete.
            top_dims (int): how many of the most surprising dimensions to return.
        """
        self.t_eep = t_eep
        self.t_ep = t_ep
        self.top_dims = top_dims

    def search(self, cube: LeafCube) -> list[Element]:
        v, f = cube.real, cube.predict
        total = v.sum() - f.sum()
        if total == 0:
            return []
        sets = []
        for j in range(len(cube.dims)):
            inv, k = cube.groups((j,))
            ve, fe = np.bincount(inv, v, k), np.bincount(inv, f, k)
            ep = (ve - fe) / total
            surprise = _js_surprise(fe / max(fe.sum(), 1e-12), ve / max(ve.sum(), 1e-12))
            picked, cum, s = [], 0.0, 0.0
            for k in np.argsort(-surprise):
                if ep[k] > self.t_eep:
                    picked.append(((j,), int(k)))
                    cum += ep[k]
                    s += surprise[k]
                    if cum > self.t_ep:
                        sets.append((s, picked))
                        break
        sets.sort(key=lambda x: -x[0])
        return [el for _, els in sets[: self.top_dims] for el in els]
