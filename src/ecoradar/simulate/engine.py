"""One simulated day, vectorized: who watches what (impressions), who uploads (uploads), and moderation decisions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtri

from ecoradar.data.schema import CATEGORIES, CREATOR_AGES, FORMATS, OSES, POLICIES, REGIONS, SOURCES, SURFACES, TIERS
from ecoradar.simulate import world as W
from ecoradar.simulate.scenarios import Active
from ecoradar.simulate.world import World

DAY_US = 86_400_000_000
EPOCH_ORDINAL = 719_163  # date(1970, 1, 1).toordinal()
HOUR_MS = 3_600_000
#: Share of plays per local hour (night trough, evening peak).
# fmt: off
DIURNAL = np.array([2.0, 1.2, 0.8, 0.5, 0.4, 0.5, 1.0, 1.8, 2.5, 3.0, 3.2, 3.5,
                    4.0, 3.8, 3.6, 3.7, 4.0, 4.5, 5.2, 6.0, 6.5, 6.6, 5.5, 3.6])
# fmt: on
DIURNAL_CDF = np.cumsum(DIURNAL) / DIURNAL.sum()
#: Value lists that scope values are coded against, per dimension (app_version/model_version come from the world).
STATIC_VALUES = {
    "region": REGIONS,
    "format": FORMATS,
    "category": CATEGORIES,
    "surface": SURFACES,
    "os": OSES,
    "tier": TIERS,
    "creator_age": CREATOR_AGES,
    "policy": POLICIES,
    "source": SOURCES,
}
NEW, ESTABLISHED = CREATOR_AGES.index("new"), CREATOR_AGES.index("established")
SPAM = POLICIES.index("spam")
#: Removal probability of flags raised by a spam wave (bulk spam is easy to call).
SPAM_WAVE_REMOVE = 0.8


@dataclass
class Effect:
    """A scenario in force on one day: its scope as codes, and the factor 1 + magnitude * ramp."""

    active: Active
    scope: dict[str, int]
    factor: float

    def mask(self, codes: dict[str, np.ndarray], n: int, skip: str | None = None) -> np.ndarray:
        """Rows inside the scope (ignoring dimension `skip`)."""
        m = np.ones(n, dtype=bool)
        for dim, code in self.scope.items():
            if dim != skip:
                m &= codes[dim] == code
        return m


def effects_on(day: int, actives: list[Active], world: World) -> list[Effect]:
    """The scenarios in force on a day."""
    values = {**STATIC_VALUES, "app_version": world.app_versions, "model_version": world.model_versions}
    out = []
    for a in actives:
        ramp = a.ramp(day)
        if ramp > 0:
            scope = {d: values[d].index(v) for d, v in a.scenario.scope.items()}
            out.append(Effect(a, scope, 1.0 + a.scenario.magnitude * ramp))
    return out


def factor(effects: list[Effect], target: str, codes: dict[str, np.ndarray], n: int) -> np.ndarray:
    """Product of the factors of every effect on `target`, per row."""
    f = np.ones(n)
    for e in effects:
        if target in e.active.kind.targets:
            f[e.mask(codes, n)] *= e.factor
    return f


def categorical(rng: np.random.Generator, weights: np.ndarray) -> np.ndarray:
    """One draw per row from row-wise (unnormalised) weights of shape (n, k)."""
    cdf = np.cumsum(weights, axis=1)
    u = rng.random(len(weights)) * cdf[:, -1]
    return np.minimum((u[:, None] >= cdf).sum(axis=1), weights.shape[1] - 1).astype(np.int8)


def sample(weights: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Indices drawn with probability proportional to `weights`, one per uniform in `u` (inverse CDF).

    The uniforms are looked up in sorted order (the binary searches then walk the CDF in order, several times
    faster on large pools) and the draws are put back in the rows' order.
    """
    cdf = np.cumsum(weights)
    order = np.argsort(u)
    out = np.empty(len(u), dtype=np.int64)
    out[order] = np.minimum(np.searchsorted(cdf, u[order] * cdf[-1], side="right"), len(weights) - 1)
    return out


def seconds_of_day(rng: np.random.Generator, tz_hours: np.ndarray) -> np.ndarray:
    """UTC second of the day for events following the local daily curve."""
    hour = np.searchsorted(DIURNAL_CDF, rng.random(len(tz_hours)), side="right")
    local = hour * 3600 + rng.random(len(tz_hours)) * 3600
    return np.mod(local - tz_hours * 3600, 86_400)


