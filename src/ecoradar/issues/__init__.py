"""ecoradar.issues: anomalies -> tracked issues (fingerprints, taxonomy, owners, a Sentry-style lifecycle).

The service layer (ecoradar.issues.service) is the only code that changes an issue; web/ and the CLI call it.
The daily job is ecoradar.issues.daily (imported on its own: it pulls in the detect/explain records).
"""

from typing import TYPE_CHECKING

from ecoradar.lazy import lazy_getattr

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


__getattr__ = lazy_getattr(globals(), _MODULES)
