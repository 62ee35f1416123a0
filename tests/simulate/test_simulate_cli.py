"""`ecoradar simulate` from the command line: a summary on success, one line and exit 2 on bad input."""

from __future__ import annotations

from datetime import date

import pytest
from conftest import run_cli

from ecoradar.errors import InputError
from ecoradar.simulate import Scenario, default_scenarios, load_scenarios

GOOD = "- {kind: share_rate, scope: {region: US, os: ios}, start: 5, end: 8, magnitude: -0.5, write_event: true}\n"


def test_simulate_prints_a_summary(tmp_path):
    res = run_cli("simulate", "--out", tmp_path / "w", "--scale", "tiny", "--days", "21", "--seed", "2")
    assert res.exit_code == 0, res.stderr
    assert "impressions" in res.stdout and "truth.json" in res.stdout and "12 issues" in res.stdout
    assert (tmp_path / "w" / "truth.json").exists()


def test_scenario_file_and_no_issues(tmp_path):
    (tmp_path / "s.yaml").write_text(GOOD)
    res = run_cli("simulate", "--out", tmp_path / "w", "--scale", "tiny", "--days", "10", "--scenarios", tmp_path / "s.yaml")
    assert res.exit_code == 0, res.stderr
    assert "1 issues" in res.stdout and "2026-01-10" in res.stdout
    res = run_cli("simulate", "--out", tmp_path / "c", "--scale", "tiny", "--days", "5", "--no-issues")
    assert res.exit_code == 0 and "0 issues" in res.stdout


BAD_SCENARIOS = {
    "kind": ("- {kind: bogus_kind, start: 3, magnitude: 0.5}\n", "unknown scenario kind 'bogus_kind'"),
    "dimension": ("- {kind: share_rate, scope: {planet: mars}, start: 3, magnitude: -0.5}\n", "unknown scope dimension"),
    "value": ("- {kind: share_rate, scope: {region: XX}, start: 3, magnitude: -0.5}\n", "unknown region value 'XX'"),
    "version": ("- {kind: completion, scope: {app_version: 9.9.9}, start: 3, magnitude: -0.5}\n", "app_version value"),
    "magnitude": ("- {kind: share_rate, scope: {region: US}, start: 3, magnitude: 7}\n", "out of range"),
    "dim for kind": ("- {kind: uploads, scope: {surface: search}, start: 3, magnitude: -0.5}\n", "cannot be scoped by"),
    "late start": ("- {kind: share_rate, scope: {region: US}, start: 30, magnitude: -0.5}\n", "outside the window"),
    "date": ("- {kind: share_rate, scope: {region: US}, start: 2026-02-31, magnitude: -0.5}\n", "start"),
    "yaml": ("- {kind: [unclosed\n", "not valid YAML"),
}


@pytest.mark.parametrize("case", sorted(BAD_SCENARIOS))
def test_bad_scenario_files(tmp_path, case):
    text, message = BAD_SCENARIOS[case]
    (tmp_path / "s.yaml").write_text(text)
    res = run_cli("simulate", "--out", tmp_path / "w", "--scale", "tiny", "--days", "10", "--scenarios", tmp_path / "s.yaml")
    _assert_one_line_error(res, message)
    assert not (tmp_path / "w").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["s.yaml"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--start", "2026-02-30"], "invalid --start '2026-02-30'"),
        (["--start", "yesterday"], "invalid --start"),
        (["--days", "0"], "invalid --days 0"),
        (["--scale", "huge"], "unknown scale 'huge'"),
        (["--days", "10"], "too short for the default scenarios"),
        (["--scenarios", "/no/such/file.yaml"], "cannot read scenario file"),
    ],
)
def test_bad_arguments(tmp_path, args, message):
    res = run_cli("simulate", "--out", tmp_path / "w", "--scale", "tiny", *args)
    _assert_one_line_error(res, message)
    assert not (tmp_path / "w").exists()


def test_unwritable_or_foreign_output_folder(tmp_path):
    (tmp_path / "file").write_text("x")
    res = run_cli("simulate", "--out", tmp_path / "file" / "w", "--scale", "tiny", "--days", "3", "--no-issues")
    _assert_one_line_error(res, "cannot write output folder")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    res = run_cli("simulate", "--out", tmp_path / "mine", "--scale", "tiny", "--days", "3", "--no-issues")
    _assert_one_line_error(res, "holds no simulated world")
    assert [p.name for p in (tmp_path / "mine").iterdir()] == ["notes.txt"]


def _assert_one_line_error(res, message):
    assert res.exit_code == 2, (res.exit_code, res.stderr)
    assert "Traceback" not in res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), res.stderr
    assert message in lines[0], lines[0]


def test_python_api_validates_scenarios_and_scales_the_library(tmp_path):
    with pytest.raises(ValueError, match="out of range"):
        Scenario(kind="uploads", scope={"tier": "micro"}, start=3, magnitude=-2)
    lib = default_scenarios(date(2026, 3, 1), 30)
    assert all(date(2026, 3, 1) < s.start < date(2026, 3, 31) for s in lib)
    with pytest.raises(InputError, match="too short"):
        default_scenarios(date(2026, 3, 1), 14)
    (tmp_path / "s.yaml").write_text("scenarios:\n" + GOOD.replace("- ", "  - ", 1))
    (sc,) = load_scenarios(tmp_path / "s.yaml")
    assert sc.scope == {"region": "US", "os": "ios"} and sc.start == 5 and sc.write_event