class Population:
    """Creators and the pool of recent videos, grown day by day (creator and video ids are sequential)."""

    def __init__(self, world: World):
        self.world = world
        rng = np.random.default_rng([world.seed, 0xC4EA7])
        n = W.SCALES[world.scale][2]
        age = np.ceil(rng.exponential(W.CREATOR_AGE_MEAN_DAYS, n)).astype(np.int32)
        self.c = _draw_creators(rng, -age, pop_cut=None)
        self.top_cut = float(np.quantile(self.c["pop"], 0.99))
        self.activity_norm = float(self.c["activity"].sum())
        self.c["top"] = self.c["pop"] >= self.top_cut
        self.next_video = 1
        # back catalogue: the videos of the POOL_DAYS before the window, so day 0 has a full pool
        days_alive = np.clip(-self.c["join_day"], 0, W.POOL_DAYS)
        rate = self.upload_rate(0) * days_alive
        counts = rng.poisson(np.minimum(rate, W.MAX_UPLOADS_PER_DAY * days_alive))
        creator = np.repeat(np.arange(n), counts)
        up_day = -1 - np.floor(rng.random(len(creator)) * days_alive[creator]).astype(np.int32)
        self.pools = self._split(self._draw_videos(rng, creator, up_day))

    @property
    def n_creators(self) -> int:
        return len(self.c["pop"])

    def upload_rate(self, day: int) -> np.ndarray:
        """Expected uploads per creator on a day (zero before joining and after churning)."""
        c, w = self.c, self.world
        alive = (c["join_day"] <= day) & (c["churn_day"] > day)
        act = np.where(alive, c["activity"], 0.0)
        total = w.uploads_per_day * (1 + W.GROWTH_PER_DAY) ** day * W.WEEKLY[w.date_of(day).weekday()]
        # normalise on the starting population so joins and churn change the volume
        return np.minimum(total * act / self.activity_norm, W.MAX_UPLOADS_PER_DAY)

    def join(self, rng: np.random.Generator, day: int) -> None:
        """Add the creators joining on a day."""
        n = rng.poisson(W.JOIN_RATE * W.SCALES[self.world.scale][2])
        new = _draw_creators(rng, np.full(n, day, dtype=np.int32), pop_cut=self.top_cut)
        for k in self.c:
            self.c[k] = np.concatenate([self.c[k], new[k]])

    def creator_codes(self, creator: np.ndarray, day: int) -> dict[str, np.ndarray]:
        """Scope codes of the creators' dimensions on a day."""
        c = self.c
        return {
            "region": c["region"][creator],
            "tier": c["tier"][creator],
            "creator_age": np.where(day - c["join_day"][creator] < W.NEW_CREATOR_DAYS, NEW, ESTABLISHED),
        }

    def _draw_videos(self, rng: np.random.Generator, creator: np.ndarray, up_day: np.ndarray) -> dict:
        n = len(creator)
        fmt = rng.choice(len(FORMATS), size=n, p=W.UPLOAD_FORMAT_MIX).astype(np.int8)
        own = rng.random(n) < W.PRIMARY_CATEGORY_SHARE
        cat = np.where(own, self.c["category"][creator], rng.choice(len(CATEGORIES), size=n, p=W.CATEGORY_MIX))
        dur = np.empty(n)
        for f, name in enumerate(FORMATS):
            med, sig, lo, hi = W.DURATION[name]
            sel = fmt == f
            dur[sel] = np.clip(med * rng.lognormal(0, sig, sel.sum()), lo, hi)
        ids = np.arange(self.next_video, self.next_video + n, dtype=np.int64)
        self.next_video += n
        s = W.VIDEO_ENGAGEMENT_SIGMA
        return {
            "video_id": ids,
            "creator": creator.astype(np.int64),
            "format": fmt,
            "category": cat.astype(np.int8),
            "duration_ms": np.round(dur * 1000).astype(np.int32),
            "up_day": up_day.astype(np.int32),
            "weight": self.c["pop"][creator] * rng.lognormal(0, W.VIDEO_VIRALITY_SIGMA, n),
            "engagement": rng.lognormal(-s * s / 2, s, n),
        }

    @staticmethod
    def _split(videos: dict) -> list[dict]:
        """One candidate pool per format (impressions pick a format first, then a video of it)."""
        return [{k: a[videos["format"] == f] for k, a in videos.items()} for f in range(len(FORMATS))]

    def upload(self, rng: np.random.Generator, day: int, effects: list[Effect]) -> dict:
        """Today's uploads (added to the pool from tomorrow); returns their rows as codes."""
        rate = self.upload_rate(day)
        every = np.arange(self.n_creators)
        rate *= factor(effects, "upload_rate", self.creator_codes(every, day), len(every))
        creator = np.repeat(every, rng.poisson(rate))
        videos = self._draw_videos(rng, creator, np.full(len(creator), day))
        for f, (pool, new) in enumerate(zip(self.pools, self._split(videos), strict=True)):
            keep = pool["up_day"] > day - W.POOL_DAYS
            self.pools[f] = {k: np.concatenate([pool[k][keep], new[k]]) for k in pool}
        tz = W.REGION_TZ[self.c["region"][creator]]
        videos["ts"] = self.world_day_us(day) + (seconds_of_day(rng, tz) * 1e6).astype(np.int64)
        return videos

    def world_day_us(self, day: int) -> int:
        """Microseconds since the epoch at 00:00 UTC of a window day."""
        return day_us(self.world, day)


