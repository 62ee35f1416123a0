"""The Slack-compatible message for an issue event: a `text` fallback plus Block Kit `blocks`."""

from __future__ import annotations

from typing import Any

_HEADLINES = {"new_issue": "New issue", "regression": "Regression"}


def _scope(scope: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in (scope or {}).items()) or "platform-wide"


def slack_message(issue: dict[str, Any], event: str, *, base_url: str | None = None) -> dict[str, Any]:
    """Build {"text", "blocks"} for an issue (the dict of issues.service.issue_to_dict) and an event.

    Example:
        >>> msg = slack_message({"priority": "P1", "short_id": "ECO-001", "title": "t", "metric": "m",
        ...                      "scope": {}, "category": "c", "owner": None}, "new_issue")
        >>> msg["text"]
        '[P1] New issue ECO-001: t'
    """
    headline = f"[{issue['priority']}] {_HEADLINES.get(event, event)} {issue['short_id']}: {issue['title']}"
    link = f"{base_url.rstrip('/')}/issues/{issue['short_id']}" if base_url else None
    title = f"<{link}|{headline}>" if link else headline
    fields = [
        f"*Metric*\n{issue['metric']}",
        f"*Scope*\n{_scope(issue.get('scope'))}",
        f"*Category*\n{issue.get('category')}",
        f"*Owner*\n{issue.get('owner') or 'unassigned'}",
    ]
    if issue.get("observed") is not None and issue.get("expected") is not None:
        fields.append(f"*Observed / expected*\n{issue['observed']:.4g} / {issue['expected']:.4g}")
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{title}*"}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in fields]},
    ]
    causes = issue.get("root_causes") or []
    if causes:
        top = ", ".join(f"{_scope(c.get('scope'))} ({c.get('contribution', 0):.0%})" for c in causes[:3])
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"Root cause: {top}"}]})
    return {"text": headline, "blocks": blocks}
