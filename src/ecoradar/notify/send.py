"""Deliver issue events to webhooks with retries and exponential backoff, recording every delivery.

A failing receiver never breaks the caller: errors end up in `webhook_deliveries` (status `failed`,
`last_error`), not in an exception. An event already delivered to a URL is not sent again, so running a
day twice notifies once.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Sequence

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from ecoradar.issues.service import issue_to_dict
from ecoradar.notify.config import EVENTS, NotifyConfig, Webhook
from ecoradar.notify.message import slack_message
from ecoradar.store import Issue, IssueActivity, WebhookDelivery, utcnow

log = logging.getLogger(__name__)
PRIORITY_RANK = {"P0": 0, "P1": 1, "P2": 2, "P3": 3}
#: Answers worth retrying; any other 4xx means the request itself is wrong.
_RETRY_STATUS = frozenset({408, 425, 429})


def _wants(hook: Webhook, issue: Issue, event: str) -> bool:
    return event in hook.events and PRIORITY_RANK.get(issue.priority, 9) <= PRIORITY_RANK[hook.min_priority]


def _already_sent(session: Session, hook: Webhook, issue: Issue, event: str) -> bool:
    """Whether this event of this issue reached this URL already (for a regression: since it last regressed)."""
    query = select(WebhookDelivery.id).where(
        WebhookDelivery.url == hook.url,
        WebhookDelivery.event == event,
        WebhookDelivery.issue_id == issue.id,
        WebhookDelivery.status == "delivered",
    )
    if event == "regression":
        last = session.scalar(
            select(IssueActivity.ts)
            .where(IssueActivity.issue_id == issue.id, IssueActivity.kind == "regression")
            .order_by(IssueActivity.ts.desc())
            .limit(1)
        )
        if last is not None:
            query = query.where(WebhookDelivery.ts >= last)
    return session.scalar(query.limit(1)) is not None


def deliver(client: httpx.Client, hook: Webhook, payload: dict, row: WebhookDelivery, *, sleep=time.sleep) -> None:
    """POST the payload, retrying network errors, 408/425/429 and 5xx with exponential backoff; fill in `row`."""
    for attempt in range(hook.retries + 1):
        if attempt:
            sleep(hook.backoff_s * 2 ** (attempt - 1))
        row.attempts = attempt + 1
        try:
            response = client.post(hook.url, json=payload, timeout=hook.timeout_s)
        except httpx.HTTPError as exc:
            row.last_error = f"{type(exc).__name__}: {exc}"[:1000]
            continue
        if response.is_success:
            row.status, row.last_error = "delivered", None
            return
        row.last_error = f"HTTP {response.status_code}: {response.text[:300]}"
        if response.status_code < 500 and response.status_code not in _RETRY_STATUS:
            break
    row.status = "failed"


def notify_issues(
    session: Session,
    issues: Sequence[Issue],
    events: str | Sequence[str],
    config: NotifyConfig,
    *,
    commit: bool = True,
) -> list[WebhookDelivery]:
    """Send each issue's event to every webhook that wants it; return the deliveries made (sent or failed).

    Args:
        session (Session): an open store session; the deliveries are added to it.
        issues (Sequence[Issue]): issues loaded in `session`.
        events (str | Sequence[str]): the event of every issue ("new_issue" or "regression"), or one per issue.
        config (NotifyConfig): the webhooks (see load_config); no webhooks means nothing happens.
        commit (bool): commit the recorded deliveries (default) or only flush them into the caller's transaction.

    Returns:
        list[WebhookDelivery]: one row per (webhook, issue) attempted, with status delivered or failed, attempts
        and last_error. Never raises for a receiver's failure.
    """
    per_issue = [events] * len(issues) if isinstance(events, str) else list(events)
    if len(per_issue) != len(issues):
        raise ValueError(f"got {len(issues)} issues but {len(per_issue)} events")
    unknown = sorted(set(per_issue) - set(EVENTS))
    if unknown:
        raise ValueError(f"unknown event {unknown[0]!r}; allowed: {', '.join(EVENTS)}")
    rows: list[WebhookDelivery] = []
    if not config.webhooks:
        return rows
    with httpx.Client(headers={"User-Agent": "ecoradar-notify"}) as client:
        for issue, event in zip(issues, per_issue, strict=True):
            payload = None
            for hook in config.webhooks:
                if not _wants(hook, issue, event) or _already_sent(session, hook, issue, event):
                    continue
                payload = payload or slack_message(issue_to_dict(issue, history=False), event, base_url=config.base_url)
                row = WebhookDelivery(
                    url=hook.url,
                    event=event,
                    issue_id=issue.id,
                    payload=payload,
                    attempts=0,
                    status="pending",
                    ts=utcnow(),
                )
                try:
                    deliver(client, hook, payload, row)
                except Exception as exc:  # a notification must never break the daily run
                    row.status, row.last_error = "failed", f"{type(exc).__name__}: {exc}"[:1000]
                if row.status == "failed":
                    log.warning(
                        "webhook %s failed for %s after %d attempts: %s",
                        hook.url,
                        issue.short_id,
                        row.attempts,
                        row.last_error,
                    )
                session.add(row)
                rows.append(row)
    session.flush()
    if commit:
        session.commit()
    return rows


def notify_since(
    session: Session, since: dt.datetime, config: NotifyConfig, *, commit: bool = True
) -> list[WebhookDelivery]:
    """Notify every issue created or regressed at or after `since` (what one daily run produced).

    The lead's daily job can call this right after committing a day: `notify_since(session, started, config)`.
    """
    rows = session.execute(
        select(Issue, IssueActivity.kind)
        .join(IssueActivity, IssueActivity.issue_id == Issue.id)
        .where(IssueActivity.ts >= since, IssueActivity.kind.in_(["created", "regression"]))
        .order_by(IssueActivity.ts, Issue.id)
    ).all()
    seen: dict[tuple[int, str], Issue] = {}
    for issue, kind in rows:
        seen.setdefault((issue.id, "new_issue" if kind == "created" else "regression"), issue)
    return notify_issues(session, list(seen.values()), [event for _, event in seen], config, commit=commit)