def day_us(world: World, day: int) -> int:
    """Microseconds since the epoch at 00:00 UTC of a window day."""
    return (world.start.toordinal() - EPOCH_ORDINAL + day) * DAY_US


def _draw_creators(rng: np.random.Generator, join_day: np.ndarray, pop_cut: float | None) -> dict:
    """Creators with Pareto popularity, upload activity correlated with it, and tiers from their followers."""
    n = len(join_day)
    u = rng.random(n)
    pop = np.minimum((1 - u) ** (-1 / W.POPULARITY_ALPHA), 1e6)
    rho = W.ACTIVITY_POP_CORR
    z = rho * ndtri(np.clip(u, 1e-12, 1 - 1e-12)) + np.sqrt(1 - rho * rho) * rng.standard_normal(n)
    followers = W.FOLLOWER_SCALE * pop**W.FOLLOWER_POWER * rng.lognormal(0, 0.3, n)
    return {
        "region": rng.choice(len(REGIONS), size=n, p=W.REGION_SHARE).astype(np.int8),
        "category": rng.choice(len(CATEGORIES), size=n, p=W.CATEGORY_MIX).astype(np.int8),
        "join_day": join_day.astype(np.int32),
        "churn_day": (np.maximum(join_day, 0) + np.ceil(rng.exponential(1 / W.CHURN_RATE, n))).astype(np.int32),
        "pop": pop,
        "activity": np.exp(W.ACTIVITY_SIGMA * z),
        "tier": np.searchsorted(W.TIER_CUTS, followers, side="right").astype(np.int8),
        "top": pop >= pop_cut if pop_cut is not None else np.zeros(n, dtype=bool),
    }


