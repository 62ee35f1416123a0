"""The data contract of ../shared/SCHEMA.md as Arrow schemas, plus the dimensions metrics slice by."""

from __future__ import annotations

import pyarrow as pa

TS = pa.timestamp("us")

TABLES: dict[str, pa.Schema] = {
    "impressions": pa.schema(
        [
            ("ts", TS),
            ("user_id", pa.int64()),
            ("video_id", pa.int64()),
            ("creator_id", pa.int64()),
            ("region", pa.string()),
            ("format", pa.string()),
            ("category", pa.string()),
            ("surface", pa.string()),
            ("os", pa.string()),
            ("app_version", pa.string()),
            ("duration_ms", pa.int32()),
            ("watch_ms", pa.int32()),
            ("liked", pa.bool_()),
            ("shared", pa.bool_()),
            ("commented", pa.bool_()),
            ("followed", pa.bool_()),
            ("not_interested", pa.bool_()),
            ("reported", pa.bool_()),
        ]
    ),
    "uploads": pa.schema(
        [
            ("ts", TS),
            ("video_id", pa.int64()),
            ("creator_id", pa.int64()),
            ("region", pa.string()),
            ("format", pa.string()),
            ("category", pa.string()),
            ("duration_ms", pa.int32()),
        ]
    ),
    "moderation": pa.schema(
        [
            ("ts", TS),
            ("video_id", pa.int64()),
            ("creator_id", pa.int64()),
            ("region", pa.string()),
            ("format", pa.string()),
            ("category", pa.string()),
            ("policy", pa.string()),
            ("decision", pa.string()),
            ("source", pa.string()),
            ("model_version", pa.string()),
            ("review_ms", pa.int64()),
            ("appealed", pa.bool_()),
            ("appeal_outcome", pa.string()),
            ("appeal_ts", TS),
        ]
    ),
    "creators": pa.schema(
        [
            ("creator_id", pa.int64()),
            ("region", pa.string()),
            ("tier", pa.string()),
            ("join_date", pa.date32()),
            ("primary_category", pa.string()),
        ]
    ),
    "events": pa.schema(
        [
            ("ts", TS),
            ("kind", pa.string()),
            ("name", pa.string()),
            ("scope", pa.string()),
            ("description", pa.string()),
        ]
    ),
}

#: Tables with one Hive partition per day (`date=YYYY-MM-DD/`); the others are single files.
DAILY_TABLES = ("impressions", "uploads", "moderation")

#: Every dimension a metric cube can be sliced by, in cube column order. `tier` comes from creators.tier;
#: `creator_age` is derived: 'new' when the creator joined less than 30 days before the day, else 'established'.
DIMENSIONS: tuple[str, ...] = (
    "region",
    "format",
    "category",
    "surface",
    "os",
    "app_version",
    "tier",
    "creator_age",
    "policy",
    "source",
    "model_version",
)

#: Values the simulator draws from (a real platform may have others; nothing downstream hard-codes them).
REGIONS = ("US", "GB", "DE", "BR", "ID", "JP", "MX", "TR")
FORMATS = ("short_video", "long_video", "photo", "live")
CATEGORIES = ("comedy", "food", "gaming", "beauty", "news", "education", "sports", "music", "pets", "travel")
SURFACES = ("for_you", "following", "search", "profile")
OSES = ("ios", "android")
TIERS = ("nano", "micro", "mid", "macro", "mega")
CREATOR_AGES = ("new", "established")
POLICIES = ("spam", "violence", "adult", "hate", "misinformation", "minor_safety", "ip", "other")
DECISIONS = ("removed", "restricted", "approved")
SOURCES = ("automated", "human")
EVENT_KINDS = ("launch", "model_release", "policy_change", "holiday", "incident", "other")
ISSUE_CATEGORIES = (
    "traffic_balance",
    "diversity",
    "creator_experience",
    "moderation",
    "user_experience",
    "content_quality",
    "supply",
)
