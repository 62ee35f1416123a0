"""The mix/rate label judges each effect against the sampling noise of the rate."""

from __future__ import annotations

import pandas as pd
import pytest

from ecoradar.explain.mixrate import label, mix_rate_split


@pytest.mark.parametrize(
    ("mix", "rate", "noise", "mix_noise", "expected"),
    [
        (0.6, 0.4, 0.0, 0.0, "mixed"),  # no noise known: shares decide
        (0.9, 0.05, 0.0, 0.0, "mix_shift"),
        (0.6, 0.4, 0.25, 0.1, "mix_shift"),  # the rate effect is within its noise, the mix effect far beyond its own
        (0.4, 0.6, 0.1, 0.25, "rate_change"),
        (0.3, 0.6, 0.5, 0.05, "mixed"),  # a clear mix effect beside a larger rate effect within its (wide) noise
        (0.6, 0.1, 0.25, 0.25, "mixed"),  # a mix effect within 3 of its wander is no mix shift, whatever its share
        (0.6, 0.5, 0.1, 0.1, "mixed"),  # both clear: shares decide
        (0.9, 0.2, 0.05, 0.05, "mix_shift"),
    ],
)
def test_label_judges_effects_against_noise(mix, rate, noise, mix_noise, expected):
    assert label(mix, rate, noise=noise, mix_noise=mix_noise) == expected


def test_split_with_a_rate_wobble_inside_noise_is_a_mix_shift():
    # traffic doubles in the high-rate segment, whose rate wobbles by 12% (a third of the change)
    seg = pd.DataFrame(
        {"num_before": [100, 400], "den_before": [10000, 10000], "num_after": [100, 900], "den_after": [10000, 20000]}
    )
    assert mix_rate_split(seg, "surface").label == "mixed"
    assert (
        mix_rate_split(seg, "surface", noise=0.0005, mix_noise=0.0005).label == "mixed"
    )  # a wobble beyond 2 sigma is a rate change
    tight = mix_rate_split(seg, "surface", noise=0.002, mix_noise=0.001)  # within sampling noise: only the mix moved
    assert tight.label == "mix_shift"
    assert tight.mix_effect + tight.rate_effect == pytest.approx(tight.total_change)