def impressions(rng: np.random.Generator, pop: Population, day: int, effects: list[Effect]) -> dict:
    """Today's impressions as arrays (codes for the string columns)."""
    w = pop.world
    weekday = w.date_of(day).weekday()
    # who watches: users weighted by activity, lifted in markets on holiday
    lift = np.zeros(len(REGIONS))
    for h_day, region, _ in w.holidays:
        if h_day == day:
            if region < 0:
                lift += W.HOLIDAY_LIFT
            else:
                lift[region] += W.HOLIDAY_LIFT
    uw = w.user_activity * (1 + lift[w.user_region])
    total = w.impressions_per_day * (1 + W.GROWTH_PER_DAY) ** day * W.WEEKLY[weekday]
    n = int(round(total * uw.sum() / w.user_activity.sum() * rng.lognormal(0, 0.02)))
    user = sample(uw, rng.random(n))
    region, os = w.user_region[user], w.user_os[user]
    codes = {"region": region, "os": os, "app_version": w.app_version_index(day, os, w.user_lag[user])}

    # where (surface) and which format, with mix-shift and exposure scenarios reweighting the choices
    sw = np.tile(W.SURFACE_MIX, (n, 1))
    _reweight(sw, effects, "segment_weight", "surface", codes, n)
    codes["surface"] = categorical(rng, sw)
    fw = W.FORMAT_MIX * W.REGION_FORMAT_TILT[region]
    _reweight(fw, effects, "segment_weight", "format", codes, n)
    _reweight(fw, effects, "format_weight", "format", codes, n)
    codes["format"] = categorical(rng, fw)

    # which video: by format pool, creator popularity x virality x recency, exposure scenarios per group
    v = _pick_videos(rng, pop, day, effects, codes, n)
    creator = v["creator"]
    creator_codes = pop.creator_codes(creator, day)
    codes |= {"category": v["category"], "tier": creator_codes["tier"], "creator_age": creator_codes["creator_age"]}

    # interactions: multiplicative base rates, then scenario factors
    fmt, surf, cat = codes["format"], codes["surface"], codes["category"]
    p = W.BASE_RATE * W.FORMAT_FACTOR[fmt] * W.SURFACE_FACTOR[surf]
    eng = W.REGION_ENGAGEMENT[region] * W.CATEGORY_ENGAGEMENT[cat] * W.OS_ENGAGEMENT[os] * v["engagement"]
    if weekday >= 5:
        eng = eng * W.WEEKEND_ENGAGEMENT
    p[:, :4] *= eng[:, None]
    p[:, 4:] *= W.CATEGORY_RISK[cat][:, None]
    for j, action in enumerate(W.ACTIONS):
        p[:, j] *= factor(effects, f"p_{action}", codes, n)
    acted = rng.random((n, len(W.ACTIONS))) < p

    # watch time: quick skips, a lognormal ratio that is higher for shorter videos, a few replays, stalls
    duration = v["duration_ms"]
    skip, med, sig, replay = (np.array([W.WATCH[f][i] for f in FORMATS])[fmt] for i in range(4))
    med_dur = np.array([W.DURATION[f][0] for f in FORMATS])[fmt] * 1000
    ratio = med * (duration / med_dur) ** -W.WATCH_DURATION_ELASTICITY * np.exp(sig * rng.standard_normal(n))
    r = rng.random(n)
    ratio = np.where(r < skip, 0.02 + 0.33 * rng.random(n), ratio + (r > 1 - replay))
    stall = 1 - factor(effects, "stall", codes, n)  # magnitude -0.3 -> 30% of plays cut short
    cut = rng.random(n) < stall
    ratio[cut] = np.minimum(ratio[cut], 1.0) * (0.05 + 0.85 * rng.random(cut.sum()))
    watch = np.minimum(np.round(ratio * duration), 2**31 - 1).astype(np.int32)

    ts = pop.world_day_us(day) + (seconds_of_day(rng, W.REGION_TZ[region]) * 1e6).astype(np.int64)
    order = np.argsort(ts, kind="stable")
    cols = {
        "ts": ts,
        "user_id": user.astype(np.int64) + 1,
        "video_id": v["video_id"],
        "creator_id": creator + 1,
        "region": region,
        "format": fmt,
        "category": cat,
        "surface": surf,
        "os": os,
        "app_version": codes["app_version"],
        "duration_ms": duration,
        "watch_ms": watch,
    }
    cols |= {a: acted[:, j] for j, a in enumerate(W.ACTIONS)}
    return {k: a[order] for k, a in cols.items()}


def _reweight(weights: np.ndarray, effects: list[Effect], target: str, dim: str, codes: dict, n: int) -> None:
    """Multiply the column of the scoped value of `dim` by the effect's factor, in rows inside the rest of the scope."""
    for e in effects:
        if target in e.active.kind.targets and dim in e.scope:
            weights[e.mask(codes, n, skip=dim), e.scope[dim]] *= e.factor


def _pick_videos(
    rng: np.random.Generator, pop: Population, day: int, effects: list[Effect], codes: dict, n: int
) -> dict[str, np.ndarray]:
    """The video of each impression: drawn from its format's pool by creator popularity x virality x recency
    (new creators boosted), with exposure scenarios reweighting the rows of their scope (one draw per group)."""
    c = pop.c
    mods = [e for e in effects if {"top_creator_weight", "new_creator_weight"} & set(e.active.kind.targets)]
    key = codes["format"].astype(np.int64)
    for j, e in enumerate(mods):
        key = key | (e.mask(codes, n).astype(np.int64) << (8 + j))
    u = rng.random(n)
    out = {k: np.empty(n, dtype=a.dtype) for k, a in pop.pools[0].items()}
    for f, pool in enumerate(pop.pools):
        age = day - pool["up_day"]
        base = np.where(age > 0, pool["weight"] * (np.exp(-age / W.DECAY_DAYS) + W.DECAY_FLOOR), 0.0)
        is_new = day - c["join_day"][pool["creator"]] < W.NEW_CREATOR_DAYS
        base = np.where(is_new, base * W.NEW_CREATOR_BOOST, base)
        for k in np.unique(key[codes["format"] == f]):
            rows = np.flatnonzero(key == k)
            w = base
            for j, e in enumerate(mods):
                if k >> (8 + j) & 1:
                    hit = c["top"][pool["creator"]] if "top_creator_weight" in e.active.kind.targets else is_new
                    w = np.where(hit, w * e.factor, w)
            idx = sample(w, u[rows])
            for name, a in pool.items():
                out[name][rows] = a[idx]
    return out


