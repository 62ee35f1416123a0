"""Ripple: ecoradar's own localizer, a penalised greedy fit of per-element ripple factors to the leaves.

Model: every leaf under a root-cause element moves by one common factor (the ripple effect of Squeeze and RiskLoc),
every other leaf keeps its expected value up to noise. Noise is measured, not assumed: a robust spread of
`real - predict` per size band of `predict` (so relative noise, Poisson-like counts and forecast error all fit).
The search adds, one at a time, the element whose own best factor most reduces the noise-weighted squared
error, as long as the gain beats a penalty that grows with the number of candidates in its cuboid (a
succinctness price: a deep cuboid has many more elements that fit noise by chance). Least squares reduces to
three sums per element, so every step is one `bincount` per cuboid over all leaves.
"""

from __future__ import annotations

import numpy as np

from ecoradar.explain.localize.base import Element, LeafCube, Localizer


def noise_scale(real: np.ndarray, predict: np.ndarray, bands: int = 10) -> np.ndarray:
    """Noise standard deviation of every leaf: a robust spread of real - predict among leaves of similar size."""
    resid = real - predict
    size = np.abs(predict)
    chunks = np.array_split(np.argsort(size), min(bands, len(size)))  # equal-count size bands
    centre = np.array([np.median(size[c]) for c in chunks])
    spread = np.array([1.4826 * np.median(np.abs(resid[c] - np.median(resid[c]))) for c in chunks])
    # relative spread interpolated on log size (constant beyond the end bands); a band of identical values has no
    # spread, so it takes the typical relative spread
    ok = (spread > 0) & (centre > 0)
    if not ok.any():
        return np.full_like(size, max(float(np.median(size)) * 0.01, 1e-9))
    rel = spread[ok] / centre[ok]
    sigma = np.interp(np.log(np.maximum(size, centre[ok][0])), np.log(centre[ok]), rel) * size
    floor = 0.5 * spread[ok][0]
    return np.maximum(sigma, max(floor, 1e-9))


def huber(z: np.ndarray, k: float = 3.0) -> np.ndarray:
    """Huber loss: squared near zero, linear in the tails, so one wild leaf cannot outweigh a whole slice."""
    a = np.abs(z)
    return np.where(a <= k, a * a, 2 * k * a - k * k)


