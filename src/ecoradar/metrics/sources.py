"""Which columns and dimensions each source table offers to metrics (the contract plus creators-derived ones)."""

from __future__ import annotations

from ecoradar.data.schema import DAILY_TABLES, DIMENSIONS, TABLES

#: Dimensions that come from the creators table, joined on creator_id (computed per row and day).
CREATOR_DIMENSIONS = ("tier", "creator_age")

#: Days since joining under which a creator counts as 'new' (creator_age).
NEW_CREATOR_DAYS = 30

#: The dimensions the built-in metrics of each table slice by (any subset of `dimensions_of(table)` works).
TABLE_DIMENSIONS: dict[str, tuple[str, ...]] = {
    "impressions": ("region", "format", "category", "surface", "os", "app_version", "tier", "creator_age"),
    "uploads": ("region", "format", "category", "tier", "creator_age"),
    "moderation": ("region", "format", "category", "policy", "source", "model_version", "tier"),
}

#: Text that stands for a NULL dimension value in the cube, where NULL means "all".
NONE_VALUE = "(none)"


def source_tables() -> tuple[str, ...]:
    """Tables a metric may read: the daily event tables of the contract."""
    return DAILY_TABLES


def columns_of(table: str) -> tuple[str, ...]:
    """Columns an expression over `table` may use: its own plus tier and creator_age via creators."""
    own = tuple(TABLES[table].names)
    return own + (CREATOR_DIMENSIONS if "creator_id" in own else ())


def dimensions_of(table: str) -> tuple[str, ...]:
    """Dimensions `table` can be sliced by, in cube column order."""
    cols = set(columns_of(table))
    return tuple(d for d in DIMENSIONS if d in cols)
