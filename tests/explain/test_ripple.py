"""Ripple's fast paths against their plain definitions: per-element sums folded through the cuboid lattice, the
noise bands, the refit bound, and the cube's element codes."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from ecoradar.explain.localize import get_localizer, leaf_cube
from ecoradar.explain.localize.ripple import _Space, huber, huber_slope, noise_scale


def random_leaves(radix: list[int], fill: float, seed: int) -> pd.DataFrame:
    """A seeded leaf table over dims d0..dk with `fill` of all value combinations present."""
    rng = np.random.default_rng(seed)
    combos = np.array(list(itertools.product(*(range(r) for r in radix))))
    combos = combos[rng.random(len(combos)) < fill]
    leaves = pd.DataFrame({f"d{j}": [f"v{c}" for c in combos[:, j]] for j in range(len(radix))})
    leaves["predict"] = np.round(rng.lognormal(3, 1.5, len(leaves)))  # rounded: many ties in size
    leaves["real"] = leaves["predict"] * rng.normal(1, 0.1, len(leaves))
    leaves.loc[rng.random(len(leaves)) < 0.1, "real"] = 0.0  # some leaves with nothing observed
    return leaves


def brute_sums(cube, cuboid, x, live):
    """{tuple of dimension codes: sum of x over the element's live leaves}, element by element."""
    out = {}
    for leaf in np.flatnonzero(live):
        key = tuple(cube.codes[leaf, list(cuboid)])
        out[key] = out.get(key, 0.0) + x[leaf]
    return out


CUBES = {
    "dense": ([3, 4, 2, 5], 1.0, 5),
    "half filled": ([3, 4, 2, 5], 0.5, 5),
    "sparse (codes made dense)": ([6, 7, 5, 8], 0.05, 5),
    "depth below the dimensions": ([3, 2, 4, 2, 3], 0.7, 3),
}


@pytest.mark.parametrize("radix, fill, depth", CUBES.values(), ids=CUBES.keys())
def test_folded_sums_match_element_by_element_sums_before_and_after_removal(radix, fill, depth):
    leaves = random_leaves(radix, fill, seed=len(radix) + depth)
    dims = [c for c in leaves.columns if c.startswith("d")]
    cube = leaf_cube(leaves, dims)
    live = np.ones(cube.n, dtype=bool)
    live[::7] = False  # leaves already explained before the search starts
    values = (cube.real, cube.predict, np.arange(cube.n, dtype=float))
    cuboids = cube.cuboids(depth)
    space = _Space(cube, cuboids, live.copy(), values, (np.ones(cube.n),))
    rng = np.random.default_rng(0)
    for step in range(3):
        for i, cb in enumerate(cuboids):
            inv = cube.groups(cb)[0]
            for row, x in enumerate((*values, np.ones(cube.n))):
                if step and row == 3:
                    continue  # fixed rows are summed once
                want = brute_sums(cube, cb, x, space.live)
                seg = space.sums[row, space.offsets[i] : space.offsets[i + 1]]
                got = {tuple(cube.codes[np.argmax(inv == code), list(cb)]): seg[code] for code in np.unique(inv)}
                assert got.keys() >= want.keys()
                assert all(got[k] == pytest.approx(want.get(k, 0.0), abs=1e-9) for k in got)
        alive = np.flatnonzero(space.live)
        # one leaf (the per-leaf path), then a large share of what is left (the folded path)
        gone = alive[:1] if step == 0 else rng.choice(alive, len(alive) // 2, replace=False)
        touched = space.remove(np.sort(gone))
        holds = np.zeros(space.sums.shape[1], dtype=bool)
        for i, cb in enumerate(cuboids):
            holds[space.offsets[i] + cube.groups(cb)[0][gone]] = True
        assert np.array_equal(np.sort(touched), np.flatnonzero(holds))


def test_noise_bands_follow_their_definition():
    rng = np.random.default_rng(11)
    for n in (1, 7, 10, 95, 1003):
        predict = np.round(rng.lognormal(2, 2, n)) * (rng.random(n) > 0.2)  # ties and zeros in size
        real = predict * rng.normal(1, 0.2, n) + rng.normal(0, 1, n)
        sd, rel = noise_scale(real, predict)
        size, resid = np.abs(predict), real - predict
        chunks = np.array_split(np.argsort(size), min(10, n))
        centre = np.array([np.median(size[c]) for c in chunks])
        spread = np.array([1.4826 * np.median(np.abs(resid[c] - np.median(resid[c]))) for c in chunks])
        ok = (spread > 0) & (centre > 0)
        if ok.any():
            sigma = np.interp(np.log(np.maximum(size, centre[ok][0])), np.log(centre[ok]), spread[ok] / centre[ok])
            want = np.maximum(sigma * size, max(0.5 * spread[ok][0], 1e-9))
        else:
            want = np.full(n, max(np.median(size) * 0.01, 1e-9))
        big = (size >= np.median(size)) & (size > 0)
        assert np.array_equal(sd, want)
        assert rel == (np.median(sd[big] / size[big]) if big.any() else 0.0)


def test_reach_bounds_the_gain_of_any_factor():
    rng = np.random.default_rng(5)
    for _ in range(200):
        n = int(rng.integers(1, 40))
        f = rng.lognormal(2, 1, n)
        v = f * rng.normal(1, 0.3, n) + rng.normal(0, 3, n) * (rng.random(n) < 0.2)  # some wild leaves
        sd = rng.uniform(0.5, 5, n)
        z = (v - f) / sd
        rho = v.sum() / f.sum()
        gain = (huber(z) - huber((v - rho * f) / sd)).sum()
        assert gain <= (rho - 1) * (huber_slope(z) * f / sd).sum() + 1e-9


def test_codes_order_by_value_and_stay_within_twice_the_leaves():
    leaves = random_leaves([5, 6, 7], 0.3, seed=2)
    cube = leaf_cube(leaves, ["d0", "d1", "d2"])
    for cb in cube.cuboids(3):
        inv, k = cube.groups(cb)
        assert inv.max() < k <= 2 * cube.n
        if cube.plain(cb):  # plain codes: mixed radix over the dimensions' codes, the last one fastest
            radix = [len(cube.labels[j]) for j in cb]
            assert k == np.prod(radix)
            assert np.array_equal(inv, np.ravel_multi_index(tuple(cube.codes[:, j] for j in cb), radix))
        keys = [tuple(cube.codes[i, list(cb)]) for i in range(cube.n)]
        # same code <=> same values, and codes sort as the values do
        assert len(set(zip(inv, keys, strict=True))) == len(set(keys)) == len(set(inv))
        assert sorted(set(zip(inv, keys, strict=True))) == sorted(set(zip(inv, keys, strict=True)), key=lambda p: p[1])
        for code in np.unique(inv)[:5]:
            scope = cube.scope((cb, int(code)))
            m = np.logical_and.reduce(
                [leaves.loc[leaves[["real", "predict"]].ne(0).any(axis=1), d] == v for d, v in scope.items()]
            )
            assert np.array_equal(m, cube.mask((cb, int(code))))


@pytest.mark.parametrize("negative", [False, True], ids=["counts", "some negative leaves"])
def test_ripple_finds_a_deep_cause_on_a_sparse_cube(negative):
    leaves = random_leaves([6, 7, 5, 8], 0.3, seed=9)
    leaves["real"] = leaves["predict"] * np.random.default_rng(1).normal(1, 0.01, len(leaves))
    cause = (leaves["d0"] == "v1") & (leaves["d2"] == "v3")
    leaves.loc[cause, "real"] = leaves.loc[cause, "predict"] * 3
    if negative:  # e.g. refunds: observed and expected below zero, elsewhere
        flip = ~cause & (np.arange(len(leaves)) % 20 == 0)
        leaves.loc[flip, ["real", "predict"]] *= -1
    found = get_localizer("ripple").localize(leaves, ["d0", "d1", "d2", "d3"])
    assert [rc.scope for rc in found] == [{"d0": "v1", "d2": "v3"}]


def test_rate_leaves_of_a_few_events_each_still_show_a_doubled_slice():
    # stalls per session: a few events per leaf, so each leaf scatters by half its size (Poisson) while the slice that
    # doubled holds a hundred such events; Poisson scatter averages out over a slice's leaves and is no reason to ask
    # for a larger factor (only correlated error, which moves whole slices, is)
    rng = np.random.default_rng(4)
    leaves = random_leaves([5, 6, 4], 1.0, seed=4)
    leaves["sessions"] = rng.integers(40, 400, len(leaves)).astype(float)
    rate = 0.02 * rng.gamma(20, 1 / 20, len(leaves))
    cause = leaves["d1"] == "v2"
    leaves["stalls"] = rng.poisson(leaves["sessions"] * rate * np.where(cause, 2.0, 1.0)).astype(float)
    leaves["stalls_expected"] = leaves["sessions"] * 0.02
    found = get_localizer("ripple").localize(
        leaves, ["d0", "d1", "d2"], "stalls", "stalls_expected", real_den_col="sessions", predict_den_col="sessions"
    )
    assert [rc.scope for rc in found] == [{"d1": "v2"}]
