"""One error hierarchy for ecoradar: every user-facing failure is an EcoradarError with a one-line message."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class EcoradarError(Exception):
    """Root of every error ecoradar raises on purpose; the CLI prints its message as one line."""

    exit_code: int = 1


class InputError(EcoradarError, ValueError):
    """Bad input from the user (arguments, files, data): exit code 2."""

    exit_code = 2


class DataError(InputError):
    """The data folder is missing a table or a column, or holds values outside the contract."""


class NotFound(EcoradarError, LookupError):
    """A named thing (metric, issue, detector, scenario kind) does not exist."""

    exit_code = 2


class ConflictError(EcoradarError):
    """Somebody else changed the record since it was read (optimistic locking); reload and retry."""

    exit_code = 3


def did_you_mean(value: str, allowed: Iterable[str]) -> str:
    """Return ' (did you mean X?)' for the closest allowed name, or '' when nothing is close."""
    close = difflib.get_close_matches(str(value), [str(a) for a in allowed], n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def unknown(what: str, value: str, allowed: Iterable[str]) -> NotFound:
    """Build the standard 'unknown X' error naming the bad value and the allowed ones."""
    allowed = sorted(str(a) for a in allowed)
    shown = ", ".join(allowed[:20]) + (", ..." if len(allowed) > 20 else "")
    return NotFound(f"unknown {what} {value!r}{did_you_mean(value, allowed)}; allowed: {shown}")
