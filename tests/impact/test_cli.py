"""`ecoradar impact` on CSV files: the JSON contract, the summary, and one-line errors with exit code 2."""

from __future__ import annotations

import json

import pytest

from cli_runner import run_cli
from ecoradar.errors import EcoradarError, InputError
from ecoradar.impact import estimate_impact
from ecoradar.impact.cli import load_csv, periods
from ecoradar.impact.records import SUMMARY_KEYS
from ecoradar.impact.synthetic import effect_series


@pytest.fixture(scope="module")
def dated_csv(tmp_path_factory):
    y, controls, _ = effect_series(n=60, n_pre=40, effect=3.0, seed=0)
    frame = controls.assign(y=y, label="x").rename_axis("date").reset_index()
    path = tmp_path_factory.mktemp("impact") / "series.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def plain_csv(tmp_path_factory):
    y, controls, _ = effect_series(n=60, n_pre=40, effect=3.0, seed=0)
    path = tmp_path_factory.mktemp("impact") / "rows.csv"
    controls.assign(y=y.to_numpy()).to_csv(path, index=False)
    return path


def test_json_contract_on_dated_csv(dated_csv):
    res = run_cli(
        "impact", "--csv", dated_csv, "--y", "y", "--controls", "c0,c1", "--post-start", "2024-02-10", "--json"
    )
    assert res.exit_code == 0, res.stderr
    out = json.loads(res.stdout)
    assert tuple(out) == SUMMARY_KEYS
    assert out["lower"] < 3.0 < out["upper"] or abs(out["average_effect"] - 3.0) < 1.0
    assert out["verdict"] == "recovered" and out["p_value"] < 0.05


def test_rows_as_bounds_and_summary(plain_csv):
    res = run_cli(
        "impact", "--csv", plain_csv, "--y", "y", "--controls", "c0", "--post-start", "40", "--post-end", "59"
    )
    assert res.exit_code == 0, res.stderr
    for word in ("Actual", "Prediction", "Absolute effect", "Relative effect", "tail-area", "Verdict: recovered"):
        assert word in res.stdout
    assert "pre 0..39, post 40..59" in res.stdout.replace("\n", " ")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--post-start", "2023-12-01"), "before the data start 2024-01-01"),
        (("--post-start", "2024-06-01"), "after the data end 2024-02-29"),
        (("--post-start", "2024-01-05"), "pre-period too short: 4 observed points, the estimator needs at least 8"),
        (("--post-start", "2024-02-10", "--controls", "nope"), "column 'nope' not in series.csv"),
        (("--post-start", "2024-02-10", "--controls", "label"), "control column 'label' is not numeric"),
        (("--post-start", "next week"), "neither a date (YYYY-MM-DD) nor a row number"),
        (("--post-start", "2024-02-10", "--estimator", "bstss"), "did you mean 'bsts'"),
    ],
)
def test_bad_input_messages(dated_csv, args, message):
    # the same code path as the command, in-process (a CLI process costs seconds of imports on a loaded machine)
    opts = dict(zip(args[::2], args[1::2], strict=True))
    with pytest.raises(EcoradarError) as err:
        controls = [c for c in opts.get("--controls", "").split(",") if c]
        target, frame = load_csv(dated_csv, y="y", controls=controls, date_col=None)
        pre, post = periods(target.index, post_start=opts["--post-start"], pre_start=None, post_end=None)
        estimate_impact(target, frame, pre_period=pre, post_period=post, estimator=opts.get("--estimator", "bsts"))
    assert message in str(err.value)
    assert err.value.exit_code == 2


def test_bad_input_is_one_line_and_exit_2(dated_csv):
    res = run_cli("impact", "--csv", dated_csv, "--y", "y", "--post-start", "2023-12-01")
    assert res.exit_code == 2
    assert "error: --post-start 2023-12-01 is before the data start 2024-01-01" in res.stderr
    assert "Traceback" not in res.stderr and res.stderr.count("\n") == 1


def test_no_usable_controls(tmp_path):
    path = tmp_path / "flat.csv"
    path.write_text("y,flat\n" + "".join(f"{i % 3},1\n" for i in range(30)))
    target, frame = load_csv(path, y="y", controls=["flat"], date_col=None)
    with pytest.raises(InputError, match="no usable controls"):
        estimate_impact(target, frame, pre_period=(0, 19), post_period=(20, 29))
