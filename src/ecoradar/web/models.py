"""The API contract: Pydantic models per resource (Base / Create / Update / Public / list {data, count})."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field

Role = Literal["viewer", "analyst", "admin"]


# Properties of a metric in the catalog
class MetricPublic(BaseModel):
    name: str
    description: str = ""
    category: str | None = None
    kind: str | None = None
    unit: str = ""
    direction: str = "neutral"
    dimensions: list[str] = []
    owner: str | None = None


class MetricsPublic(BaseModel):
    data: list[MetricPublic]
    count: int


# One day of a metric in one slice
class CubePoint(BaseModel):
    date: dt.date
    value: float | None
    numerator: float | None = None
    denominator: float | None = None


class CubeSeries(BaseModel):
    metric: str
    scope: dict[str, str]
    data: list[CubePoint]
    count: int


# A metric's value per child slice along one dimension over a period
class BreakdownRow(BaseModel):
    key: str
    value: float | None
    numerator: float | None = None
    denominator: float | None = None
    days: int


class Breakdown(BaseModel):
    metric: str
    scope: dict[str, str]
    by: str
    date_from: dt.date
    date_to: dt.date
    data: list[BreakdownRow]
    count: int


# Properties to receive on a SQL console query
class SqlQuery(BaseModel):
    sql: str = Field(min_length=1, max_length=20_000)
    limit: int | None = Field(default=None, gt=0, le=100_000)


# The answer of the SQL console
class SqlAnswer(BaseModel):
    columns: list[str]
    rows: list[list[Any]]
    truncated: bool
    elapsed_ms: float


class SqlTable(BaseModel):
    name: str
    columns: list[tuple[str, str]]


# Properties shared by user models
class UserBase(BaseModel):
    name: str = Field(min_length=1, max_length=128)
    role: Role


# Properties to receive on user creation
class UserCreate(UserBase):
    pass


class UserPublic(UserBase):
    id: int
    created_at: dt.datetime


class UsersPublic(BaseModel):
    data: list[UserPublic]
    count: int


# Returned once, when a user is created: the token is never shown again
class UserCreated(UserPublic):
    token: str


class Me(BaseModel):
    name: str
    role: Role


# One entry of an issue's history
class ActivityPublic(BaseModel):
    ts: dt.datetime
    actor: str
    kind: str
    from_: str | None = Field(default=None, alias="from")
    to: str | None = None
    note: str | None = None

    model_config = {"populate_by_name": True, "serialize_by_alias": True}


class CommentPublic(BaseModel):
    ts: dt.datetime
    actor: str
    text: str


class IssueDayPublic(BaseModel):
    date: dt.date
    observed: float | None = None
    expected: float | None = None
    score: float | None = None
    q_value: float | None = None


# Properties shared by issue models
class IssueBase(BaseModel):
    title: str
    category: str
    kind: str
    priority: str
    status: str
    owner: str | None = None
    metric: str
    scope: dict[str, str]


# An issue as the API shows it (the JSON of `ecoradar issues show --json`)
class IssuePublic(IssueBase):
    id: int
    short_id: str | None
    fingerprint: str
    fingerprint_config: str | None = None
    direction: str | None = None
    severity: float
    substatus: str | None = None
    root_causes: list[dict[str, Any]] = []
    related_events: list[dict[str, Any]] = []
    mix_rate: list[dict[str, Any]] = []
    start_date: dt.date | None = None
    first_seen: dt.date
    last_seen: dt.date
    times_seen: int
    observed: float | None = None
    expected: float | None = None
    deviation: float | None = None
    exposure: float | None = None
    impact: dict[str, Any] | None = None
    fix_date: dt.date | None = None
    resolved_at: dt.datetime | None = None
    version: int
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    allowed_transitions: list[str] = []
    history: list[ActivityPublic] | None = None
    comments: list[CommentPublic] | None = None
    days: list[IssueDayPublic] | None = None


class IssuesPublic(BaseModel):
    data: list[IssuePublic]
    count: int


# Properties to receive on a status change
class IssueTransition(BaseModel):
    status: str = Field(min_length=1, max_length=32)
    note: str | None = Field(default=None, max_length=5_000)
    fix_date: dt.date | None = None
    version: int | None = Field(default=None, description="The version you read; a mismatch answers 409")


# Properties to receive on assignment (owner null unassigns)
class IssueAssign(BaseModel):
    owner: str | None = Field(default=None, max_length=128)
    note: str | None = Field(default=None, max_length=5_000)
    version: int | None = None


# Properties to receive when asking for a causal impact estimate of an issue's fix
class ImpactRequest(BaseModel):
    fix_date: dt.date | None = Field(default=None, description="When the fix shipped (default: the issue's fix date)")
    controls: str = Field(default="auto", max_length=2_000, description='"auto" or "dim=value;dim=value,..."')
    estimator: Literal["bsts_adaptive", "bsts", "did"] = "bsts_adaptive"


# Properties to receive on a new comment
class CommentCreate(BaseModel):
    text: str = Field(min_length=1, max_length=20_000)


# A day on which an issue's anomaly fired
class AnomalyPublic(BaseModel):
    issue_id: int
    short_id: str | None
    metric: str
    scope: dict[str, str]
    date: dt.date
    observed: float | None = None
    expected: float | None = None
    score: float | None = None
    q_value: float | None = None


class AnomaliesPublic(BaseModel):
    data: list[AnomalyPublic]
    count: int
