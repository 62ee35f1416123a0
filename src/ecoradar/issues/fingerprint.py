"""Versioned fingerprints: which anomalies are the same problem, and why (a hint of what contributed).

A fingerprint hashes the metric family, the issue's scope (variable values replaced by placeholders) and
the direction of the change. Grouping configs are registered under a versioned id; an issue keeps the id
of the config that made it, so a new rule (a new id with a changelog) never re-keys old issues.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ecoradar.errors import unknown
from ecoradar.metrics.model import health_of


@dataclass(frozen=True)
class FingerprintConfig:
    """One registered grouping rule set."""

    id: str
    """Versioned id stored on every issue ('fingerprint:v1')."""
    changelog: str
    """What this version changed, for people reading old issues."""
    risk: str
    """How much re-grouping switching to it causes: low, medium, high."""
    family: Callable[[str], str]
    """Metric name -> family: metrics of one family on overlapping slices group together."""
    placeholders: tuple[tuple[re.Pattern[str], str], ...] = ()
    """(pattern, token) pairs applied to scope values before hashing."""
    direction: bool = True
    """Whether up and down changes of the same slice are different issues."""
    declared_families: bool = False
    """Whether a metric's `family` in the catalog (metrics measuring one phenomenon) overrides `family`."""
    health: bool = False
    """Whether directions are read as worse / better by the metric's good direction (neutral metrics: up / down),
    so a family whose members move opposite ways in one problem (fewer creators shown, higher Gini) groups."""

    def family_of(self, metric: str, definition: Any = None) -> str:
        """The family `metric` groups in; `definition` is its catalog entry when known."""
        declared = getattr(definition, "family", None) if self.declared_families else None
        return declared or self.family(metric)

    def direction_of(self, direction: str, definition: Any = None) -> str:
        """The direction grouped by: 'worse' / 'better' under `health` for metrics with a good direction."""
        health = health_of(direction, getattr(definition, "direction", "neutral")) if self.health else None
        return health or direction


CONFIGS: dict[str, FingerprintConfig] = {}
_QUANTILE = re.compile(r"_p\d{1,2}(?=_|$)")
DEFAULT_CONFIG = "fingerprint:v2"


def register(config: FingerprintConfig) -> FingerprintConfig:
    """Add a config to the registry under its id (ids are never reused)."""
    if config.id in CONFIGS:
        raise RuntimeError(f"fingerprint config {config.id!r} registered twice")
    CONFIGS[config.id] = config
    return config


def get_config(config_id: str) -> FingerprintConfig:
    """The registered config with this id; NotFound with 'did you mean' otherwise."""
    try:
        return CONFIGS[config_id]
    except KeyError:
        raise unknown("fingerprint config", config_id, CONFIGS) from None


register(
    FingerprintConfig(
        id="fingerprint:v1",
        changelog="First version: family = metric name up to '__', quantile markers dropped (watch_time__ios -> "
        "watch_time, review_latency_p90_h -> review_latency_h); scope values that are dates, uuids or long numbers "
        "become placeholders; direction counts.",
        risk="low",
        family=lambda metric: _QUANTILE.sub("", metric.split("__", 1)[0]),
        placeholders=(
            (re.compile(r"^\d{4}-\d{2}-\d{2}([T ][\d:.]+)?$"), "<date>"),  # a dated release or campaign
            (re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I), "<uuid>"),
            (re.compile(r"^\d{5,}$"), "<int>"),  # entity ids, not small codes
        ),
    )
)


register(
    FingerprintConfig(
        id="fingerprint:v2",
        changelog="Metrics of one declared family (`family` in the catalog: uploads, active creators and uploads per "
        "creator are supply) group together, and directions are worse / better by each metric's good direction, so "
        "one drop in supply or one rise in concentration seen in several metrics is one issue. Otherwise as v1.",
        risk="medium",
        family=CONFIGS["fingerprint:v1"].family,
        placeholders=CONFIGS["fingerprint:v1"].placeholders,
        declared_families=True,
        health=True,
    )
)


@dataclass(frozen=True)
class Fingerprint:
    """A fingerprint value with the config that made it and the hint of what went in."""

    value: str
    config: str
    hint: dict[str, Any] = field(default_factory=dict)


def normalize_scope(scope: Mapping[str, str], config: FingerprintConfig) -> tuple[dict[str, str], list[str]]:
    """The scope with variable values replaced by placeholders, and the dimensions that were replaced."""
    out, replaced = {}, []
    for dim in sorted(scope):
        value = str(scope[dim])
        for pattern, token in config.placeholders:
            if pattern.match(value):
                value = token
                replaced.append(dim)
                break
        out[dim] = value
    return out, replaced


def fingerprint(
    metric: str, scope: Mapping[str, str], direction: str, *, config: str = DEFAULT_CONFIG, definition: Any = None
) -> Fingerprint:
    """The fingerprint of a problem in `metric`'s family, in `scope`, going `direction`.

    `definition` (the metric's catalog entry) lends its declared family and good direction where the config reads
    them.

    Example:
        >>> fp = fingerprint("photo_share", {"region": "JP", "format": "photo"}, "down")
        >>> fp.config, len(fp.value), fp.hint["contributes"]["family"]
        ('fingerprint:v2', 32, 'photo_share')
    """
    cfg = get_config(config)
    family = cfg.family_of(metric, definition)
    norm, replaced = normalize_scope(scope, cfg)
    parts = {"config": cfg.id, "family": family, "scope": norm}
    if cfg.direction:
        parts["direction"] = cfg.direction_of(direction, definition)
    value = hashlib.sha1(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:32]
    hint = {
        "contributes": {k: v for k, v in parts.items() if k != "config"},
        "placeholders": replaced,
        "ignored": ["date", "kind", "detector", "observed values"] + ([] if cfg.direction else ["direction"]),
    }
    return Fingerprint(value=value, config=cfg.id, hint=hint)


def overlaps(a: Mapping[str, str], b: Mapping[str, str]) -> bool:
    """Whether two slices share rows: they agree on every dimension both fix ({} overlaps everything)."""
    return all(a[d] == b[d] for d in a.keys() & b.keys())


def refines(child: Mapping[str, str], parent: Mapping[str, str]) -> bool:
    """Whether `child` is a strict sub-slice of `parent` (fixes every dimension parent fixes, and more)."""
    return len(child) > len(parent) and all(child.get(d) == v for d, v in parent.items())
