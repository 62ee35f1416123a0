"""Dependencies handlers declare by type: the store session, the current user and the role they need."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session

from ecoradar.metrics.loader import Catalog
from ecoradar.report.ecosystem import Cube
from ecoradar.sqlconsole import SqlConsole
from ecoradar.store import Store, User
from ecoradar.web.auth import has_role, user_for_token
from ecoradar.web.settings import Settings

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Principal:
    """Who is asking: a stored user, or the anonymous admin of a --no-auth demo."""

    name: str
    role: str
    id: int | None = None


class LoginRequired(Exception):
    """A page was asked for without a signed-in session: the app redirects to /login."""


def get_settings(request: Request) -> Settings:
    """The app's validated settings."""
    return request.app.state.settings


def get_store(request: Request) -> Store:
    """The migrated issue store opened at startup."""
    return request.app.state.store


def get_session(request: Request) -> Iterator[Session]:
    """One store session per request, closed afterwards (services commit what they change)."""
    with request.app.state.store.session() as session:
        yield session


def get_cube(request: Request) -> Cube:
    """The data folder's metric cube (raises 404 when the app serves no data folder)."""
    cube = request.app.state.cube
    if cube is None:
        raise HTTPException(404, detail="No data folder: start the server with --data DIR")
    return cube


def get_console(request: Request) -> SqlConsole:
    """The read-only SQL console over the data folder."""
    return request.app.state.console


def get_catalog(request: Request) -> Catalog:
    """The metric catalog loaded at startup."""
    return request.app.state.catalog


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session)]
StoreDep = Annotated[Store, Depends(get_store)]
CubeDep = Annotated[Cube, Depends(get_cube)]
ConsoleDep = Annotated[SqlConsole, Depends(get_console)]
CatalogDep = Annotated[Catalog, Depends(get_catalog)]


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use; forms carry it in a hidden field named `csrf`."""
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(24)
    return token


def check_csrf(request: Request, sent: str | None) -> None:
    """Refuse a state-changing request whose CSRF token does not match the session's (403)."""
    expected = request.session.get("csrf")
    if not expected or not sent or not secrets.compare_digest(expected, sent):
        raise HTTPException(403, detail="CSRF token missing or invalid")


def _session_user(request: Request, session: Session) -> Principal | None:
    uid = request.session.get("uid")
    user = session.get(User, uid) if uid is not None else None
    return Principal(user.name, user.role, user.id) if user is not None else None


def current_user(request: Request, session: SessionDep) -> Principal:
    """The API caller: `Authorization: Bearer TOKEN`, else a signed-in session (unsafe methods then need the
    `X-CSRF-Token` header), else 401."""
    if not request.app.state.settings.auth:
        return Principal("anonymous", "admin")
    header = request.headers.get("authorization")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise HTTPException(401, detail="Invalid authorization header", headers={"WWW-Authenticate": "Bearer"})
        user = user_for_token(session, token.strip())
        if user is None:
            raise HTTPException(401, detail="Invalid token", headers={"WWW-Authenticate": "Bearer"})
        return Principal(user.name, user.role, user.id)
    principal = _session_user(request, session)
    if principal is None:
        raise HTTPException(401, detail="Not authenticated", headers={"WWW-Authenticate": "Bearer"})
    if request.method not in SAFE_METHODS:
        check_csrf(request, request.headers.get("x-csrf-token"))
    return principal


CurrentUser = Annotated[Principal, Depends(current_user)]


def require(role: str):
    """A dependency that lets through users with at least `role` (403 otherwise)."""

    def dependency(user: CurrentUser) -> Principal:
        if not has_role(user.role, role):
            raise HTTPException(403, detail=f"Requires role {role}")
        return user

    return dependency


Viewer = Annotated[Principal, Depends(require("viewer"))]
Analyst = Annotated[Principal, Depends(require("analyst"))]
Admin = Annotated[Principal, Depends(require("admin"))]


def page_user(request: Request, session: SessionDep) -> Principal:
    """The signed-in person of a page request; redirects to /login when there is none."""
    if not request.app.state.settings.auth:
        return Principal("anonymous", "admin")
    principal = _session_user(request, session)
    if principal is None:
        raise LoginRequired()
    return principal


PageUser = Annotated[Principal, Depends(page_user)]
