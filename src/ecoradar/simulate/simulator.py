"""`simulate()`: build a world, run it day by day, and write the tables of SCHEMA.md plus truth.json atomically."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ecoradar.data.schema import (
    CATEGORIES,
    DAILY_TABLES,
    DECISIONS,
    FORMATS,
    OSES,
    POLICIES,
    REGIONS,
    SOURCES,
    SURFACES,
    TABLES,
    TIERS,
)
from ecoradar.errors import InputError
from ecoradar.simulate import engine
from ecoradar.simulate.scenarios import Active, Scenario, default_scenarios, load_scenarios, place, scope_string
from ecoradar.simulate.world import World, build_world

#: Parquet writer options, fixed so the same arguments give byte-identical files.
PARQUET = {"compression": "zstd", "compression_level": 1, "write_statistics": True}
#: Events with no effect on the data (a real calendar is full of them): kind, name, scope, window fraction.
DECOYS = (
    ("launch", "new sticker pack", "", 0.30),
    ("policy_change", "creator fund terms updated", "", 0.55),
    ("other", "ads load test in GB", "region=GB", 0.75),
)
OUTCOMES = ("upheld", "overturned")


@dataclass
class SimulationResult:
    """What a simulation wrote."""

    out: Path
    """The data folder."""
    paths: dict[str, Path]
    """Table name -> its folder (daily tables) or file; plus 'truth' -> truth.json."""
    rows: dict[str, int]
    """Rows written per table."""
    truth: list[dict]
    """The truth.json records (SCHEMA.md)."""
    seconds: float = 0.0
    """Wall time of the run (not written to any file)."""
    scenarios: list[Scenario] = field(default_factory=list)
    """The scenarios injected."""


def simulate(
    out: Path,
    *,
    days: int = 60,
    start: date = date(2026, 1, 5),
    seed: int = 0,
    scale: str = "default",
    scenarios: list[Scenario] | Path | None = None,
    issues: bool = True,
    on_day: Callable[[int], None] | None = None,
) -> SimulationResult:
    """Simulate `days` days of the ecosystem into the data folder `out` (replaced if it holds a previous world).

    Args:
        out (Path): data folder to write; written to a temporary folder beside it and renamed at the end.
        days (int): window length in days (>= 1).
        start (date): first day.
        seed (int): random seed; the same arguments give byte-identical files.
        scale (str): tiny, small, default or large (impressions per day ~8k, 50k, 320k, 1.5M).
        scenarios (list[Scenario] | Path | None): issues to inject, a YAML file of them, or None for the
            default library.
        issues (bool): False injects nothing (the same world without issues, for measuring false alarms).
        on_day (Callable[[int], None] | None): called after each simulated day (for progress bars).

    Returns:
        SimulationResult: paths, row counts and the truth records.

    Raises:
        InputError: bad days, scale, scenario or output folder; nothing is written.
    """
    t0 = time.perf_counter()
    if not isinstance(days, int) or days < 1:
        raise InputError(f"days must be a whole number >= 1, got {days!r}")
    world = build_world(start, days, seed, scale)
    if not issues:
        chosen: list[Scenario] = []
    elif scenarios is None:
        chosen = default_scenarios(start, days)
    elif isinstance(scenarios, str | Path):
        chosen = load_scenarios(scenarios)
    else:
        chosen = list(scenarios)
    actives = place(chosen, world)
    out = Path(out)
    tmp = _temp_folder(out)
    try:
        rows = _run(world, actives, tmp, on_day)
        truth = [a.truth(world) for a in actives]
        (tmp / "truth.json").write_text(json.dumps(truth, indent=2) + "\n")
        _replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    paths = {t: out / t for t in DAILY_TABLES} | {t: out / t / "part-0.parquet" for t in ("creators", "events")}
    paths["truth"] = out / "truth.json"
    return SimulationResult(out, paths, rows, truth, time.perf_counter() - t0, chosen)


def _temp_folder(out: Path) -> Path:
    """A fresh folder beside `out`, after checking that `out` may be replaced."""
    if out.exists() and not out.is_dir():
        raise InputError(f"output folder {str(out)!r} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / "truth.json").exists():
        raise InputError(f"output folder {str(out)!r} is not empty and holds no simulated world; not replacing it")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    except OSError as exc:
        raise InputError(f"cannot write output folder {str(out)!r}: {exc.strerror}") from None


def _replace(tmp: Path, out: Path) -> None:
    """Move the finished world into place (a previous world there is removed)."""
    if out.exists():
        trash = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
        os.replace(out, trash / "world")
        shutil.rmtree(trash, ignore_errors=True)
    os.replace(tmp, out)


def _run(world: World, actives: list[Active], folder: Path, on_day: Callable[[int], None] | None) -> dict[str, int]:
    pop = engine.Population(world)
    rows = dict.fromkeys(TABLES, 0)
    pending: list[dict] = []  # moderation decisions not yet due
    by_day = [engine.effects_on(day, actives, world) for day in range(world.days)]

    def effects_for(day: int) -> list[engine.Effect]:
        return by_day[day] if 0 <= day < world.days else []

    inflight: list[Future] = []
    with ThreadPoolExecutor(max_workers=1) as writer:
        for day in range(world.days):
            effects = by_day[day]
            pop.join(np.random.default_rng([world.seed, day, 1]), day)
            up = pop.upload(np.random.default_rng([world.seed, day, 2]), day, effects)
            pending.append(engine.moderation(np.random.default_rng([world.seed, day, 3]), pop, day, effects_for, up))
            imp = engine.impressions(np.random.default_rng([world.seed, day, 4]), pop, day, effects)
            due, pending = _split_due(pending, pop.world_day_us(day + 1))
            tables = {
                "impressions": _impressions_table(imp, world),
                "uploads": _uploads_table(up, pop),
                "moderation": _moderation_table(due, world),
            }
            # write this day on the writer thread while the next one is generated (Parquet encoding releases the GIL);
            # at most one day is in flight, which bounds memory
            for f in inflight:
                f.result()
            inflight = [
                writer.submit(
                    _write, table, folder / name / f"date={world.date_of(day).isoformat()}" / "part-0.parquet"
                )
                for name, table in tables.items()
            ]
            for name, table in tables.items():
                rows[name] += table.num_rows
            if on_day is not None:
                on_day(day)
        for f in inflight:
            f.result()
    creators = _creators_table(pop, world)
    events = _events_table(world, actives)
    _write(creators, folder / "creators" / "part-0.parquet")
    _write(events, folder / "events" / "part-0.parquet")
    rows["creators"], rows["events"] = creators.num_rows, events.num_rows
    return rows


def _split_due(pending: list[dict], end_us: int) -> tuple[dict, list[dict]]:
    """Decisions taken before end_us (sorted by time), and the batches still pending after it."""
    due = {k: np.concatenate([p[k][p["ts"] < end_us] for p in pending]) for k in pending[0]}
    later = [{k: a[p["ts"] >= end_us] for k, a in p.items()} for p in pending]
    order = np.argsort(due["ts"], kind="stable")
    return {k: a[order] for k, a in due.items()}, [p for p in later if len(p["ts"])]


def _write(table: pa.Table, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    strings = [f.name for f in table.schema if f.type == pa.string()]
    pq.write_table(table, path, use_dictionary=strings, **PARQUET)


def _strings(codes: np.ndarray, values: tuple[str, ...]) -> pa.Array:
    """String column from integer codes into `values` (negative code = NULL)."""
    codes = np.asarray(codes)
    idx = pa.array(codes.astype(np.int32), mask=codes < 0)
    return pc.take(pa.array(values, pa.string()), idx)


def _table(name: str, columns: dict[str, pa.Array | np.ndarray]) -> pa.Table:
    schema = TABLES[name]
    arrays = [
        pa.array(columns[f.name], f.type) if isinstance(columns[f.name], np.ndarray) else columns[f.name]
        for f in schema
    ]
    return pa.Table.from_arrays(arrays, schema=schema)


def _impressions_table(imp: dict, world: World) -> pa.Table:
    cols = dict(imp)
    for dim, values in (
        ("region", REGIONS),
        ("format", FORMATS),
        ("category", CATEGORIES),
        ("surface", SURFACES),
        ("os", OSES),
        ("app_version", world.app_versions),
    ):
        cols[dim] = _strings(imp[dim], values)
    return _table("impressions", cols)


def _uploads_table(up: dict, pop: engine.Population) -> pa.Table:
    order = np.argsort(up["ts"], kind="stable")
    up = {k: a[order] for k, a in up.items()}
    return _table(
        "uploads",
        {
            "ts": up["ts"],
            "video_id": up["video_id"],
            "creator_id": up["creator"] + 1,
            "region": _strings(pop.c["region"][up["creator"]], REGIONS),
            "format": _strings(up["format"], FORMATS),
            "category": _strings(up["category"], CATEGORIES),
            "duration_ms": up["duration_ms"],
        },
    )


def _moderation_table(m: dict, world: World) -> pa.Table:
    cols = dict(m)
    for dim, values in (
        ("region", REGIONS),
        ("format", FORMATS),
        ("category", CATEGORIES),
        ("policy", POLICIES),
        ("decision", DECISIONS),
        ("source", SOURCES),
        ("model_version", world.model_versions),
        ("appeal_outcome", OUTCOMES),
    ):
        cols[dim] = _strings(m[dim], values)
    cols["appeal_ts"] = pa.array(m["appeal_ts"], TABLES["moderation"].field("appeal_ts").type, mask=m["appeal_ts"] < 0)
    return _table("moderation", cols)


def _creators_table(pop: engine.Population, world: World) -> pa.Table:
    c = pop.c
    epoch_day = world.start.toordinal() - engine.EPOCH_ORDINAL
    return _table(
        "creators",
        {
            "creator_id": np.arange(1, pop.n_creators + 1, dtype=np.int64),
            "region": _strings(c["region"], REGIONS),
            "tier": _strings(c["tier"], TIERS),
            "join_date": (c["join_day"] + epoch_day).astype(np.int32),
            "primary_category": _strings(c["category"], CATEGORIES),
        },
    )


def _events_table(world: World, actives: list[Active]) -> pa.Table:
    """The calendar: app and classifier releases, holidays, decoys, and the causes scenarios chose to log."""
    rows: list[tuple[int, str, str, str, str]] = []  # (day, kind, name, scope, description)
    for k, version in enumerate(world.app_versions):
        for o, os_name in enumerate(OSES):
            day = int(world.app_release[k, o])
            if 0 <= day < world.days:
                rows.append(
                    (
                        day,
                        "launch",
                        f"app {version} on {os_name}",
                        f"os={os_name}",
                        f"app version {version} starts rolling out on {os_name}; users update over weeks",
                    )
                )
    for k, version in enumerate(world.model_versions):
        day = int(world.model_release[k])
        if 0 <= day < world.days:
            rows.append(
                (
                    day,
                    "model_release",
                    f"moderation classifier {version}",
                    "source=automated",
                    f"automated moderation switches to classifier {version}",
                )
            )
    for day, region, name in world.holidays:
        scope = "" if region < 0 else f"region={REGIONS[region]}"
        rows.append((day, "holiday", name, scope, f"{name} ({REGIONS[region] if region >= 0 else 'all markets'})"))
    for kind, name, scope, frac in DECOYS:
        rows.append((int(frac * world.days), kind, name, scope, name))
    for a in actives:
        if a.scenario.write_event:
            rows.append((a.start_day, a.kind.event_kind, a.event_name, scope_string(a.scenario.scope), a.description))
    rows.sort()
    return _table(
        "events",
        {
            "ts": np.array([engine.day_us(world, r[0]) for r in rows], dtype=np.int64),
            "kind": pa.array([r[1] for r in rows], pa.string()),
            "name": pa.array([r[2] for r in rows], pa.string()),
            "scope": pa.array([r[3] for r in rows], pa.string()),
            "description": pa.array([r[4] for r in rows], pa.string()),
        },
    )
