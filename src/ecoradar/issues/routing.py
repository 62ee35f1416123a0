"""Owner routing: YAML rules by category, metric and dimension values -> the team that owns an issue."""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from ecoradar.errors import InputError

DEFAULT_ROUTING = Path(__file__).resolve().parent / "routing.yaml"
_KEYS = {"category", "metric", "scope"}


def _as_list(value) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


@dataclass(frozen=True)
class Rule:
    """One routing rule: conditions that must all hold, and the owner they give."""

    owner: str
    category: tuple[str, ...] = ()
    metric: tuple[str, ...] = ()
    scope: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def matches(self, *, category: str, metric: str, scope: Mapping[str, str]) -> bool:
        """Whether an issue with this category, metric and scope falls under the rule."""
        if self.category and category not in self.category:
            return False
        if self.metric and not any(fnmatch.fnmatchcase(metric, pat) for pat in self.metric):
            return False
        return all(scope.get(dim) in values for dim, values in self.scope)


@dataclass(frozen=True)
class Routing:
    """Ordered rules plus the fallback owner."""

    rules: tuple[Rule, ...]
    default: str
    source: str

    def route(self, *, category: str, metric: str, scope: Mapping[str, str], metric_owner: str | None = None) -> str:
        """The owner team: first matching rule, else the metric's catalog owner, else the default."""
        for rule in self.rules:
            if rule.matches(category=category, metric=metric, scope=scope):
                return rule.owner
        return metric_owner or self.default


def parse_routing(text: str, source: str = "<string>") -> Routing:
    """Parse routing YAML; InputError naming the file and the bad rule otherwise."""
    try:
        doc = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise InputError(f"routing file {source}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("rules", []), list):
        raise InputError(f"routing file {source}: expected a mapping with 'default' and a list 'rules'")
    rules = []
    for i, raw in enumerate(doc.get("rules") or [], start=1):
        if not isinstance(raw, dict) or not raw.get("owner") or not isinstance(raw.get("match", {}), dict):
            raise InputError(f"routing file {source}: rule {i} needs 'owner' and a 'match' mapping")
        match = raw.get("match") or {}
        bad = set(match) - _KEYS
        if bad:
            raise InputError(
                f"routing file {source}: rule {i} has unknown condition {sorted(bad)[0]!r}; "
                f"allowed: {', '.join(sorted(_KEYS))}"
            )
        scope = match.get("scope") or {}
        if not isinstance(scope, dict):
            raise InputError(f"routing file {source}: rule {i} 'scope' must map dimension -> value(s)")
        rules.append(
            Rule(
                owner=str(raw["owner"]),
                category=tuple(_as_list(match["category"])) if "category" in match else (),
                metric=tuple(_as_list(match["metric"])) if "metric" in match else (),
                scope=tuple((str(d), tuple(_as_list(v))) for d, v in sorted(scope.items())),
            )
        )
    return Routing(rules=tuple(rules), default=str(doc.get("default") or "ecosystem-analytics"), source=source)


def load_routing(path: str | Path | None = None) -> Routing:
    """Routing from `path`, else $ECORADAR_ROUTING, else the shipped routing.yaml."""
    path = Path(path or os.environ.get("ECORADAR_ROUTING") or DEFAULT_ROUTING)
    try:
        text = path.read_text()
    except OSError as exc:
        raise InputError(f"cannot read routing file {path}: {exc.strerror}") from None
    return parse_routing(text, str(path))
