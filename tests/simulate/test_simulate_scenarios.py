"""Each default scenario moves its metric inside its scope, by roughly its size, and not outside it.

The counterfactual is the same world simulated with --no-issues (same seed), so a ratio issue/clean of 1 means
"no effect"; the mix shift, whose metric moves only in aggregate, has its own test.
"""

from __future__ import annotations

import json
import math
from datetime import date, timedelta

import pytest
import simworld

from ecoradar.simulate import KINDS, default_scenarios

#: Expected issue/clean ratio of the metric inside the scope from the magnitude m and the clean value s (None =
#: direction only). Shares renormalise: a weight 1+m on a share s gives (1+m)s / (1 + m s).
EXPECTED = {
    "format_exposure": lambda m, s: (1 + m) / (1 + m * s),
    "new_creator_exposure": lambda m, s: (1 + m) / (1 + m * s),
    "appeal_overturn": lambda m, s: 1 + m,
    "removal_rate": lambda m, s: 1 + m,
    "uploads": lambda m, s: 1 + m,
    "not_interested": lambda m, s: 1 + m,
    "share_rate": lambda m, s: 1 + m,
    "review_latency": lambda m, s: 1 + m,
    "completion": lambda m, s: 1 + m,
    "creator_concentration": None,
    "spam_wave": None,
}
#: Impression rates are compared on the for_you surface when the scope names no surface, so the mix shift (which
#: moves traffic between surfaces) does not leak into other scenarios' comparisons.
#: Metrics measured instead of the hint where the hint is too sparse at scale small: a spam wave's reports are a
#: handful a day there, its removals (per decision) are not (its reports get their own test).
TEST_METRIC = {"spam_wave": "removal_rate"}
IMPRESSION_KINDS = {k for k, spec in KINDS.items() if set(spec.dims) >= {"surface"} or "weight" in spec.targets[0]}
RATES = {"share_rate", "not_interested_rate", "completion_rate", "report_rate", "like_rate"}


def _window(t: dict, kind: str) -> tuple[str, str]:
    """Days with the full effect: after a drift's ramp; review latency once the delayed decisions arrive."""
    settle = KINDS[kind].ramp_days - 1 + (2 if kind == "review_latency" else 0)
    start = date.fromisoformat(t["start"]) + timedelta(days=settle)
    end = t["end"] or "2026-03-05"
    return start.isoformat(), end


@pytest.fixture(scope="module")
def cons(tmp_path_factory):
    root = tmp_path_factory.getbasetemp()
    world, clean = simworld.small_world(root, issues=True), simworld.small_world(root, issues=False)
    truth = json.loads((world / "truth.json").read_text())
    return truth, simworld.connect(world), simworld.connect(clean)


def test_default_library_covers_every_category_and_required_kind():
    lib = default_scenarios(date(2026, 1, 5), 60)
    kinds = {s.kind for s in lib}
    assert len(kinds) >= 10
    assert {KINDS[k].category for k in kinds} >= {
        "traffic_balance",
        "diversity",
        "creator_experience",
        "user_experience",
        "content_quality",
        "supply",
    }
    assert any(s.write_event for s in lib) and not all(s.write_event for s in lib)
    assert any(s.end is None for s in lib) and any(s.end is not None for s in lib)
    offsets = [(s.start - date(2026, 1, 5)).days for s in lib]
    assert min(offsets) >= 21 and max(offsets) <= 55
    assert all(1 <= len(s.scope) <= 2 for s in lib)


