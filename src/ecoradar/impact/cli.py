"""CLI commands of the impact stage: `ecoradar impact` on an issue or on any CSV series."""

# Heavy imports live inside the commands, to keep `ecoradar --help` fast.
from __future__ import annotations

import importlib
import importlib.util
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from ecoradar.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

    from ecoradar.impact.records import ImpactResult


def load_csv(path: Path, *, y: str, controls: list[str], date_col: str | None) -> tuple[pd.Series, pd.DataFrame | None]:
    """Read the target and controls from a CSV (delimiter sniffed), indexed by date or by row number.

    Without --date-col a column named "date" (any case) is used when present; otherwise rows are numbered from 0.
    """
    import pandas as pd

    if not path.is_file():
        raise InputError(f"CSV file not found: {path}")
    try:
        frame = pd.read_csv(path, sep=None, engine="python")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read CSV {path}: {str(exc).splitlines()[0]}") from None
    columns = [str(c) for c in frame.columns]
    if date_col is None:
        date_col = next((c for c in columns if c.lower() == "date"), None)
    for col in [y, *controls, *([date_col] if date_col else [])]:
        if col not in columns:
            raise InputError(f"column {col!r} not in {path.name}; columns: {', '.join(columns)}")
    if y in controls:
        raise InputError(f"column {y!r} is both the target and a control")
    if date_col:
        dates = pd.to_datetime(frame[date_col], errors="coerce")
        if dates.isna().any():
            row = int(dates.isna().to_numpy().nonzero()[0][0])
            raise InputError(f"date column {date_col!r} has a value that is not a date: {frame[date_col].iloc[row]!r}")
        if dates.duplicated().any():
            raise InputError(
                f"date column {date_col!r} has duplicate dates, e.g. {dates[dates.duplicated()].iloc[0].date()}"
            )
        frame = frame.set_index(pd.DatetimeIndex(dates, name=date_col)).sort_index()
    return frame[y], (frame[controls] if controls else None)


def _bound(value: str | None, index: pd.Index, option: str):
    """A DATE or ROW bound: a row number (position) or, on a dated series, a date."""
    import pandas as pd

    if value is None:
        return None
    text = value.strip()
    if text.lstrip("-").isdigit():
        row = int(text)
        if not 0 <= row < len(index):
            raise InputError(f"{option} row {row} is outside the data (rows 0..{len(index) - 1})")
        return index[row]
    if not isinstance(index, pd.DatetimeIndex):
        raise InputError(f"{option} {value!r} must be a row number: the CSV has no date column")
    try:
        return pd.Timestamp(text)
    except ValueError:
        raise InputError(f"{option} {value!r} is neither a date (YYYY-MM-DD) nor a row number") from None


def periods(index: pd.Index, *, post_start: str, pre_start: str | None, post_end: str | None) -> tuple[tuple, tuple]:
    """Pre/post windows from CLI bounds: the pre-period ends on the last row before post_start."""
    start = _bound(post_start, index, "--post-start")
    if start < index[0]:
        raise InputError(f"--post-start {post_start} is before the data start {_fmt(index[0])}")
    if start > index[-1]:
        raise InputError(f"--post-start {post_start} is after the data end {_fmt(index[-1])}")
    before = index[index < start]
    if not len(before):
        raise InputError(f"--post-start {post_start} leaves no pre-period: it is the first row of the data")
    pre_from = _bound(pre_start, index, "--pre-start")
    post_to = _bound(post_end, index, "--post-end")
    return (index[0] if pre_from is None else pre_from, before[-1]), (start, index[-1] if post_to is None else post_to)


def _fmt(value) -> str:
    import pandas as pd

    return str(value.date()) if isinstance(value, pd.Timestamp) else str(value)


def _num(v: float | None, pct: bool = False) -> str:
    if v is None:
        return "n/a"
    return f"{v:.2%}" if pct else f"{v:,.4g}"


def print_summary(result: ImpactResult, console: Console) -> None:
    """CausalImpact-style summary: actual, prediction, absolute and relative effect with intervals, p-value."""
    level = f"{1 - result.alpha:.0%} CI"
    table = Table(
        title=f"Posterior inference ({result.estimator}); pre {result.pre_period[0]}..{result.pre_period[1]}, "
        f"post {result.post_period[0]}..{result.post_period[1]}",
        title_justify="left",
    )
    table.add_column("")
    table.add_column("Average", justify="right")
    table.add_column("Cumulative", justify="right")
    n = result.n_post
    table.add_row("Actual", _num(result.actual_average), _num(result.actual_average * n))
    table.add_row("Prediction", _num(result.predicted_average), _num(result.predicted_average * n))
    table.add_row(
        level,
        f"[{_num(result.predicted_lower)}, {_num(result.predicted_upper)}]",
        f"[{_num(result.predicted_lower * n)}, {_num(result.predicted_upper * n)}]",
    )
    table.add_row("Absolute effect", _num(result.average_effect), _num(result.cumulative_effect))
    table.add_row(
        level,
        f"[{_num(result.lower)}, {_num(result.upper)}]",
        f"[{_num(result.cumulative_lower)}, {_num(result.cumulative_upper)}]",
    )
    rel = _num(result.relative_effect, pct=True)
    rel_ci = f"[{_num(result.relative_lower, pct=True)}, {_num(result.relative_upper, pct=True)}]"
    table.add_row("Relative effect", rel, rel)
    table.add_row(level, rel_ci, rel_ci)
    console.print(table)
    console.print(f"Posterior tail-area probability p: {result.p_value:.4g}")
    if result.did is not None:
        d = result.did
        console.print(f"Difference-in-differences: {_num(d.average_effect)} [{_num(d.lower)}, {_num(d.upper)}]")
    if result.placebo is not None:
        pl = result.placebo
        console.print(
            f"Placebo: {len(pl.runs)} fake fix dates, interval covers 0 in {pl.coverage:.0%}; "
            f"placebo p {pl.p_value:.3g}"
        )
    for warning in result.warnings:
        console.print(f"[yellow]warning:[/yellow] {warning}")
    console.print(f"Verdict: [bold]{result.verdict}[/bold] ({result.verdict_reason})")