def moderation(
    rng: np.random.Generator,
    pop: Population,
    day: int,
    effects_for: Callable[[int], list[Effect]],
    up: dict,
) -> dict:
    """Decisions on today's flagged uploads, with their decision and appeal times (codes for strings).

    `effects_for(day)` gives the scenarios in force on any day (decisions can fall on later days).
    """
    effects = effects_for(day)
    w = pop.world
    creator = up["creator"]
    n_up = len(creator)
    codes = {"format": up["format"], "category": up["category"]} | pop.creator_codes(creator, day)
    # flags: the category's risk, plus a spam wave's extra spam flags from its scope
    flagged = rng.random(n_up) < W.FLAG_RATE * W.CATEGORY_RISK[up["category"]]
    spam_extra = factor(effects, "spam", codes, n_up) - 1
    spam_flag = rng.random(n_up) < W.FLAG_RATE * W.POLICY_MIX[SPAM] * spam_extra
    rows = np.flatnonzero(flagged | spam_flag)
    wave = spam_flag[rows] & ~flagged[rows]
    n = len(rows)
    codes = {k: a[rows] for k, a in codes.items()}
    policy = np.where(wave, SPAM, rng.choice(len(POLICIES), size=n, p=W.POLICY_MIX)).astype(np.int8)
    source = (rng.random(n) >= W.P_AUTOMATED).astype(np.int8)  # 0 automated, 1 human
    model = np.where(source == 0, w.model_version_index(day), -1)
    codes |= {"policy": policy, "source": source, "model_version": model}

    p_remove = np.where(wave, SPAM_WAVE_REMOVE, W.P_REMOVE[policy]) * factor(effects, "p_removed", codes, n)
    p_remove = np.minimum(p_remove, 0.95)
    p_restrict = np.minimum(W.P_RESTRICT[policy], 1 - p_remove)
    r = rng.random(n)
    decision = np.where(r < p_remove, 0, np.where(r < p_remove + p_restrict, 1, 2)).astype(np.int8)

    med = np.where(source == 0, W.REVIEW_AUTOMATED[0], W.REVIEW_HUMAN[0])
    sig = np.where(source == 0, W.REVIEW_AUTOMATED[1], W.REVIEW_HUMAN[1])
    hours = med * np.exp(sig * rng.standard_normal(n))
    # a review backlog slows the decisions that would have been taken while it lasts (by decision day, so the
    # latency of the day's decisions jumps when it starts rather than creeping up over the tail of uploads)
    due_day = (up["ts"][rows] + (hours * HOUR_MS * 1000).astype(np.int64)) // DAY_US - (pop.world_day_us(0) // DAY_US)
    for d in np.unique(due_day):
        sel = due_day == d
        sel_codes = {k: a[sel] for k, a in codes.items()}
        hours[sel] *= factor(effects_for(int(d)), "review_time", sel_codes, int(sel.sum()))
    review_ms = np.maximum(np.round(hours * HOUR_MS), 1000).astype(np.int64)
    ts = up["ts"][rows] + review_ms * 1000

    p_appeal = np.minimum(W.P_APPEAL * factor(effects, "p_appeal", codes, n), 0.95)
    appealed = (decision == 0) & (rng.random(n) < p_appeal)
    p_over = np.minimum(W.P_OVERTURN[source] * factor(effects, "p_overturn", codes, n), 0.95)
    overturned = rng.random(n) < p_over
    delay_h = W.APPEAL_DELAY[0] * np.exp(W.APPEAL_DELAY[1] * rng.standard_normal(n))
    appeal_ts = ts + np.round(delay_h * HOUR_MS).astype(np.int64) * 1000
    decided = appealed & (appeal_ts < pop.world_day_us(w.days))
    return {
        "ts": ts,
        "video_id": up["video_id"][rows],
        "creator_id": creator[rows] + 1,
        "region": codes["region"],
        "format": codes["format"],
        "category": codes["category"],
        "policy": policy,
        "decision": decision,
        "source": source,
        "model_version": model,
        "review_ms": review_ms,
        "appealed": appealed,
        "appeal_outcome": np.where(decided, np.where(overturned, 1, 0), -1),
        "appeal_ts": np.where(decided, appeal_ts, -1),
    }