def _log_ratio(a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float]:
    """log(a / b) of two (value, count) metrics and its sampling error (counts as Poisson)."""
    se = math.sqrt(1 / max(a[1], 1) + 1 / max(b[1], 1))
    if a[0] == b[0]:
        return 0.0, se
    return math.log(max(a[0], 1e-12) / max(b[0], 1e-12)), se


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_effect_inside_scope_and_not_outside(cons, kind):
    truth, con, clean = cons
    (t,) = [t for t in truth if t["kind"] == kind]
    start, end = _window(t, kind)
    name, scope, m = TEST_METRIC.get(kind, t["metric_hint"]), t["scope"], t["magnitude"]
    extra = "surface = 'for_you'" if name in RATES and "surface" not in scope else "TRUE"

    # inside: the right sign, significantly, and roughly the configured size
    base = simworld.metric(clean, name, scope, start, end, extra=extra)
    lr, se = _log_ratio(simworld.metric(con, name, scope, start, end, extra=extra), base)
    assert lr * m > 0 and abs(lr) > 2 * se, f"{kind}: log ratio {lr:+.3f} (se {se:.3f}) in {scope}"
    if EXPECTED[kind] is not None:
        want = math.log(EXPECTED[kind](m, base[0]))
        assert abs(lr - want) <= 0.25 * abs(want) + 3 * se, f"{kind}: log ratio {lr:+.3f}, expected ~{want:+.3f}"

    # outside the scope, and inside it before the start, the metric matches the world without issues
    lr, se = _log_ratio(
        simworld.metric(con, name, scope, start, end, negate=True, extra=extra),
        simworld.metric(clean, name, scope, start, end, negate=True, extra=extra),
    )
    assert abs(lr) <= 0.05 + 3 * se, f"{kind}: outside the scope the metric moved (log ratio {lr:+.3f})"
    first = date.fromisoformat(t["start"])
    before = ((first - timedelta(days=14)).isoformat(), (first - timedelta(days=1)).isoformat())
    lr, se = _log_ratio(
        simworld.metric(con, name, scope, *before, extra=extra),
        simworld.metric(clean, name, scope, *before, extra=extra),
    )
    assert abs(lr) <= 0.05 + 3 * se, f"{kind}: moved before its start (log ratio {lr:+.3f})"


def test_mix_shift_leaves_within_segment_rates_unchanged(cons):
    truth, con, clean = cons
    (t,) = [t for t in truth if t["kind"] == "mix_shift"]
    # up to the next scenario that touches impressions, so only the mix shift is in force
    start = t["start"]
    end = (
        date.fromisoformat(min(x["start"] for x in truth if x["start"] > start and x["kind"] in IMPRESSION_KINDS))
        - timedelta(days=1)
    ).isoformat()
    dim, grown = next(iter(t["scope"].items()))
    # the aggregate moves...
    agg = simworld.metric(con, "like_rate", {}, start, end)[0] / simworld.metric(clean, "like_rate", {}, start, end)[0]
    assert agg > 1.04
    # ...because the grown segment's traffic share rose...
    share = con.execute(
        f"SELECT avg(({dim} = '{grown}')::int) FROM imp WHERE date BETWEEN '{start}' AND '{end}'"
    ).fetchall()[0][0]
    share_clean = clean.execute(
        f"SELECT avg(({dim} = '{grown}')::int) FROM imp WHERE date BETWEEN '{start}' AND '{end}'"
    ).fetchall()[0][0]
    assert share > 1.8 * share_clean
    # ...while the rate inside every segment stays within noise
    for value in ("for_you", "following", "search", "profile"):
        for name in ("like_rate", "completion_rate", "comment_rate"):
            lr, se = _log_ratio(
                simworld.metric(con, name, {dim: value}, start, end),
                simworld.metric(clean, name, {dim: value}, start, end),
            )
            assert abs(lr) <= 0.03 + 3 * se, f"{name} in {dim}={value} moved (log ratio {lr:+.3f})"


def test_spam_wave_raises_reports_from_new_accounts(cons):
    truth, con, clean = cons
    (t,) = [t for t in truth if t["kind"] == "spam_wave"]
    start, end = _window(t, "spam_wave")
    lr, se = _log_ratio(
        simworld.metric(con, "report_rate", t["scope"], start, end),
        simworld.metric(clean, "report_rate", t["scope"], start, end),
    )
    assert t["metric_hint"] == "report_rate" and lr > 0.5 and lr > 2 * se, f"log ratio {lr:+.3f} (se {se:.3f})"
