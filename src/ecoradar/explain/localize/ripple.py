"""Ripple: ecoradar's own localizer, a penalised greedy fit of per-element ripple factors to the leaves.

Model: every leaf under a root-cause element moves by one common factor (the ripple effect of Squeeze and RiskLoc),
every other leaf keeps its expected value up to noise. Noise is measured, not assumed: a robust spread of
`real - predict` per size band of `predict` (so relative noise, Poisson-like counts and forecast error all fit).
The search adds, one at a time, the element whose own best factor most reduces the noise-weighted squared
error, as long as the gain beats a penalty that grows with the number of candidates in its cuboid (a
succinctness price: a deep cuboid has many more elements that fit noise by chance).

Speed: per-element sums are summed from the leaves only for the few deepest cuboids and folded down the cuboid
lattice for the rest (`_Space`); an element is refit over its leaves only when a bound from those sums (its reach,
by convexity of the loss) says it could beat the best gain known, so a step usually refits a handful of elements.
"""

from __future__ import annotations

import math

import numpy as np

from ecoradar.explain.localize.base import Element, LeafCube, Localizer


def noise_scale(real: np.ndarray, predict: np.ndarray, bands: int = 10) -> tuple[np.ndarray, float]:
    """Noise standard deviation of every leaf: a robust spread of real - predict among leaves of similar size; and
    the typical relative noise of a sizeable leaf (median of sd / size over leaves of at least the median size)."""
    resid = real - predict
    size = np.abs(predict)
    order = np.argsort(size)
    ranked = size[order]
    centre, mid = _band_medians(ranked, bands)  # equal-count size bands, already sorted
    rows = _band_rows(resid[order], bands)
    spread = 1.4826 * _row_medians(np.abs(rows - _row_medians(rows, mid)[:, None]), mid)
    # relative spread interpolated on log size (constant beyond the end bands); a band of identical values has no
    # spread, so it takes the typical relative spread
    ok = (spread > 0) & (centre > 0)
    median = _band_medians(ranked, 1)[0][0]
    if ok.any():
        rel = spread[ok] / centre[ok]
        sd = np.maximum(size, centre[ok][0])
        sd = np.interp(np.log(sd, out=sd), np.log(centre[ok]), rel)
        sd *= size
        np.maximum(sd, max(0.5 * spread[ok][0], 1e-9), out=sd)
    else:
        sd = np.full_like(size, max(float(median) * 0.01, 1e-9))
    big = max(np.searchsorted(ranked, median, "left"), np.searchsorted(ranked, 0.0, "right"))
    return sd, float(np.median(sd[order[big:]] / ranked[big:])) if big < len(size) else 0.0


def _band_rows(x: np.ndarray, bands: int) -> np.ndarray:
    """x cut into min(bands, len(x)) consecutive equal-count bands (as `np.array_split`), one row each, padded
    with +inf so a whole band's median is one partition of its row."""
    nb = min(bands, len(x))
    long, extra = divmod(len(x), nb)
    rows = np.full((nb, long + (extra > 0)), np.inf)
    rows[np.arange(rows.shape[1]) < np.where(np.arange(nb) < extra, long + 1, long)[:, None]] = x  # row-major
    return rows


