"""Injected issues: the scenario kinds (a registry of what each changes), the YAML format, the default library."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from ecoradar.data.schema import DIMENSIONS, ISSUE_CATEGORIES
from ecoradar.errors import InputError, unknown
from ecoradar.simulate.world import ANDROID_DELAY, APP_EVERY, APP_FIRST, World, dimension_values, version_name

#: The built-in metrics a scenario's `metric_hint` may name (the metrics stage defines them).
METRICS = (
    "impressions",
    "active_viewers",
    "like_rate",
    "share_rate",
    "comment_rate",
    "follow_rate",
    "not_interested_rate",
    "report_rate",
    "completion_rate",
    "watch_ratio",
    "format_share",
    "top1pct_creator_share",
    "new_creator_share",
    "uploads",
    "removal_rate",
    "appeal_rate",
    "appeal_overturn_rate",
    "review_latency_p90_h",
)

#: Dimensions known when an impression's video is picked (viewer and request side).
VIEWER_DIMS = ("region", "format", "surface", "os", "app_version")
#: Dimensions of an impression row (creator tier and age come from the creators table).
IMPRESSION_DIMS = ("region", "format", "category", "surface", "os", "app_version", "tier", "creator_age")
#: Dimensions of a moderation decision.
MODERATION_DIMS = ("region", "format", "category", "tier", "creator_age", "policy", "source", "model_version")
#: Dimensions of a creator's upload rate.
CREATOR_DIMS = ("region", "tier", "creator_age")


@dataclass(frozen=True)
class ScenarioKind:
    """What one kind of injected issue changes: each target quantity is multiplied by (1 + magnitude * ramp)."""

    name: str
    """Id used in YAML and truth.json."""
    category: str
    """Issue category (schema.ISSUE_CATEGORIES)."""
    metric_hint: str
    """The built-in metric that shows the issue."""
    targets: tuple[str, ...]
    """Quantities the engine multiplies inside the scope (see engine.py)."""
    dims: tuple[str, ...]
    """Dimensions the scope may name: those the targeted rows carry."""
    magnitude: tuple[float, float]
    """Allowed magnitude range (relative change)."""
    event_kind: str
    """Kind of the calendar event written when write_event is true."""
    summary: str
    """What happens, for the docs and the default description."""
    one_of: tuple[str, ...] = ()
    """The scope must name exactly one of these dimensions (the segment whose weight changes)."""
    ramp_days: int = 1
    """Days from start until the full magnitude (1 = a step; more = a gradual drift)."""


KINDS: dict[str, ScenarioKind] = {
    k.name: k
    for k in (
        ScenarioKind(
            "format_exposure",
            "traffic_balance",
            "format_share",
            ("format_weight",),
            VIEWER_DIMS,
            (-0.9, 3.0),
            "launch",
            "a ranking change moves exposure of a format in the scope",
            one_of=("format",),
        ),
        ScenarioKind(
            "mix_shift",
            "traffic_balance",
            "like_rate",
            ("segment_weight",),
            VIEWER_DIMS,
            (-0.9, 5.0),
            "launch",
            "traffic moves into a segment with different base rates; no rate changes inside any segment",
            one_of=("surface", "format"),
        ),
        ScenarioKind(
            "creator_concentration",
            "diversity",
            "top1pct_creator_share",
            ("top_creator_weight",),
            VIEWER_DIMS,
            (-0.9, 5.0),
            "launch",
            "exposure drifts towards the top 1% most popular creators",
            ramp_days=10,
        ),
        ScenarioKind(
            "new_creator_exposure",
            "diversity",
            "new_creator_share",
            ("new_creator_weight",),
            VIEWER_DIMS,
            (-0.95, 3.0),
            "launch",
            "videos of new creators (joined < 30 days ago) get less exposure",
        ),
        ScenarioKind(
            "appeal_overturn",
            "creator_experience",
            "appeal_overturn_rate",
            ("p_overturn",),
            MODERATION_DIMS,
            (-0.9, 2.0),
            "model_release",
            "more appealed removals are overturned (a classifier over-removes)",
        ),
        ScenarioKind(
            "appeal_rate",
            "creator_experience",
            "appeal_rate",
            ("p_appeal",),
            MODERATION_DIMS,
            (-0.9, 3.0),
            "policy_change",
            "creators appeal more of their removals",
        ),
        ScenarioKind(
            "review_latency",
            "creator_experience",
            "review_latency_p90_h",
            ("review_time",),
            MODERATION_DIMS,
            (-0.8, 5.0),
            "incident",
            "moderation decisions take longer (a review backlog)",
        ),
        ScenarioKind(
            "removal_rate",
            "moderation",
            "removal_rate",
            ("p_removed",),
            MODERATION_DIMS,
            (-0.9, 5.0),
            "policy_change",
            "flagged videos are removed more often (a stricter policy)",
        ),
        ScenarioKind(
            "uploads",
            "supply",
            "uploads",
            ("upload_rate",),
            CREATOR_DIMS,
            (-0.9, 2.0),
            "policy_change",
            "creators in the scope upload less (or more)",
        ),
        ScenarioKind(
            "not_interested",
            "user_experience",
            "not_interested_rate",
            ("p_not_interested",),
            IMPRESSION_DIMS,
            (-0.9, 5.0),
            "launch",
            "viewers mark more videos 'not interested'",
        ),
        ScenarioKind(
            "report_rate",
            "user_experience",
            "report_rate",
            ("p_reported",),
            IMPRESSION_DIMS,
            (-0.9, 10.0),
            "incident",
            "viewers report more videos",
        ),
        ScenarioKind(
            "like_rate",
            "user_experience",
            "like_rate",
            ("p_liked",),
            IMPRESSION_DIMS,
            (-0.9, 3.0),
            "launch",
            "viewers like more (or fewer) videos",
        ),
        ScenarioKind(
            "share_rate",
            "user_experience",
            "share_rate",
            ("p_shared",),
            IMPRESSION_DIMS,
            (-0.9, 3.0),
            "incident",
            "sharing breaks or improves (e.g. a share-sheet bug)",
        ),
        ScenarioKind(
            "completion",
            "user_experience",
            "completion_rate",
            ("stall",),
            IMPRESSION_DIMS,
            (-0.9, -0.01),
            "incident",
            "playback stalls: fewer views complete (negative magnitude = share of plays cut short)",
        ),
        ScenarioKind(
            "spam_wave",
            "content_quality",
            "report_rate",
            ("spam", "p_reported"),
            MODERATION_DIMS[:5],
            (0.1, 10.0),
            "incident",
            "spam from the scope's accounts: more spam flags and removals, more reports",
        ),
    )
}

#: Name of the calendar event a scenario writes, per kind ({scope} is the scope string).
EVENT_NAMES = {
    "format_exposure": "ranking launch ({scope})",
    "mix_shift": "entry-point launch ({scope})",
    "creator_concentration": "ranking update ({scope})",
    "new_creator_exposure": "cold-start boost removed ({scope})",
    "appeal_overturn": "classifier release ({scope})",
    "removal_rate": "policy change ({scope})",
}


def get_kind(name: str) -> ScenarioKind:
    """Look up a scenario kind.

    Raises:
        NotFound: unknown kind, with the closest name and the allowed ones.
    """
    if name not in KINDS:
        raise unknown("scenario kind", name, KINDS)
    return KINDS[name]


def scope_string(scope: dict[str, str]) -> str:
    """The events-table form of a scope, dims in DIMENSIONS order: 'region=BR,format=photo' ('' = global)."""
    return ",".join(f"{d}={scope[d]}" for d in DIMENSIONS if d in scope)


class Scenario(BaseModel):
    """One injected issue: where (scope), when (start/end: a date or a day offset from the world start), how much."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str
    """A name in KINDS."""
    scope: dict[str, str] = {}
    """Dimension -> value (1 or 2 dimensions; empty = platform-wide); the truth's root-cause slice."""
    start: date | int
    """First affected day (a date, or days after the world start)."""
    end: date | int | None = None
    """Last affected day (inclusive), or None when the issue goes on."""
    magnitude: float
    """Relative change of the kind's targets (e.g. -0.3 = 30% less)."""
    write_event: bool = False
    """Write a calendar event for the cause."""
    metric_hint: str | None = None
    """Metric that shows the issue (default: the kind's)."""
    description: str | None = None
    """Free text for truth.json and the event."""

    @model_validator(mode="after")
    def _check(self) -> Scenario:
        kind = get_kind(self.kind)
        for dim in self.scope:
            if dim not in DIMENSIONS:
                raise unknown("scope dimension", dim, DIMENSIONS)
            if dim not in kind.dims:
                raise InputError(
                    f"scenario kind {self.kind!r} cannot be scoped by {dim!r}; allowed: {', '.join(kind.dims)}"
                )
        if len(self.scope) > 2:
            raise InputError(f"scope {scope_string(self.scope)!r} names {len(self.scope)} dimensions; at most 2")
        if kind.one_of and sum(d in self.scope for d in kind.one_of) != 1:
            raise InputError(f"scenario kind {self.kind!r} needs exactly one of {', '.join(kind.one_of)} in its scope")
        lo, hi = kind.magnitude
        if not lo <= self.magnitude <= hi or self.magnitude == 0:
            raise InputError(
                f"magnitude {self.magnitude} of {self.kind!r} is out of range; allowed: {lo} to {hi}, not 0"
            )
        if self.metric_hint is not None and self.metric_hint not in METRICS:
            raise unknown("metric_hint", self.metric_hint, METRICS)
        return self


