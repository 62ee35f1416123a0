"""The CLI starts light: `import ecoradar.cli` and `ecoradar --help` pull in none of the heavy libraries."""

import os
import subprocess
import sys

#: Libraries that take seconds to import; stages import them inside their commands.
HEAVY = (
    "pandas",
    "numpy",
    "scipy",
    "statsmodels",
    "sqlalchemy",
    "alembic",
    "fastapi",
    "uvicorn",
    "duckdb",
    "pyarrow",
    "plotly",
    "sqlglot",
    "pyspark",
)

#: Every top-level command and sub-app of `ecoradar --help`.
COMMANDS = (
    "simulate",
    "metrics",
    "sql",
    "detect",
    "detect-series",
    "explain",
    "localize",
    "issues",
    "health",
    "impact",
    "serve",
    "users",
    "report",
    "run",
    "demo",
    "version",
)

_PROBE = """
import sys
import ecoradar.cli
heavy = {heavy!r}
print(" ".join(sorted(m for m in sys.modules if m.split(".")[0] in heavy)))
"""


def test_import_cli_loads_no_heavy_library():
    done = subprocess.run(
        [sys.executable, "-c", _PROBE.format(heavy=HEAVY)], capture_output=True, text=True, timeout=120, check=True
    )
    offenders = sorted({m.split(".")[0] for m in done.stdout.split()})
    assert not offenders, f"`import ecoradar.cli` imported heavy modules {offenders}: {done.stdout.strip()}"


def test_help_lists_every_command():
    done = subprocess.run(
        [sys.executable, "-m", "ecoradar", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert done.returncode == 0, done.stderr
    listed = {line.strip("│ ").split()[0] for line in done.stdout.splitlines() if line.strip("│ ")}
    missing = sorted(set(COMMANDS) - listed)
    assert not missing, f"`ecoradar --help` does not list {missing}:\n{done.stdout}"
