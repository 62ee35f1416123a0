"""RiskLoc (Kalander, 2022), written by us from the paper as a reference to compare against.

Leaves are split into normal and abnormal by a deviation cut-off taken from the opposite side of the anomaly;
each element gets a risk (its weighted share of abnormal leaves plus its own relative deviation); cuboids are
searched from the shallowest layer and the riskiest element that explains enough of the change is kept, its
leaves removed, until the abnormal leaves left explain too little.
"""

from __future__ import annotations

import numpy as np

from ecoradar.explain.localize.base import Element, LeafCube, Localizer


class RiskLoc(Localizer):
    """Weighted-risk search, layer by layer (reference implementation)."""

    name = "riskloc"

    def __init__(self, *, risk_threshold: float = 0.5, pep_threshold: float = 0.02, max_depth: int = 5):
        """
        Args:
            risk_threshold (float): least risk of an element to be a root cause.
            pep_threshold (float): least share of the remaining change an element (or the abnormal rest) must explain.
            max_depth (int): deepest cuboid searched.
        """
        self.risk_threshold = risk_threshold
        self.pep_threshold = pep_threshold
        self.max_depth = max_depth

    def search(self, cube: LeafCube) -> list[Element]:
        v, f = cube.real, cube.predict
        den = np.abs(f) + np.abs(v)
        dev = np.divide(2 * (f - v), den, out=np.zeros_like(v), where=den > 0)
        if (f - v).sum() < 0:  # orient deviations so the anomaly is positive
            dev = -dev
        opposite = dev[dev < 0]
        cutoff = float(-opposite.min()) if opposite.size else 0.0
        abnormal = dev > cutoff
        # each leaf weighs its distance to the cut-off, capped at the cut-off's scale so a few wild leaves do not
        # outvote a slice's many normal ones
        weight = np.minimum(np.abs(dev - cutoff), max(cutoff, 1e-6))
        live = den > 0
        total = float((f - v).sum()) or 1.0
        sign = np.sign(total)
        chosen: list[Element] = []
        cuboids = cube.cuboids(self.max_depth)
        while (abnormal & live).any():
            rest = abnormal & live
            if sign * (f[rest] - v[rest]).sum() / abs(total) < self.pep_threshold:
                break
            found = None
            for depth in range(1, min(self.max_depth, len(cube.dims)) + 1):
                best = (self.risk_threshold, None)
                for cb in (c for c in cuboids if len(c) == depth):
                    inv, k = cube.groups(cb)
                    w_ab = np.bincount(inv, weight * rest, k)
                    w_no = np.bincount(inv, weight * (live & ~abnormal), k)
                    fe = np.bincount(inv, f * live, k)
                    ve = np.bincount(inv, v * live, k)
                    share = np.divide(w_ab, w_ab + w_no, out=np.zeros(k), where=(w_ab + w_no) > 0)
                    own = np.divide(
                        sign * (fe - ve), np.abs(fe) + np.abs(ve), out=np.zeros(k), where=(fe != 0) | (ve != 0)
                    )
                    pep = sign * (fe - ve) / abs(total)
                    risk = np.where((pep >= self.pep_threshold) & (w_ab > 0) & (own > 0), share, -np.inf)
                    j = int(np.argmax(risk))
                    if risk[j] > best[0]:
                        best = (float(risk[j]), (cb, j))
                if best[1] is not None:
                    found = best[1]
                    break
            if found is None:
                break
            chosen.append(found)
            live &= ~cube.mask(found)
        return chosen