class Ripple(Localizer):
    """Penalised greedy ripple-factor fit over all cuboids."""

    name = "ripple"

    def __init__(
        self,
        *,
        max_depth: int = 5,
        max_elements: int = 12,
        penalty: float = 12.0,
        per_candidate: float = 2.0,
        min_shift: float = 2.0,
        widen_z: float = 3.0,
        widen_share: float = 0.3,
        tail_guard: bool = True,
    ):
        """
        Args:
            max_depth (int): deepest cuboid searched (number of dimensions in one element).
            max_elements (int): most elements returned.
            penalty (float): fixed price of one more element, in units of (Huber) noise variance.
            per_candidate (float): extra price per natural log of the number of elements in its cuboid.
            widen_z (float): a found element is replaced by a parent when the parent's other leaves moved the same
                way by at least this z-score (the change was wider than the slice that moved most).
            widen_share (float): ... and by at least this share of the element's own log factor.
            tail_guard (bool): an element that owes most of its loss to one leaf must gain more than the worst leaf
                that moved against the change (noise's own reach, as RiskLoc's cut-off reads it).
            min_shift (float): an element's own factor must move its leaves by this many typical relative leaf
                noises (so slices whose sum drifts with correlated forecast error are not root causes).
        """
        self.max_depth = max_depth
        self.max_elements = max_elements
        self.penalty = penalty
        self.per_candidate = per_candidate
        self.min_shift = min_shift
        self.widen_z = widen_z
        self.widen_share = widen_share
        self.tail_guard = tail_guard

    def search(self, cube: LeafCube) -> list[Element]:
        return [el for el, _ in self.fit(cube)]

    def noise(self, cube: LeafCube) -> tuple[np.ndarray, np.ndarray, float]:
        """Which leaves carry data, each leaf's noise scale, and the typical relative noise of a sizeable leaf."""
        v, f = cube.real, cube.predict
        live = (v != 0) | (f != 0)
        if not live.any():
            return live, np.ones_like(f), 0.0
        if cube.noise is not None:
            positive = cube.noise[live & (cube.noise > 0)]
            sd = np.maximum(cube.noise, np.quantile(positive, 0.1) if positive.size else 1e-9)
        else:
            sd = np.ones_like(f)  # leaves without data never enter a loss
            sd[live] = noise_scale(v[live], f[live])
        big = live & (np.abs(f) >= np.median(np.abs(f[live]))) & (f != 0)
        rel_noise = float(np.median(sd[big] / np.abs(f[big]))) if big.any() else 0.0
        if cube.counts and cube.noise is None:
            sd = np.sqrt(sd**2 + np.maximum(np.abs(f), 1.0))
        return live, sd, rel_noise

    def whole(self, cube: LeafCube) -> float:
        """Net gain of the simplest answer: every leaf moved by one common factor (the whole scope is the cause)."""
        live, sd, rel_noise = self.noise(cube)
        v, f = cube.real[live], cube.predict[live]
        if not live.any() or f.sum() <= 0:
            return 0.0
        rho = v.sum() / f.sum()
        if abs(np.log(max(rho, 1e-9))) <= self.min_shift * rel_noise:
            return 0.0
        return float((huber((v - f) / sd[live]) - huber((v - rho * f) / sd[live])).sum() - self.penalty)

    def fit(self, cube: LeafCube) -> list[tuple[Element, float]]:
        """Root-cause elements in the order found, each with its net gain (loss reduction minus its price)."""
        v, f = cube.real, cube.predict
        live, sd, rel_noise = self.noise(cube)
        loss = huber((v - f) / sd)
        # noise is rarely Gaussian in the tails: the worst leaf that moved against the change shows how far noise
        # alone reaches, and an element that owes most of its loss to one leaf must beat it to count as a cause
        against = live & (np.sign(v - f) == -np.sign((v - f)[live].sum()))
        ceiling = float(loss[against].max()) if self.tail_guard and against.any() else 0.0
        groups = []
        for cb in cube.cuboids(self.max_depth):
            inv, k = cube.groups(cb)
            n_live = np.bincount(inv, live, k)
            price = self.penalty + self.per_candidate * np.log(max((n_live > 0).sum(), 1))
            # per element, over its still unexplained leaves: observed, expected, and the loss it has now
            sums = np.vstack([np.bincount(inv, x * live, k) for x in (v, f, loss)])
            if ceiling > price:
                top = np.zeros(k)
                np.maximum.at(top, inv[live], loss[live])
                price = np.where(top > 0.5 * sums[2], ceiling, price)
            groups.append((cb, inv, k, price, sums))
        # an element's net gain stays valid until one of its leaves is explained: cache it per cuboid
        nets = [np.full(g[2], -np.inf) for g in groups]
        fresh = [np.zeros(g[2], dtype=bool) for g in groups]
        chosen: list[tuple[Element, float]] = []
        while len(chosen) < self.max_elements and live.any():
            floor = max((float(n[ok].max()) for n, ok in zip(nets, fresh, strict=True) if ok.any()), default=0.0)
            # the loss an element has now bounds its gain: refit only stale elements that could beat the best
            # known gain, visiting cuboids by that bound so the best is met early
            bounds = [float((g[4][2] - g[3]).max()) for g in groups]
            best = max(floor, 0.0)
            for i in sorted(range(len(groups)), key=lambda i: (-bounds[i], len(groups[i][0]))):
                if bounds[i] <= best:
                    break
                cb, inv, k, price, (real, pred, now) = groups[i]
                rho = real / np.where(pred > 0, pred, np.inf)  # the element's ripple factor
                ok = (pred > 0) & (np.abs(np.log(np.maximum(rho, 1e-9))) > self.min_shift * rel_noise)
                cand = ~fresh[i] & ok & (now - price > best)
                if not cand.any():
                    continue
                idx = np.flatnonzero(cand[inv] & live)
                new = np.bincount(inv[idx], huber((v[idx] - rho[inv[idx]] * f[idx]) / sd[idx]), k)
                nets[i][cand] = (now - new - price)[cand]
                fresh[i] |= cand
                best = max(best, float(nets[i][cand].max()))
            # pick in cuboid order (shallow first); a strict relative margin keeps the shallower one on ties
            pick = (0.0, None)
            for (cb, *_), n, ok in zip(groups, nets, fresh, strict=True):
                if ok.any():
                    j = int(np.argmax(np.where(ok, n, -np.inf)))
                    if n[j] > pick[0] * (1 + 1e-9) + 1e-12:
                        pick = (float(n[j]), (cb, j))
            if pick[1] is None:
                break
            el = self._widen(cube, pick[1], live, sd, rel_noise)
            # a found element's leaves are explained: later elements are judged on the rest only
            gone = np.flatnonzero(cube.mask(el) & live)
            live[gone] = False
            for (_, inv, k, _, sums), ok in zip(groups, fresh, strict=True):
                at = inv[gone]
                for row, x in zip(sums, (v, f, loss), strict=True):
                    if len(gone) * 8 < k:
                        np.subtract.at(row, at, x[gone])
                    else:
                        row -= np.bincount(at, x[gone], k)
                ok[at] = False
            chosen.append((el, pick[0]))
        return chosen

    def _widen(self, cube: LeafCube, el: Element, live: np.ndarray, sd: np.ndarray, rel_noise: float) -> Element:
        """Drop dimensions from an element while the leaves this adds moved the same way, significantly."""
        v, f = cube.real, cube.predict
        inside = cube.mask(el) & live
        up = v[inside].sum() > f[inside].sum()
        own = abs(np.log(max(v[inside].sum(), 1e-9) / max(f[inside].sum(), 1e-9)))
        while len(el[0]) > 1:
            options = []
            for drop in el[0]:
                cb = tuple(j for j in el[0] if j != drop)
                inv = cube.groups(cb)[0]
                code = int(inv[np.flatnonzero(cube.mask(el))[0]])
                rest = (inv == code) & live & ~inside
                fr, vr = f[rest].sum(), v[rest].sum()
                z = (vr - fr) / np.sqrt(max((sd[rest] ** 2).sum(), 1e-12))
                shift = abs(np.log(max(vr, 1e-9) / fr)) if fr > 0 else 0.0
                if (z if up else -z) > self.widen_z and shift > max(self.min_shift * rel_noise, self.widen_share * own):
                    options.append((abs(z), (cb, code)))
            if not options:
                break
            el = max(options)[1]
            inside = cube.mask(el) & live
        return el
