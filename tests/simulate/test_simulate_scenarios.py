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

#: Expected issue/clean ratio of the metric inside the scope, from the magnitude (None = direction only).
#: Shares renormalise: a weight w on share s becomes w*s / (1 - s + w*s).
EXPECTED = {
    "format_exposure": lambda m: (1 + m) / (1 + m * 0.15),
    "new_creator_exposure": lambda m: (1 + m) / (1 + m * 0.09),
    "appeal_overturn": lambda m: 1 + m,
    "removal_rate": lambda m: 1 + m,
    "uploads": lambda m: 1 + m,
    "not_interested": lambda m: 1 + m,
    "share_rate": lambda m: 1 + m,
    "review_latency": lambda m: 1 + m,
    "completion": lambda m: 1 + m,
    "creator_concentration": None,
    "spam_wave": None,
}
#: Impression rates are compared on the for_you surface when the scope names no surface, so the mix shift (which
#: moves traffic between surfaces) does not leak into other scenarios' comparisons.
RATES = {"share_rate", "not_interested_rate", "completion_rate", "report_rate", "like_rate"}


def _window(t: dict, kind: str) -> tuple[str, str]:
    """Days with the full effect: after a drift's ramp; review latency after its tail (p90 ~ 3 days) fills."""
    settle = KINDS[kind].ramp_days - 1 + (4 if kind == "review_latency" else 0)
    start = date.fromisoformat(t["start"]) + timedelta(days=settle)
    end = t["end"] or "2026-03-05"
    return start.isoformat(), end


@pytest.fixture(scope="module")
def cons(small_world, small_world_clean):
    truth = json.loads((small_world / "truth.json").read_text())
    return truth, simworld.connect(small_world), simworld.connect(small_world_clean)


def test_default_library_covers_every_category_and_required_kind():
    lib = default_scenarios(date(2026, 1, 5), 60)
    kinds = {s.kind for s in lib}
    assert len(kinds) >= 10
    assert {KINDS[k].category for k in kinds} >= {
        "traffic_balance", "diversity", "creator_experience", "user_experience", "content_quality", "supply"
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
    name, scope, m = t["metric_hint"], t["scope"], t["magnitude"]
    extra = "surface = 'for_you'" if name in RATES and "surface" not in scope else "TRUE"

    # inside: the right sign, significantly, and roughly the configured size
    lr, se = _log_ratio(simworld.metric(con, name, scope, start, end, extra=extra),
                        simworld.metric(clean, name, scope, start, end, extra=extra))
    assert lr * m > 0 and abs(lr) > 2 * se, f"{kind}: log ratio {lr:+.3f} (se {se:.3f}) in {scope}"
    if EXPECTED[kind] is not None:
        want = math.log(EXPECTED[kind](m))
        assert abs(lr - want) <= 0.25 * abs(want) + 3 * se, f"{kind}: log ratio {lr:+.3f}, expected ~{want:+.3f}"

    # outside the scope, and inside it before the start, the metric matches the world without issues
    lr, se = _log_ratio(simworld.metric(con, name, scope, start, end, negate=True, extra=extra),
                        simworld.metric(clean, name, scope, start, end, negate=True, extra=extra))
    assert abs(lr) <= 0.05 + 3 * se, f"{kind}: outside the scope the metric moved (log ratio {lr:+.3f})"
    first = date.fromisoformat(t["start"])
    before = ((first - timedelta(days=14)).isoformat(), (first - timedelta(days=1)).isoformat())
    lr, se = _log_ratio(simworld.metric(con, name, scope, *before, extra=extra),
                        simworld.metric(clean, name, scope, *before, extra=extra))
    assert abs(lr) <= 0.05 + 3 * se, f"{kind}: moved before its start (log ratio {lr:+.3f})"


def test_mix_shift_leaves_within_segment_rates_unchanged(cons):
    truth, con, clean = cons
    (t,) = [t for t in truth if t["kind"] == "mix_shift"]
    start, end = _window(t, "mix_shift")
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
            lr, se = _log_ratio(simworld.metric(con, name, {dim: value}, start, end),
                                simworld.metric(clean, name, {dim: value}, start, end))
            assert abs(lr) <= 0.03 + 3 * se, f"{name} in {dim}={value} moved (log ratio {lr:+.3f})"