@dataclass(frozen=True)
class Active:
    """A scenario placed in a world: day indices, scope validated against the world's values."""

    id: str
    scenario: Scenario
    kind: ScenarioKind
    start_day: int
    end_day: int | None

    def ramp(self, day: int) -> float:
        """Share of the magnitude in effect on a day (0 outside the scenario)."""
        if day < self.start_day or (self.end_day is not None and day > self.end_day):
            return 0.0
        return min(1.0, (day - self.start_day + 1) / self.kind.ramp_days)

    def truth(self, world: World) -> dict:
        """The truth.json record (SCHEMA.md)."""
        sc = self.scenario
        return {
            "id": self.id,
            "kind": sc.kind,
            "metric_hint": sc.metric_hint or self.kind.metric_hint,
            "scope": {d: sc.scope[d] for d in DIMENSIONS if d in sc.scope},
            "start": world.date_of(self.start_day).isoformat(),
            "end": None if self.end_day is None else world.date_of(self.end_day).isoformat(),
            "magnitude": sc.magnitude,
            "category": self.kind.category,
            "description": self.description,
        }

    @property
    def description(self) -> str:
        """The scenario's description, or the kind's summary with its scope."""
        sc = self.scenario
        return sc.description or f"{self.kind.summary} [{scope_string(sc.scope) or 'platform-wide'}]"

    @property
    def event_name(self) -> str:
        """Title of the calendar event."""
        template = EVENT_NAMES.get(self.kind.name, self.kind.name.replace("_", " ") + " ({scope})")
        return template.format(scope=scope_string(self.scenario.scope) or "global")