def _issue_impact(
    issue_id: str, *, fix_date: str | None, controls: str | None, db: str | None, **given
) -> ImpactResult:
    """Delegate to the issue store, which owns scopes, baselines and storing the result.

    Options the user did not give (None) are left to the issue store's defaults.
    """
    if importlib.util.find_spec("ecoradar.issues.impact") is None:
        raise InputError("issue impact needs the issue store (ecoradar.issues.impact is not available)")
    module = importlib.import_module("ecoradar.issues.impact")
    extra = {k: v for k, v in given.items() if v is not None}
    return module.issue_impact(issue_id, fix_date=fix_date, controls=controls, db=db, **extra)


def register(app: typer.Typer) -> None:
    """Add this stage's commands to the main app."""

    @app.command()
    def impact(
        issue_id: Annotated[str | None, typer.Argument(help="Issue id; omit to analyse a CSV series.")] = None,
        csv: Annotated[Path | None, typer.Option(help="CSV file with the series (any delimiter).")] = None,
        y: Annotated[str | None, typer.Option("--y", help="Target column of the CSV.")] = None,
        controls: Annotated[
            str | None,
            typer.Option(help="CSV: control columns COL,...; issue: auto or dim=value;... slices."),
        ] = None,
        date_col: Annotated[str | None, typer.Option(help="Date column (default: a column named 'date').")] = None,
        post_start: Annotated[str | None, typer.Option(help="First day (DATE) or row (ROW) after the fix.")] = None,
        pre_start: Annotated[str | None, typer.Option(help="First DATE|ROW of the pre-period.")] = None,
        post_end: Annotated[str | None, typer.Option(help="Last DATE|ROW of the post-period.")] = None,
        fix_date: Annotated[str | None, typer.Option(help="Issue mode: the fix date (default: the issue's).")] = None,
        db: Annotated[str | None, typer.Option(help="Issue mode: issue store URL.")] = None,
        data: Annotated[Path | None, typer.Option(help="Issue mode: data folder holding the metric cube.")] = None,
        estimator: Annotated[
            str | None, typer.Option(help="Estimator: bsts (default for CSV), bsts_adaptive or did.")
        ] = None,
        good_direction: Annotated[str, typer.Option(help="Which way is better: up or down.")] = "up",
        baseline: Annotated[float | None, typer.Option(help="Pre-issue level, for recovered vs partial.")] = None,
        nseasons: Annotated[int | None, typer.Option(help="Season length for bsts (7: weekly on daily data).")] = None,
        placebo: Annotated[int | None, typer.Option(help="Number of placebo fix dates in the pre-period.")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print the JSON summary.")] = False,
    ) -> None:
        """Did it work? Effect of a fix (ISSUE_ID) or of any change in a CSV series, against a counterfactual."""
        from ecoradar.impact.api import estimate_impact

        if issue_id is not None:
            result = _issue_impact(
                issue_id, fix_date=fix_date, controls=controls, db=db, data=data, estimator=estimator, placebo=placebo
            )
        else:
            missing = [opt for opt, v in (("--csv", csv), ("--y", y), ("--post-start", post_start)) if v is None]
            if missing:
                raise InputError(
                    f"without ISSUE_ID, give {', '.join(missing)} (e.g. --csv FILE --y COL --post-start D)"
                )
            names = [c.strip() for c in (controls or "").split(",") if c.strip()]
            target, frame = load_csv(csv, y=y, controls=names, date_col=date_col)
            pre, post = periods(target.index, post_start=post_start, pre_start=pre_start, post_end=post_end)
            estimator = estimator or "bsts"
            options = {"nseasons": nseasons} if nseasons and estimator.startswith("bsts") else None
            result = estimate_impact(
                target,
                frame,
                pre_period=pre,
                post_period=post,
                estimator=estimator,
                good_direction=good_direction,
                baseline=baseline,
                placebo=placebo or 0,
                estimator_options=options,
            )
        if as_json:
            print(json.dumps(result.summary()))
        else:
            print_summary(result, Console(highlight=False))
