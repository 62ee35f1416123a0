"""Notifications: Slack-compatible webhooks on new serious issues and regressions, retried, never fatal."""

from ecoradar.notify.config import EVENTS, NotifyConfig, Webhook, load_config
from ecoradar.notify.message import slack_message
from ecoradar.notify.send import notify_issues, notify_since

__all__ = ["EVENTS", "NotifyConfig", "Webhook", "load_config", "notify_issues", "notify_since", "slack_message"]
