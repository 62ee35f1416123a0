"""ecoradar.issues: anomalies -> tracked issues (fingerprints, taxonomy, owners, a Sentry-style lifecycle).

The service layer (ecoradar.issues.service) is the only code that changes an issue; web/ and the CLI call it.
The daily job is ecoradar.issues.daily (imported on its own: it pulls in the detect/explain records).
"""

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ecoradar.issues.lifecycle import CLOSED, OPEN, TRANSITIONS, IssueStatus, IssueSubStatus, allowed_targets
    from ecoradar.issues.service import (
        assign,
        comment,
        get_issue,
        issue_to_dict,
        list_issues,
        metric_precision,
        record_impact,
        transition,
    )

#: Modules holding the public names, imported on first use (PEP 562) so `ecoradar --help` stays fast.
_MODULES = ("ecoradar.issues.lifecycle", "ecoradar.issues.service")

__all__ = [
    "CLOSED",
    "OPEN",
    "TRANSITIONS",
    "IssueStatus",
    "IssueSubStatus",
    "allowed_targets",
    "assign",
    "comment",
    "get_issue",
    "issue_to_dict",
    "list_issues",
    "metric_precision",
    "record_impact",
    "transition",
]


def __getattr__(name: str):
    """Import the stage's modules on first use of a public name (PEP 562)."""
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    for module in map(importlib.import_module, _MODULES):
        globals().update({n: getattr(module, n) for n in __all__ if hasattr(module, n)})
    return globals()[name]
