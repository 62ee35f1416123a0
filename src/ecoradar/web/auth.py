"""API tokens and roles: a token is shown once, only its SHA-256 is stored; roles are ordered."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ecoradar.errors import InputError, NotFound, unknown
from ecoradar.store import User

#: Roles from least to most powerful: viewer reads, analyst changes issues, admin manages users.
ROLES = ("viewer", "analyst", "admin")
TOKEN_PREFIX = "eco_"


def hash_token(token: str) -> str:
    """SHA-256 hex of a token (tokens are 256 random bits, so a fast hash is enough)."""
    return hashlib.sha256(token.encode()).hexdigest()


def has_role(role: str, needed: str) -> bool:
    """Whether `role` is at least `needed`."""
    return ROLES.index(role) >= ROLES.index(needed)


def check_role(role: str) -> str:
    """Return the role or raise NotFound naming the allowed ones."""
    if role not in ROLES:
        raise unknown("role", role, ROLES)
    return role


def add_user(session: Session, *, name: str, role: str) -> tuple[User, str]:
    """Create a user and return it with its token (the only time the token exists in clear).

    Raises:
        InputError: the name is empty or taken.
        NotFound: the role is unknown.
    """
    name = name.strip()
    if not name:
        raise InputError("user name must not be empty")
    check_role(role)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    user = User(name=name, role=role, token_hash=hash_token(token))
    session.add(user)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise InputError(f"user {name!r} already exists") from None
    return user, token


def rotate_token(session: Session, *, name: str) -> str:
    """Give a user a new token (the old one stops working) and return it."""
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        raise NotFound(f"unknown user {name!r}")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    user.token_hash = hash_token(token)
    session.flush()
    return token


def user_for_token(session: Session, token: str) -> User | None:
    """The user owning the token, or None."""
    if not token:
        return None
    return session.scalar(select(User).where(User.token_hash == hash_token(token)))


def list_users(session: Session) -> list[User]:
    """Every user, oldest first."""
    return list(session.scalars(select(User).order_by(User.id)))


def delete_user(session: Session, *, name: str) -> None:
    """Remove a user (their token stops working)."""
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        raise NotFound(f"unknown user {name!r}")
    session.delete(user)
    session.flush()
