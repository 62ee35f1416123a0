"""The static world model: calibrated constants (see ../shared/research/realism.md) and the seeded population."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from ecoradar.data.schema import (
    CATEGORIES,
    CREATOR_AGES,
    FORMATS,
    OSES,
    POLICIES,
    REGIONS,
    SOURCES,
    SURFACES,
    TIERS,
)
from ecoradar.errors import unknown

# --- traffic ---------------------------------------------------------------------------------------------------

#: Share of viewers (and of creators) per market, and their UTC offset in hours (for the daily curve).
REGION_SHARE = np.array([0.22, 0.10, 0.08, 0.16, 0.18, 0.08, 0.10, 0.08])  # US GB DE BR ID JP MX TR
REGION_TZ = np.array([-5, 0, 1, -3, 7, 9, -6, 3])
#: Share of iOS users per market.
REGION_IOS = np.array([0.55, 0.50, 0.35, 0.20, 0.10, 0.65, 0.20, 0.20])
#: Engagement propensity per market (multiplies every interaction rate).
REGION_ENGAGEMENT = np.array([1.0, 0.9, 0.8, 1.25, 1.15, 0.7, 1.2, 1.1])

#: Exposure mix of formats (short video dominant, then photo, long video, live), and per-market tilts.
FORMAT_MIX = np.array([0.72, 0.09, 0.14, 0.05])  # short_video long_video photo live
REGION_FORMAT_TILT = np.array(
    [
        [1.0, 1.2, 0.9, 1.0],  # US
        [1.0, 1.1, 1.0, 0.8],  # GB
        [1.0, 1.3, 1.0, 0.7],  # DE
        [1.0, 0.8, 1.1, 1.3],  # BR
        [1.0, 0.7, 1.0, 1.6],  # ID
        [1.0, 1.0, 1.5, 0.7],  # JP
        [1.0, 0.9, 1.0, 1.2],  # MX
        [1.0, 0.9, 1.0, 1.4],  # TR
    ]
)
#: Surfaces an impression comes from.
SURFACE_MIX = np.array([0.74, 0.13, 0.07, 0.06])  # for_you following search profile

#: Day-of-week traffic factor, Monday first: weekends are busier.
WEEKLY = np.array([0.95, 0.94, 0.95, 0.97, 1.03, 1.09, 1.07])
#: Traffic growth per day (about +16% over 60 days).
GROWTH_PER_DAY = 0.0025
#: Extra traffic in a market on its holidays.
HOLIDAY_LIFT = 0.15
#: Interaction rates are a little higher on weekends (people have time).
WEEKEND_ENGAGEMENT = 1.03

#: Fixed-date holidays: (month, day, region or None for every market, name).
HOLIDAYS = (
    (1, 1, None, "New Year's Day"),
    (1, 2, "JP", "Shogatsu"),
    (1, 3, "JP", "Shogatsu"),
    (1, 6, "MX", "Dia de Reyes"),
    (2, 14, None, "Valentine's Day"),
    (3, 8, "TR", "International Women's Day"),
    (4, 23, "TR", "Children's Day"),
    (5, 1, None, "Labour Day"),
    (7, 4, "US", "Independence Day"),
    (8, 17, "ID", "Independence Day"),
    (9, 7, "BR", "Independence Day"),
    (9, 16, "MX", "Independence Day"),
    (10, 3, "DE", "German Unity Day"),
    (10, 29, "TR", "Republic Day"),
    (12, 25, None, "Christmas Day"),
    (12, 26, "GB", "Boxing Day"),
    (12, 31, None, "New Year's Eve"),
)

# --- interactions ----------------------------------------------------------------------------------------------

#: Interactions, in the order of the factor columns below.
ACTIONS = ("liked", "shared", "commented", "followed", "not_interested", "reported")
#: Base rate per impression (short video on for_you); aggregates land at like ~1.8%, comment and share ~0.2%,
#: not_interested ~0.09%, report << not_interested.
BASE_RATE = np.array([0.0155, 0.0016, 0.0016, 0.0012, 0.00118, 0.00018])
FORMAT_FACTOR = np.array(
    [
        [1.0, 1.0, 1.0, 1.0, 1.0, 1.0],  # short_video
        [1.2, 0.9, 1.3, 1.4, 0.7, 0.9],  # long_video
        [0.9, 1.2, 0.6, 0.8, 1.1, 1.0],  # photo
        [0.7, 1.4, 4.0, 1.8, 1.3, 1.8],  # live
    ]
)
SURFACE_FACTOR = np.array(
    [
        [1.0, 1.0, 1.0, 1.0, 1.0, 1.0],  # for_you
        [1.4, 1.0, 1.5, 0.15, 0.4, 0.5],  # following
        [1.8, 1.3, 1.1, 1.5, 0.5, 0.7],  # search
        [1.5, 1.2, 1.3, 2.0, 0.3, 0.6],  # profile
    ]
)
#: Per category: engagement factor (like/share/comment/follow) and risk factor (not_interested/report/flags).
CATEGORY_ENGAGEMENT = np.array([1.15, 1.0, 0.9, 1.1, 0.7, 0.8, 0.95, 1.05, 1.3, 0.95])
CATEGORY_RISK = np.array([0.9, 0.8, 1.2, 1.0, 1.8, 0.7, 1.1, 0.9, 0.6, 0.8])
CATEGORY_MIX = np.array([0.15, 0.10, 0.12, 0.10, 0.05, 0.06, 0.10, 0.12, 0.10, 0.10])
OS_ENGAGEMENT = np.array([1.05, 0.97])  # ios android
#: Spread of per-video appeal (lognormal sigma) on interaction rates.
VIDEO_ENGAGEMENT_SIGMA = 0.25

# --- durations and watch time ----------------------------------------------------------------------------------

#: Duration in seconds per format: lognormal median, sigma, clip range (KuaiRec short-video median ~10 s).
DURATION = {
    "short_video": (11.0, 0.6, 3.0, 180.0),
    "long_video": (240.0, 0.6, 60.0, 3600.0),
    "photo": (9.0, 0.4, 3.0, 60.0),
    "live": (900.0, 0.7, 120.0, 14400.0),
}
#: Watch ratio per format: share of quick skips, lognormal median and sigma for the rest, replay share.
#: Tuned so the watch-ratio median is ~0.7-0.8 and ~15% of impressions complete (realism.md B1/B3).
WATCH = {
    "short_video": (0.22, 0.78, 0.26, 0.025),
    "long_video": (0.30, 0.55, 0.45, 0.0),
    "photo": (0.15, 0.80, 0.30, 0.02),
    "live": (0.35, 0.30, 0.80, 0.0),
}
#: Shorter videos complete more: the watch-ratio median scales with (duration / median duration) ** -this.
WATCH_DURATION_ELASTICITY = 0.10

# --- creators and uploads --------------------------------------------------------------------------------------

#: Pareto tail index of creator popularity (realism.md B3: alpha ~1.0-1.2).
POPULARITY_ALPHA = 1.35
#: Spread of per-video virality (lognormal sigma) on top of the creator's popularity.
VIDEO_VIRALITY_SIGMA = 0.6
#: Recency decay of a video's exposure weight: exp(-age / days) + floor (evergreen share).
DECAY_DAYS = 4.0
DECAY_FLOOR = 0.03
#: Only videos younger than this are candidates for impressions.
POOL_DAYS = 28
#: Followers = scale * popularity ** power * lognormal noise; tiers cut at 1k/10k/100k/1M followers.
FOLLOWER_SCALE, FOLLOWER_POWER = 200.0, 1.4
TIER_CUTS = np.array([1e3, 1e4, 1e5, 1e6])
#: Upload activity is lognormal with this sigma (top 25% of creators make ~98% of uploads), correlated with
#: popularity with this coefficient; one creator uploads at most this many videos a day.
ACTIVITY_SIGMA, ACTIVITY_POP_CORR, MAX_UPLOADS_PER_DAY = 2.8, 0.3, 30.0
#: Format mix of uploads and the share of a creator's uploads in their primary category.
UPLOAD_FORMAT_MIX = np.array([0.70, 0.07, 0.20, 0.03])
PRIMARY_CATEGORY_SHARE = 0.8
#: Mean creator age at the window start (days); ~8% are 'new' (< 30 days).
CREATOR_AGE_MEAN_DAYS = 365.0
#: New creators per day (share of the starting population) and churn hazard per day.
JOIN_RATE, CHURN_RATE = 0.003, 0.0015
#: Exposure boost of videos by new creators (cold start), which the new_creator_exposure scenario cuts.
NEW_CREATOR_BOOST = 2.0
#: A creator is 'new' for this many days after joining (schema.DIMENSIONS).
NEW_CREATOR_DAYS = 30

# --- moderation ------------------------------------------------------------------------------------------------

#: Share of uploads flagged for review, times the category risk factor.
FLAG_RATE = 0.05
#: Policy mix of flags (sensitive/mature ~30%, minor safety large, spam, ...), in POLICIES order:
#: spam violence adult hate misinformation minor_safety ip other.
POLICY_MIX = np.array([0.15, 0.10, 0.28, 0.08, 0.07, 0.20, 0.05, 0.07])
#: Probability that a flag ends in removal / restriction, per policy.
P_REMOVE = np.array([0.30, 0.18, 0.18, 0.15, 0.12, 0.20, 0.15, 0.10])
P_RESTRICT = np.array([0.05, 0.15, 0.20, 0.10, 0.15, 0.10, 0.05, 0.10])
#: Share of decisions taken by automation (realism.md B2: 75-87% of removals automated).
P_AUTOMATED = 0.80
#: Review latency (lognormal median in hours, sigma) for automated and human decisions: ~94% within 24 h.
REVIEW_AUTOMATED = (10 / 60, 1.5)
REVIEW_HUMAN = (10.0, 1.4)
#: Appeals: share of removals appealed and the overturn probability for automated / human removals. TikTok
#: restores 3.3-5.7% of removals (realism.md B2); 12% appealed x ~35% overturned gives ~4%.
P_APPEAL = 0.12
P_OVERTURN = np.array([0.38, 0.22])  # automated human
#: Time to an appeal decision: lognormal median in hours, sigma.
APPEAL_DELAY = (48.0, 0.6)

# --- release calendars (days relative to the window start) -----------------------------------------------------

#: App version k (34.k.0) ships on iOS at APP_FIRST + k * APP_EVERY; Android a couple of days later.
APP_MAJOR, APP_FIRST, APP_EVERY, ANDROID_DELAY = 34, -35, 21, 2
#: Users update after an exponential lag (days): most within days, some late, a few never.
UPDATE_LAG = ((0.70, 4.0), (0.25, 15.0), (0.05, 1e9))
#: Automated-moderation classifier versions: clf-K ships at MODEL_FIRST + k * MODEL_EVERY.
MODEL_BASE, MODEL_FIRST, MODEL_EVERY = 7, -40, 24

#: Per scale: impressions per day at the start, users, creators at the start, uploads per day at the start.
SCALES: dict[str, tuple[int, int, int, int]] = {
    "tiny": (8_000, 400, 1_500, 5_000),
    "small": (50_000, 2_500, 6_000, 30_000),
    "default": (320_000, 16_000, 25_000, 100_000),
    "large": (1_500_000, 75_000, 80_000, 300_000),
}
#: Users per impression (plays per user-day ~45 in KuaiRec; the pool is larger than the daily actives).
DAILY_PLAYS_PER_USER = 45


def version_name(k: int) -> str:
    """App version k as shown in the data, e.g. 34.2.0."""
    return f"{APP_MAJOR}.{k}.0"


@dataclass
class World:
    """Everything fixed before day 0: users, the starting creators, release calendars, holidays."""

    start: date
    days: int
    seed: int
    scale: str
    impressions_per_day: int
    uploads_per_day: int
    # users
    user_region: np.ndarray
    user_os: np.ndarray
    user_activity: np.ndarray
    user_lag: np.ndarray
    # release calendars: day each app version ships per os (rows: versions, cols: ios, android)
    app_release: np.ndarray
    app_versions: tuple[str, ...]
    model_release: np.ndarray
    model_versions: tuple[str, ...]
    # holidays inside the window: (day, region index or -1, name)
    holidays: list[tuple[int, int, str]] = field(default_factory=list)

    def date_of(self, day: int) -> date:
        """Calendar date of a window day."""
        return self.start + timedelta(days=day)

    def app_version_index(self, day: int, os: np.ndarray, lag: np.ndarray) -> np.ndarray:
        """Installed app version per user on a day (index into app_versions); version 0 is everyone's floor."""
        out = np.zeros(len(os), dtype=np.int16)
        for k in range(1, len(self.app_versions)):
            out[self.app_release[k, os] + lag <= day] = k
        return out

    def model_version_index(self, day: int) -> int:
        """Classifier version serving automated decisions on a day."""
        return int(np.searchsorted(self.model_release, day, side="right") - 1)


