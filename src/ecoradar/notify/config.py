"""Webhook configuration in YAML: `--notify FILE`, else $ECORADAR_NOTIFY, else ./notify.yaml, else none.

Example notify.yaml::

    base_url: http://ecoradar.internal:8000     # optional: links in messages
    webhooks:
      - url: https://hooks.slack.com/services/T000/B000/XXXX
        events: [new_issue, regression]
        min_priority: P1                        # P0 and P1 only
        retries: 3                              # attempts after the first
        backoff_s: 1.0                          # 1 s, 2 s, 4 s between attempts
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ecoradar.errors import InputError

#: Events a webhook can subscribe to.
EVENTS = ("new_issue", "regression")
Event = Literal["new_issue", "regression"]
Priority = Literal["P0", "P1", "P2", "P3"]
ENV = "ECORADAR_NOTIFY"


class Webhook(BaseModel):
    """One receiver and what it wants to hear about."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = Field(pattern=r"^https?://")
    events: list[Event] = list(EVENTS)
    min_priority: Priority = "P1"
    """Least serious priority that is sent (P1: P0 and P1)."""
    retries: int = Field(default=3, ge=0, le=10)
    """Attempts after the first one when the receiver fails (network error, 429 or 5xx)."""
    backoff_s: float = Field(default=1.0, ge=0, le=60)
    """Wait before retry k is backoff_s * 2**(k-1)."""
    timeout_s: float = Field(default=5.0, gt=0, le=60)


class NotifyConfig(BaseModel):
    """Every webhook of a deployment."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    webhooks: list[Webhook] = []
    base_url: str | None = None
    """Where the web app is served, for links to issues in messages."""


def load_config(path: str | Path | None = None) -> NotifyConfig:
    """Read the webhook config: `path`, else $ECORADAR_NOTIFY, else ./notify.yaml; no file means no webhooks.

    Raises:
        InputError: a named file is missing, is not YAML, or does not match the schema (naming the field).
    """
    named = path or os.environ.get(ENV)
    target = Path(named) if named else Path.cwd() / "notify.yaml"
    if not target.exists():
        if named:
            raise InputError(f"notify config {str(target)!r} does not exist")
        return NotifyConfig()
    try:
        raw = yaml.safe_load(target.read_text()) or {}
    except yaml.YAMLError as exc:
        raise InputError(f"notify config {str(target)!r} is not valid YAML: {str(exc).splitlines()[0]}") from None
    if isinstance(raw, dict) and "url" in raw:  # a single webhook written at the top level
        raw = {"webhooks": [raw]}
    try:
        return NotifyConfig.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(map(str, err["loc"]))
        raise InputError(f"notify config {str(target)!r}: {where}: {err['msg']}") from None