def place(scenarios: list[Scenario], world: World) -> list[Active]:
    """Resolve day offsets and check every scope value against the world.

    Raises:
        InputError: a scope value is unknown, or a scenario does not fit in the window.
    """
    values = dimension_values(world)
    placed = []
    for i, sc in enumerate(scenarios):
        for dim, value in sc.scope.items():
            if value not in values[dim]:
                raise unknown(f"{dim} value", value, values[dim])
        start = _day(sc.start, world)
        end = None if sc.end is None else _day(sc.end, world)
        if not 0 <= start < world.days:
            raise InputError(
                f"scenario {i + 1} ({sc.kind}) starts on {world.date_of(start)}, outside the window "
                f"{world.start} to {world.date_of(world.days - 1)}"
            )
        if end is not None and not start <= end < world.days:
            raise InputError(
                f"scenario {i + 1} ({sc.kind}) ends on {world.date_of(end)}; it must be between its start "
                f"{world.date_of(start)} and the window end {world.date_of(world.days - 1)}"
            )
        placed.append(Active(f"S{i + 1:02d}-{sc.kind}", sc, get_kind(sc.kind), start, end))
    return placed


def _day(when: date | int, world: World) -> int:
    return when if isinstance(when, int) else (when - world.start).days


def load_scenarios(path: str | Path) -> list[Scenario]:
    """Read scenarios from YAML: a list of mappings, or a mapping with a `scenarios:` list.

    Raises:
        InputError: the file is missing, not YAML, or a scenario is invalid (named by its position).
    """
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise InputError(f"cannot read scenario file {str(path)!r}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise InputError(f"scenario file {str(path)!r} is not valid YAML: {str(exc).splitlines()[0]}") from None
    except ValueError as exc:  # a well-formed but impossible date such as 2026-02-31
        raise InputError(f"scenario file {str(path)!r} has an invalid value: {exc}") from None
    if isinstance(data, dict) and "scenarios" in data:
        data = data["scenarios"]
    if not isinstance(data, list) or not all(isinstance(x, dict) for x in data):
        raise InputError(f"scenario file {str(path)!r} must hold a list of scenarios (or `scenarios:` with a list)")
    out = []
    for i, item in enumerate(data):
        try:
            out.append(Scenario.model_validate(item))
        except ValidationError as exc:
            raise InputError(f"{path.name}: scenario {i + 1}: {_first_error(exc)}") from None
    return out


def _first_error(exc: ValidationError) -> str:
    """One line from a pydantic error: our own message when a check raised, else field and reason."""
    err = exc.errors()[0]
    inner = (err.get("ctx") or {}).get("error")
    if isinstance(inner, Exception):
        return str(inner)
    where = ".".join(str(p) for p in err["loc"])
    return f"{where}: {err['msg']}" if where else err["msg"]


#: The default library, laid out on a 60-day window (offsets scale to other lengths): kind, scope,
#: start offset, end offset or None, magnitude, write_event.
DEFAULT_LIBRARY: tuple[tuple[str, dict[str, str], int, int | None, float, bool], ...] = (
    ("mix_shift", {"surface": "search"}, 25, None, 1.5, True),
    ("removal_rate", {"region": "TR", "category": "news"}, 27, None, 1.0, True),
    ("appeal_overturn", {"policy": "adult"}, 29, None, 1.2, True),
    ("format_exposure", {"region": "BR", "format": "photo"}, 31, None, -0.4, True),
    ("creator_concentration", {"region": "MX"}, 33, None, 1.5, False),
    ("uploads", {"tier": "micro"}, 35, None, -0.3, False),
    ("new_creator_exposure", {"region": "US"}, 38, None, -0.5, True),
    ("not_interested", {"category": "gaming", "surface": "for_you"}, 41, None, 0.5, False),
    ("review_latency", {"source": "human"}, 44, 54, 0.8, False),
    ("completion", {"app_version": "<android>", "os": "android"}, 46, 54, -0.3, False),
    ("spam_wave", {"region": "ID", "creator_age": "new"}, 49, 56, 6.0, False),
    ("share_rate", {"region": "US", "os": "ios"}, 52, 58, -0.6, False),
)
#: The layout's window length, and the shortest window the library can be scaled to.
LIBRARY_DAYS, MIN_LIBRARY_DAYS = 60, 21


def default_scenarios(start: date, days: int) -> list[Scenario]:
    """The default library placed on a window of `days` days from `start` (offsets scaled, absolute dates).

    Raises:
        InputError: the window is shorter than MIN_LIBRARY_DAYS.
    """
    if days < MIN_LIBRARY_DAYS:
        raise InputError(
            f"a {days}-day window is too short for the default scenarios (at least {MIN_LIBRARY_DAYS} days, so "
            "each has weeks of history); use --no-issues or --scenarios"
        )
    out = []
    for kind, scope, first, last, magnitude, event in DEFAULT_LIBRARY:
        s = round(first * days / LIBRARY_DAYS)
        e = None if last is None else max(s, min(days - 1, round(last * days / LIBRARY_DAYS)))
        if scope.get("app_version") == "<android>":
            # a version that has been on Android for at least ten days when the bug appears
            k = max(0, (s - 10 - APP_FIRST - ANDROID_DELAY) // APP_EVERY)
            scope = {**scope, "app_version": version_name(k)}
        out.append(
            Scenario(
                kind=kind,
                scope=scope,
                start=start + timedelta(days=s),
                end=None if e is None else start + timedelta(days=e),
                magnitude=magnitude,
                write_event=event,
            )
        )
    return out


assert all(k.category in ISSUE_CATEGORIES and k.metric_hint in METRICS for k in KINDS.values())