def build_world(start: date, days: int, seed: int, scale: str) -> World:
    """Draw the users and calendars of a world (the creators come from Population)."""
    if scale not in SCALES:
        raise unknown("scale", scale, SCALES)
    imp, n_users, _, uploads = SCALES[scale]
    rng = np.random.default_rng([seed, 0xC0FFEE])
    region = rng.choice(len(REGIONS), size=n_users, p=REGION_SHARE).astype(np.int8)
    os = (rng.random(n_users) >= REGION_IOS[region]).astype(np.int8)  # 0 = ios, 1 = android
    activity = rng.lognormal(0.0, 0.9, n_users)
    shares = np.array([s for s, _ in UPDATE_LAG])
    group = rng.choice(len(UPDATE_LAG), size=n_users, p=shares / shares.sum())
    lag = np.ceil(rng.exponential(1.0, n_users) * np.array([m for _, m in UPDATE_LAG])[group])
    lag = np.minimum(lag, 10_000).astype(np.int64)

    n_app = (days - 1 - APP_FIRST) // APP_EVERY + 1
    ios_day = APP_FIRST + APP_EVERY * np.arange(n_app)
    app_release = np.stack([ios_day, ios_day + ANDROID_DELAY], axis=1)
    n_model = (days - 1 - MODEL_FIRST) // MODEL_EVERY + 1
    model_release = MODEL_FIRST + MODEL_EVERY * np.arange(n_model)

    holidays = []
    for day in range(days):
        d = start + timedelta(days=day)
        for month, dom, region_code, name in HOLIDAYS:
            if (d.month, d.day) == (month, dom):
                holidays.append((day, REGIONS.index(region_code) if region_code else -1, name))
    return World(
        start=start,
        days=days,
        seed=seed,
        scale=scale,
        impressions_per_day=imp,
        uploads_per_day=uploads,
        user_region=region,
        user_os=os,
        user_activity=activity,
        user_lag=lag,
        app_release=app_release,
        app_versions=tuple(version_name(k) for k in range(n_app)),
        model_release=model_release,
        model_versions=tuple(f"clf-{MODEL_BASE + k}" for k in range(n_model)),
        holidays=holidays,
    )


def dimension_values(world: World) -> dict[str, tuple[str, ...]]:
    """Every value a truth scope may name, per dimension, for this world."""
    return {
        "region": REGIONS,
        "format": FORMATS,
        "category": CATEGORIES,
        "surface": SURFACES,
        "os": OSES,
        "app_version": world.app_versions,
        "tier": TIERS,
        "creator_age": CREATOR_AGES,
        "policy": POLICIES,
        "source": SOURCES,
        "model_version": world.model_versions,
    }
