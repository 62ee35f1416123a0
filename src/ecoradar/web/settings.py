"""Settings of the web app, validated once at startup."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ecoradar.errors import InputError


class Settings(BaseModel):
    """Where the app reads from and how it guards itself."""

    model_config = ConfigDict(frozen=True)

    data_dir: Path | None = None
    """The data folder (tables and cube); None serves only the store (issues, users)."""
    db_url: str | None = None
    """Store URL; None means $ECORADAR_DB, then ./ecoradar.db."""
    auth: bool = True
    """False only for a laptop demo (`--no-auth`): everyone is an admin."""
    secret_key: str = Field(default_factory=lambda: os.environ.get("ECORADAR_SECRET_KEY") or secrets.token_urlsafe(32))
    """Signs session cookies; set $ECORADAR_SECRET_KEY so sign-ins survive a restart."""
    sql_row_limit: int = Field(default=10_000, gt=0)
    sql_timeout_s: float = Field(default=10.0, gt=0)
    https_only: bool = False
    """Mark the session cookie Secure (behind TLS)."""

    @field_validator("secret_key")
    @classmethod
    def _strong_secret(cls, value: str) -> str:
        if value in ("changethis", "secret") or len(value) < 16:
            raise InputError("ECORADAR_SECRET_KEY is too weak: use at least 16 random characters")
        return value

    @field_validator("data_dir")
    @classmethod
    def _data_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not Path(value).is_dir():
            raise InputError(f"data folder {str(value)!r} does not exist")
        return Path(value).resolve() if value is not None else None
