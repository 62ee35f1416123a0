"""A tiny hand-made data folder (seeded) for metric tests: few rows, every contract column, some NULLs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ecoradar.data.schema import TABLES

START = dt.date(2026, 3, 1)


def _pick(rng: np.random.Generator, values, n: int, p=None, null: float = 0.0) -> list:
    out = rng.choice(np.array(values, dtype=object), size=n, p=p)
    if null:
        out[rng.random(n) < null] = None
    return list(out)


def _write(folder: Path, table: str, frame: pd.DataFrame, day: dt.date | None) -> None:
    arrow = pa.Table.from_pandas(frame, schema=TABLES[table], preserve_index=False)
    path = folder / table / (f"date={day.isoformat()}" if day else "") / "part-0.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(arrow, path)


def make_data(folder: Path, *, days: int = 3, impressions: int = 1500, seed: int = 7) -> dict[str, pd.DataFrame]:
    """Write impressions, uploads, moderation (one partition per day) and creators; return them as DataFrames."""
    rng = np.random.default_rng(seed)
    n_creators = 150
    creators = pd.DataFrame(
        {
            "creator_id": np.arange(1, n_creators + 1, dtype="int64"),
            "region": _pick(rng, ["US", "BR", "JP"], n_creators),
            "tier": _pick(rng, ["nano", "micro", "mid", "macro"], n_creators, p=[0.4, 0.3, 0.2, 0.1]),
            "join_date": [START + dt.timedelta(days=int(k)) for k in rng.integers(-90, days, n_creators)],
            "primary_category": _pick(rng, ["comedy", "food", "news"], n_creators),
        }
    )
    _write(folder, "creators", creators, None)
    weights = 1.0 / np.arange(1, n_creators + 1) ** 1.1
    weights /= weights.sum()
    frames: dict[str, list[pd.DataFrame]] = {"impressions": [], "uploads": [], "moderation": []}
    for k in range(days):
        day = START + dt.timedelta(days=k)
        midnight = pd.Timestamp(day)
        n = impressions + 37 * k

        def ts(count: int, base=midnight) -> pd.Series:
            return base + pd.to_timedelta(rng.integers(0, 86_400_000, count), unit="ms")

        duration = rng.integers(1_000, 60_000, n).astype("int32")
        duration[rng.random(n) < 0.01] = 0  # out of contract on purpose: division by zero must give NULL
        imp = pd.DataFrame(
            {
                "ts": ts(n),
                "user_id": rng.integers(1, 400, n),
                "video_id": rng.integers(1, 5_000, n),
                "creator_id": rng.choice(creators["creator_id"].to_numpy(), size=n, p=weights),
                "region": _pick(rng, ["US", "BR", "JP"], n, p=[0.5, 0.3, 0.2]),
                "format": _pick(rng, ["short_video", "long_video", "photo", "live"], n, p=[0.55, 0.2, 0.15, 0.1]),
                "category": _pick(rng, ["comedy", "food", "news"], n),
                "surface": _pick(rng, ["for_you", "following"], n, p=[0.8, 0.2]),
                "os": _pick(rng, ["ios", "android"], n),
                "app_version": _pick(rng, ["34.1.0", "34.2.0"], n, null=0.03),
                "duration_ms": duration,
                "watch_ms": (duration * rng.uniform(0, 1.6, n)).astype("int32"),
            }
        )
        for flag, p in [
            ("liked", 0.08),
            ("shared", 0.02),
            ("commented", 0.03),
            ("followed", 0.01),
            ("not_interested", 0.01),
            ("reported", 0.005),
        ]:
            values = pd.array(rng.random(n) < p, dtype="boolean")
            values[rng.random(n) < 0.01] = pd.NA
            imp[flag] = values
        frames["impressions"].append(imp)
        m = 120 + 5 * k
        up = pd.DataFrame(
            {
                "ts": ts(m),
                "video_id": rng.integers(1, 5_000, m),
                "creator_id": rng.choice(creators["creator_id"].to_numpy(), size=m),
                "region": _pick(rng, ["US", "BR", "JP"], m),
                "format": _pick(rng, ["short_video", "long_video", "photo", "live"], m),
                "category": _pick(rng, ["comedy", "food", "news"], m),
                "duration_ms": rng.integers(1_000, 60_000, m).astype("int32"),
            }
        )
        frames["uploads"].append(up)
        q = 90 + 3 * k
        decision = _pick(rng, ["removed", "restricted", "approved"], q, p=[0.5, 0.2, 0.3])
        source = _pick(rng, ["automated", "human"], q, p=[0.7, 0.3])
        appealed = [d == "removed" and r < 0.4 for d, r in zip(decision, rng.random(q), strict=True)]
        outcome = [rng.choice(["upheld", "overturned", None]) if a else None for a in appealed]
        mod = pd.DataFrame(
            {
                "ts": ts(q),
                "video_id": rng.integers(1, 5_000, q),
                "creator_id": rng.choice(creators["creator_id"].to_numpy(), size=q),
                "region": _pick(rng, ["US", "BR", "JP"], q),
                "format": _pick(rng, ["short_video", "long_video", "photo", "live"], q),
                "category": _pick(rng, ["comedy", "food", "news"], q),
                "policy": _pick(rng, ["spam", "hate", "other"], q),
                "decision": decision,
                "source": source,
                "model_version": [rng.choice(["m1", "m2"]) if s == "automated" else None for s in source],
                "review_ms": rng.integers(60_000, 3 * 86_400_000, q),
                "appealed": appealed,
                "appeal_outcome": outcome,
                "appeal_ts": [midnight + pd.Timedelta(days=2) if o else None for o in outcome],
            }
        )
        frames["moderation"].append(mod)
        for table in frames:
            _write(folder, table, frames[table][-1], day)
    out = {t: pd.concat(f, ignore_index=True) for t, f in frames.items()}
    out["creators"] = creators
    return out
