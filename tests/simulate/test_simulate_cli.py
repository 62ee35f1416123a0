"""`ecoradar simulate` from the command line: a summary on success, one line and exit 2 on bad input.

Every process start imports the whole CLI (all stages), which is slow on a busy machine: one success and one bad
input run as real processes; every bad-input kind also runs through the same entry point (`ecoradar.cli.main`) in
this process, and the finer scenario-file checks call the Python API.
"""

from __future__ import annotations

from datetime import date

import pytest

from cli_runner import run_cli
from ecoradar.errors import EcoradarError, InputError
from ecoradar.simulate import Scenario, default_scenarios, load_scenarios, simulate

GOOD = "- {kind: share_rate, scope: {region: US, os: ios}, start: 5, end: 8, magnitude: -0.5, write_event: true}\n"


def test_simulate_prints_a_summary(tmp_path):
    (tmp_path / "s.yaml").write_text(GOOD)
    res = run_cli(
        "simulate", "--out", tmp_path / "w", "--scale", "tiny", "--days", "10", "--scenarios", tmp_path / "s.yaml"
    )
    assert res.exit_code == 0, res.stderr
    assert "impressions" in res.stdout and "truth.json" in res.stdout and "1 issues" in res.stdout
    assert "2026-01-10" in res.stdout  # the scenario's start
    assert (tmp_path / "w" / "truth.json").exists()


#: One case per kind of bad input named in issue 2: (arguments, scenario file text or None, message).
BAD = {
    "invalid date": (["--start", "2026-02-30"], None, "invalid --start '2026-02-30'"),
    "days < 1": (["--days", "0"], None, "invalid --days 0"),
    "unknown scale": (["--scale", "huge"], None, "unknown scale 'huge'"),
    "unknown kind": ([], "- {kind: bogus_kind, start: 3, magnitude: 0.5}\n", "unknown scenario kind 'bogus_kind'"),
    "unknown dimension": (
        [],
        "- {kind: share_rate, scope: {planet: mars}, start: 3, magnitude: -0.5}\n",
        "unknown scope dimension",
    ),
    "unknown value": (
        [],
        "- {kind: share_rate, scope: {region: XX}, start: 3, magnitude: -0.5}\n",
        "unknown region value 'XX'",
    ),
    "magnitude out of range": (
        [],
        "- {kind: share_rate, scope: {region: US}, start: 3, magnitude: 7}\n",
        "out of range",
    ),
    "unwritable folder": (["--out-is-under-a-file"], None, "cannot write output folder"),
}


def _bad_case(tmp_path, case: str) -> tuple[list, object]:
    """Arguments for one bad-input case, and the folder that must stay as it was."""
    args, text, _ = BAD[case]
    folder = tmp_path / case.replace(" ", "_")
    folder.mkdir()
    out = folder / "w"
    if args == ["--out-is-under-a-file"]:
        (folder / "file").write_text("x")
        args, out = [], folder / "file" / "w"
    if text is not None:
        (folder / "s.yaml").write_text(text)
        args = [*args, "--scenarios", folder / "s.yaml"]
    return ["simulate", "--out", out, "--scale", "tiny", "--days", "25", *map(str, args)], folder


def _check(case: str, exit_code: int, stderr: str, folder) -> None:
    assert exit_code == 2, (case, exit_code, stderr)
    assert "Traceback" not in stderr, case
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), (case, stderr)
    assert BAD[case][2] in lines[0], (case, lines[0])
    assert sorted(p.name for p in folder.iterdir()) in ([], ["s.yaml"], ["file"]), case  # nothing half-written


def test_bad_input_from_a_real_process(tmp_path):
    args, folder = _bad_case(tmp_path, "unknown kind")
    res = run_cli(*args)
    _check("unknown kind", res.exit_code, res.stderr, folder)


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, case, capsys, monkeypatch):
    """The real entry point (ecoradar.cli.main), in this process: a process start per case is too slow here."""
    from ecoradar.cli import main

    args, folder = _bad_case(tmp_path, case)
    monkeypatch.setattr("sys.argv", ["ecoradar", *map(str, args)])
    with pytest.raises(SystemExit) as exc:
        main()
    _check(case, exc.value.code, capsys.readouterr().err, folder)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- {kind: completion, scope: {app_version: 9.9.9}, start: 3, magnitude: -0.5}\n", "app_version value"),
        ("- {kind: uploads, scope: {surface: search}, start: 3, magnitude: -0.5}\n", "cannot be scoped by"),
        ("- {kind: mix_shift, scope: {region: US}, start: 3, magnitude: 1}\n", "exactly one of surface, format"),
        ("- {kind: share_rate, scope: {region: US}, start: 30, magnitude: -0.5}\n", "outside the window"),
        ("- {kind: share_rate, scope: {region: US}, start: 5, end: 2, magnitude: -0.5}\n", "between its start"),
        ("- {kind: share_rate, scope: {region: US}, start: 2026-02-31, magnitude: -0.5}\n", "invalid value"),
        ("- {kind: share_rate, start: 3, magnitude: -0.5, colour: red}\n", "colour"),
        ("- {kind: share_rate, metric_hint: vibes, start: 3, magnitude: -0.5}\n", "unknown metric_hint 'vibes'"),
        ("- {kind: [unclosed\n", "not valid YAML"),
        ("kind: share_rate\n", "must hold a list"),
    ],
)
def test_bad_scenario_files(tmp_path, text, message):
    (tmp_path / "s.yaml").write_text(text)
    with pytest.raises(EcoradarError) as err:
        simulate(tmp_path / "w", days=10, scale="tiny", scenarios=tmp_path / "s.yaml")
    assert err.value.exit_code == 2
    assert message in str(err.value) and "\n" not in str(err.value)
    assert [p.name for p in tmp_path.iterdir()] == ["s.yaml"]


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
    with pytest.raises(InputError, match="holds no simulated world"):
        (tmp_path / "mine").mkdir()
        (tmp_path / "mine" / "notes.txt").write_text("keep me")
        simulate(tmp_path / "mine", days=2, scale="tiny", issues=False)
    assert [p.name for p in (tmp_path / "mine").iterdir()] == ["notes.txt"]