def _band_medians(sorted_x: np.ndarray, bands: int) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """Median of every band of an already sorted array, and each band's middle positions (for `_row_medians`)."""
    nb = min(bands, len(sorted_x))
    long, extra = divmod(len(sorted_x), nb)
    lengths = np.where(np.arange(nb) < extra, long + 1, long)
    start = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    mid = ((lengths - 1) // 2, lengths // 2)
    return (sorted_x[start + mid[0]] + sorted_x[start + mid[1]]) / 2, mid


def _row_medians(rows: np.ndarray, mid: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Median of every +inf-padded row, equal to `np.median` of its finite part."""
    part = np.partition(rows, np.unique(np.concatenate(mid)), axis=1)
    at = np.arange(len(rows))
    return (part[at, mid[0]] + part[at, mid[1]]) / 2


def huber(z: np.ndarray, k: float = 3.0) -> np.ndarray:
    """Huber loss: squared near zero, linear in the tails, so one wild leaf cannot outweigh a whole slice."""
    a = np.abs(z)
    loss = a * a
    tail = a > k
    loss[tail] = 2 * k * a[tail] - k * k
    return loss


def huber_slope(z: np.ndarray, k: float = 3.0) -> np.ndarray:
    """Derivative of `huber`: as the loss is convex, loss(z - d) >= loss(z) - slope(z) * d for any step d."""
    return 2 * np.clip(z, -k, k)


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
        min_shift: float = 1.0,
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
        size = np.abs(f)
        big = live & (size >= np.median(size[live])) & (f != 0)  # the sizeable leaves that set the typical noise
        if cube.noise is not None:
            positive = cube.noise[live & (cube.noise > 0)]
            sd = np.maximum(cube.noise, np.quantile(positive, 0.1) if positive.size else 1e-9)
            rel_noise = float(np.median(sd[big] / size[big])) if big.any() else 0.0
        elif live.all():
            sd, rel_noise = noise_scale(v, f)
        else:
            sd = np.ones_like(f)  # leaves without data never enter a loss
            sd[live], rel_noise = noise_scale(v[live], f[live])
        if cube.counts and cube.noise is None:
            # counts scatter by Poisson noise on top of what was measured; min_shift guards against correlated
            # forecast error, which Poisson noise is not (it averages out over an element's leaves), so the typical
            # relative noise is the measured spread less its Poisson part
            excess = np.sqrt(np.maximum(sd[big] ** 2 - size[big], 0.0)) / size[big]
            rel_noise = float(np.median(excess)) if big.any() else 0.0
            sd = np.sqrt(sd**2 + np.maximum(size, 1.0))
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
        if not live.any():
            return []
        change = v - f
        z = change / sd
        loss = huber(z)
        # moving a leaf by its element's factor rho lowers its loss by at most slope * (rho - 1) * f / sd (convexity),
        # so the sum of slope * f / sd over an element bounds its gain before any refit
        reach = huber_slope(z)
        reach *= f
        reach /= sd
        # noise is rarely Gaussian in the tails: the worst leaf that moved against the change shows how far noise
        # alone reaches, and an element that owes most of its loss to one leaf must beat it to count as a cause
        against = live & (np.sign(change) == -np.sign(change[live].sum()))
        ceiling = float(loss[against].max()) if self.tail_guard and against.any() else 0.0
        cuboids = cube.cuboids(self.max_depth)
        # per element, over its still unexplained leaves: observed, expected and reach (and, unless no value is
        # negative so that observed + expected tells, how many leaves it has)
        signed = (v < 0).any() or (f < 0).any()
        space = _Space(cube, cuboids, live, (v, f, reach), (np.ones_like(v),) if signed else ())
        sums = space.sums
        n_live = np.add.reduceat((sums[3] if signed else sums[0] + sums[1]) > 0, space.offsets[:-1], dtype=np.int64)
        price = np.repeat(self.penalty + self.per_candidate * np.log(np.maximum(n_live, 1)), space.sizes)
        if ceiling > price.min():
            # only a leaf above half the least price can hold most of the loss of an element that could pay it
            heavy = np.flatnonzero(live & (loss > 0.5 * self.penalty))
            now = space.total(loss)
            price = np.where((space.top(heavy, loss) > 0.5 * now) & (ceiling > price), ceiling, price)
        # an element's net gain stays valid until one of its leaves is explained, and so does the bound on it that
        # decides whether to refit it (-inf once refit): both are cached and renewed only where leaves went
        nets = np.full(len(price), -np.inf)
        shift = self.min_shift * rel_noise
        bound = self._bound(sums, price, shift, slice(None))
        chosen: list[tuple[Element, float]] = []
        while len(chosen) < self.max_elements and live.any():
            # refit only elements whose bound beats the best known gain, visiting cuboids by that bound so the best
            # is met early
            best = max(float(nets.max()), 0.0)
            bounds = np.maximum.reduceat(bound, space.offsets[:-1])
            for i in np.argsort(-bounds, kind="stable"):
                if bounds[i] <= best:
                    break
                e0, e1 = space.offsets[i : i + 2]
                cand = bound[e0:e1] > best
                at = cube.groups(cuboids[i])[0]
                leaf = np.flatnonzero(cand[at] & live)
                at = at[leaf]
                rho = sums[0, e0:e1] / np.where(cand, sums[1, e0:e1], np.inf)  # each candidate's ripple factor
                now = np.bincount(at, loss[leaf], e1 - e0)
                new = np.bincount(at, huber((v[leaf] - rho[at] * f[leaf]) / sd[leaf]), e1 - e0)
                net = now - new - price[e0:e1]
                nets[e0:e1][cand] = net[cand]
                bound[e0:e1][cand] = -np.inf
                best = max(best, float(net[cand].max()))
            # pick in cuboid order (shallow first); a strict relative margin keeps the shallower one on ties
            gain, c = 0.0, -1
            for i, top in enumerate(np.maximum.reduceat(nets, space.offsets[:-1]).tolist()):
                if top > gain * (1 + 1e-9) + 1e-12:
                    gain, c = top, i
            if c < 0:
                break
            code = int(np.argmax(nets[space.offsets[c] : space.offsets[c + 1]]))
            el = self._widen(cube, (cuboids[c], code), space, sd, rel_noise)
            # a found element's leaves are explained: later elements are judged on the rest only
            touched = space.remove(np.flatnonzero(cube.mask(el) & live))
            nets[touched] = -np.inf
            if len(touched) * 4 < len(bound):
                bound[touched] = self._bound(sums, price, shift, touched)
            else:  # most elements changed: one pass over all is cheaper than picking them out
                self._bound(sums, price, shift, slice(None), out=bound)
                bound[nets > -np.inf] = -np.inf
            chosen.append((el, gain))
        return chosen

    @staticmethod
    def _bound(sums: np.ndarray, price: np.ndarray, shift: float, at, out: np.ndarray | None = None) -> np.ndarray:
        """Upper bound on the net gain of refitting elements `at`: their reach times their factor's step (-inf where
        the factor moves too little to be a cause). In place, into `out` if given: these arrays can be large."""
        real, pred, slope = sums[0, at], sums[1, at], sums[2, at]
        ok = pred > 0
        bound = np.zeros_like(real) if out is None else out
        rho = np.divide(real, pred, out=bound, where=ok)
        rho[~ok] = 0.0
        moved = np.maximum(rho, 1e-9)
        np.log(moved, out=moved)
        ok &= np.abs(moved, out=moved) > shift
        step = np.subtract(rho, 1, out=rho)
        step *= slope
        np.abs(step, out=moved)
        moved *= 1e-7
        step += moved
        step += 1e-9
        step -= price[at]
        step[~ok] = -np.inf
        return step

    def _widen(self, cube: LeafCube, el: Element, space: _Space, sd: np.ndarray, rel_noise: float) -> Element:
        """Drop dimensions from an element while the leaves this adds moved the same way, significantly.

        The added leaves' sums are a parent's minus the element's (both kept by `space`), so only a parent that
        passes on direction and size costs a pass over the leaves (for its noise).
        """
        live = space.live
        vi, fi = space.element_sums(el)
        up = vi > fi
        own = abs(np.log(max(vi, 1e-9) / max(fi, 1e-9)))
        least = max(self.min_shift * rel_noise, self.widen_share * own)
        while len(el[0]) > 1:
            inside = cube.mask(el)
            leaf = int(np.argmax(inside))
            outside = None
            options = []
            for drop in el[0]:
                cb = tuple(j for j in el[0] if j != drop)
                inv = cube.groups(cb)[0]
                vp, fp = space.element_sums((cb, int(inv[leaf])))
                vr, fr = vp - vi, fp - fi
                moved = abs(np.log(max(vr, 1e-9) / fr)) if fr > 0 else 0.0
                if (vr > fr if up else vr < fr) and moved > least:
                    outside = live & ~inside if outside is None else outside
                    rest = np.flatnonzero((inv == inv[leaf]) & outside)
                    z = (vr - fr) / np.sqrt(max((sd[rest] ** 2).sum(), 1e-12))
                    if (z if up else -z) > self.widen_z:
                        options.append((abs(z), (cb, int(inv[leaf]))))
            if not options:
                break
            el = max(options)[1]
            vi, fi = space.element_sums(el)
        return el


class _Space:
    """Per-element sums of leaf values over every cuboid, in one flat array (cuboid after cuboid).

    Cuboids whose codes are plain mixed-radix numbers (all but very sparse ones) are summed from a child cuboid with
    one more dimension by a reshape: a child's code splits into (before, the extra dimension, after), so summing
    out the middle axis gives the parent's code order. Only the cuboids without such a child smaller than the cube
    are summed from the leaves, so most cuboids cost no pass over the leaves at all.
    """

    def __init__(self, cube: LeafCube, cuboids: list[tuple[int, ...]], live: np.ndarray, values: tuple, fixed: tuple):
        self.cube, self.cuboids, self.live = cube, cuboids, live
        radix = [len(x) for x in cube.labels]
        n = cube.n
        self.index = index = {cb: i for i, cb in enumerate(cuboids)}
        full = [math.prod(radix[j] for j in cb) for cb in cuboids]
        plain = [cube.plain(cb) for cb in cuboids]
        self.derive: dict[int, tuple[int, int, int]] = {}  # cuboid -> (child, extra dimension's radix, after)
        for i, cb in enumerate(cuboids):
            if not plain[i]:
                continue
            options = []
            for j, r in enumerate(radix):
                child = index.get(tuple(sorted((*cb, j))), -1) if j not in cb else -1
                if child >= 0 and plain[child] and full[child] < 4 * n:
                    options.append((r, j, child))
            if options:
                r, j, child = min(options)
                self.derive[i] = (child, r, math.prod(radix[d] for d in cb if d > j))
        self.base = [i for i in range(len(cuboids)) if i not in self.derive]
        self.order = sorted(self.derive, key=lambda i: -len(cuboids[i]))  # children before parents
        self.sizes = np.array([full[i] if i in self.derive else cube.groups(cb)[1] for i, cb in enumerate(cuboids)])
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes)])
        # rows of `values` are kept up to date as leaves are explained, the `fixed` rows after them are summed once
        self.values = [x if live.all() else x * live for x in values]
        self.sums = self._sum([*self.values, *(x if live.all() else x * live for x in fixed)])
        self._delta = np.empty((len(self.values) + 1, self.sums.shape[1]))

    def _sum(self, values: list[np.ndarray]) -> np.ndarray:
        """Per element (row per value), the sum of each value over its leaves."""
        out = np.empty((len(values), int(self.offsets[-1])))
        for i in self.base:
            inv, k = self.cube.groups(self.cuboids[i])
            for row, x in zip(out, values, strict=True):
                row[self.offsets[i] : self.offsets[i + 1]] = np.bincount(inv, x, k)
        self._fold(out, np.add)
        return out

    def element_sums(self, el: Element) -> tuple[float, float]:
        """Observed and expected sums of an element's unexplained leaves."""
        at = self.offsets[self.index[el[0]]] + el[1]
        return float(self.sums[0, at]), float(self.sums[1, at])

    def total(self, x: np.ndarray) -> np.ndarray:
        """Per element, the sum of x over its unexplained leaves (once: not kept up to date)."""
        return self._sum([x * self.live])[0]

    def _fold(self, out: np.ndarray, ufunc: np.ufunc) -> None:
        """Fill every derived cuboid of `out` from its child, reducing the child's extra dimension with ufunc."""
        rows = len(out)
        for i in self.order:
            child, r, after = self.derive[i]
            block = out[:, self.offsets[child] : self.offsets[child + 1]].reshape(rows, -1, r, after)
            target = out[:, self.offsets[i] : self.offsets[i + 1]].reshape(rows, -1, after)
            if ufunc is np.add and after == 1:  # a product with ones: BLAS-fast
                np.matmul(block[..., 0], np.ones(r), out=target[..., 0])
            elif ufunc is np.add:
                np.matmul(np.ones(r), block, out=target)
            elif after >= 8:  # long contiguous runs: one reduction call is fast
                ufunc.reduce(block, axis=2, out=target)
            else:  # short runs: NumPy's per-run overhead dominates, so reduce r strided slices instead
                np.copyto(target, block[:, :, 0])
                for j in range(1, r):
                    ufunc(target, block[:, :, j], out=target)

    def codes(self, leaves: np.ndarray) -> list[np.ndarray]:
        """Code of these leaves in every cuboid (a derived one's from its child's, by arithmetic)."""
        out: list[np.ndarray] = [np.empty(0, dtype=np.int64)] * len(self.cuboids)
        for i in self.base:
            out[i] = self.cube.groups(self.cuboids[i])[0][leaves]
        for i in self.order:
            child, r, after = self.derive[i]
            q = out[child]
            out[i] = q // (r * after) * after + q % after
        return out

    def top(self, leaves: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Per element, the largest x among these leaves, 0 where it has none."""
        out = np.zeros((1, self.sums.shape[1]))
        for i in self.base:
            np.maximum.at(out[0], self.cube.groups(self.cuboids[i])[0][leaves] + self.offsets[i], x[leaves])
        self._fold(out, np.maximum)
        return out[0]

    def remove(self, gone: np.ndarray) -> np.ndarray:
        """Take explained leaves out of every element's sums; returns the elements that changed."""
        self.live[gone] = False
        if len(gone) * len(self.cuboids) * 8 > self.sums.shape[1]:
            # many leaves: sum what goes over the leaf-summed cuboids and fold that, as for the sums themselves
            # (into one buffer kept across calls, with no temporary the size of a cuboid: fresh memory is slow)
            delta = self._delta
            for i in self.base:  # (the fold overwrites every other cuboid)
                delta[:, self.offsets[i] : self.offsets[i + 1]] = 0.0
                at = self.cube.groups(self.cuboids[i])[0][gone]
                for row, x in zip(delta, self.values, strict=False):
                    np.add.at(row[self.offsets[i] : self.offsets[i + 1]], at, x[gone])
                np.add.at(delta[-1, self.offsets[i] : self.offsets[i + 1]], at, 1.0)
            self._fold(delta, np.add)
            self.sums[: len(self.values)] -= delta[:-1]
            return np.flatnonzero(delta[-1])
        at = np.concatenate([codes + e0 for codes, e0 in zip(self.codes(gone), self.offsets, strict=False)])
        for row, x in zip(self.sums, self.values, strict=False):
            np.subtract.at(row, at, np.tile(x[gone], len(self.cuboids)))
        return np.unique(at)
