"""CLI of the issues stage: `ecoradar issues list|show|assign|status|comment|export` and `ecoradar health`."""

# Heavy imports live inside the commands, to keep `ecoradar --help` fast.
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from ecoradar.errors import InputError

#: Piped output gets $COLUMNS (or 160) columns so tables are not squeezed to 80.
console = Console(highlight=False, width=None if sys.stdout.isatty() else int(os.environ.get("COLUMNS") or 160))

DbOption = Annotated[
    str | None, typer.Option("--db", help="Store URL (default: $ECORADAR_DB, else sqlite:///ecoradar.db).")
]
ActorOption = Annotated[str | None, typer.Option("--actor", help="Who makes the change (default: $USER or 'cli').")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]

_PRIORITY_STYLE = {"P0": "bold red", "P1": "red", "P2": "yellow", "P3": "dim"}
#: Columns of `issues export --format csv` (nested values are JSON text).
EXPORT_COLUMNS = (
    "id",
    "short_id",
    "fingerprint",
    "title",
    "category",
    "kind",
    "direction",
    "severity",
    "priority",
    "status",
    "substatus",
    "owner",
    "metric",
    "scope",
    "root_causes",
    "related_events",
    "start_date",
    "first_seen",
    "last_seen",
    "times_seen",
    "observed",
    "expected",
    "deviation",
    "exposure",
    "fix_date",
    "resolved_at",
    "impact",
)


def _actor(actor: str | None) -> str:
    return actor or os.environ.get("USER") or "cli"


def parse_date(value: str | None, option: str) -> dt.date | None:
    """A YYYY-MM-DD option value, or InputError naming the option."""
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InputError(f"{option} {value!r} is not a date; use YYYY-MM-DD") from None


def _scope_text(scope: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(scope.items())) or "platform-wide"


def _issues_table(rows: list[dict], total: int) -> Table:
    table = Table(title=f"{len(rows)} of {total} issues", title_justify="left")
    for col in ("id", "pri", "status", "signal", "category", "owner", "last seen", "days", "title"):
        table.add_column(col, overflow="fold" if col == "title" else "ellipsis", no_wrap=col != "title")
    for r in rows:
        table.add_row(
            r["short_id"],
            f"[{_PRIORITY_STYLE[r['priority']]}]{r['priority']}[/]",
            r["status"],
            r["substatus"] or "",
            r["category"],
            r["owner"] or "",
            r["last_seen"],
            str(r["times_seen"]),
            r["title"],
        )
    return table


def _show(d: dict) -> None:
    console.print(f"[bold]{d['short_id']}[/] {d['title']}")
    fields = [
        ("status", f"{d['status']}" + (f" ({d['substatus']})" if d["substatus"] else "")),
        ("priority", f"{d['priority']}  severity {d['severity']:.4f}"),
        ("category / kind", f"{d['category']} / {d['kind']} ({d['direction']})"),
        ("owner", d["owner"] or "(unassigned)"),
        ("metric", d["metric"]),
        ("scope", _scope_text(d["scope"])),
        ("seen", f"{d['first_seen']} .. {d['last_seen']} on {d['times_seen']} days (started {d['start_date']})"),
        ("observed / expected", f"{d['observed']:.6g} / {d['expected']:.6g} ({d['deviation']:+.1%})"),
        ("exposure", f"{d['exposure']:.2%} of the platform"),
        ("fingerprint", f"{d['fingerprint']} ({d['fingerprint_config']})"),
    ]
    if d["fix_date"]:
        fields.append(("fix date", d["fix_date"]))
    if d["impact"]:
        fields.append(("impact", str(d["impact"].get("verdict", d["impact"]))))
    for name, value in fields:
        console.print(f"  [dim]{name:<20}[/]{value}", markup=True)
    if d["root_causes"]:
        console.print("  [dim]root causes[/]")
        for rc in d["root_causes"]:
            console.print(f"    {rc['contribution']:>6.0%}  {_scope_text(rc['scope'])}")
    if d["related_events"]:
        console.print("  [dim]related events[/]")
        for ev in d["related_events"]:
            console.print(f"    {ev['ts'][:10]}  {ev['kind']}: {ev['name']}")
    console.print("  [dim]history[/]")
    for h in d["history"]:
        change = f"{h['from'] or ''} -> {h['to']}" if h["to"] is not None else ""
        note = f"  {h['note']}" if h["note"] else ""
        console.print(f"    {h['ts'][:19]}  {h['actor']:<14} {h['kind']:<15} {change}{note}", markup=False)


def _export_rows(dicts: list[dict]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=EXPORT_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for d in dicts:
        writer.writerow({k: json.dumps(v) if isinstance(v, (dict, list)) else v for k, v in d.items()})
    return buf.getvalue()


def _number(value: float, fmt: str) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, fmt)


def build_app() -> typer.Typer:
    """The `issues` sub-app."""
    issues = typer.Typer(help="List, inspect and work on issues in the store.", no_args_is_help=True)

    @issues.command("list")
    def list_cmd(
        status: Annotated[
            str | None, typer.Option(help="Status, comma-separated statuses, or open/closed/all.")
        ] = None,
        category: Annotated[str | None, typer.Option(help="Issue category, e.g. traffic_balance.")] = None,
        priority: Annotated[str | None, typer.Option(help="P0..P3, or e.g. P0,P1.")] = None,
        owner: Annotated[str | None, typer.Option(help="Owner team.")] = None,
        metric: Annotated[str | None, typer.Option(help="Metric name.")] = None,
        limit: Annotated[int, typer.Option(help="At most this many issues.")] = 50,
        as_json: JsonOption = False,
        db: DbOption = None,
    ) -> None:
        """List issues, most urgent first."""
        from ecoradar.issues import service
        from ecoradar.store.engine import open_store

        store = open_store(db)
        with store.session() as session:
            rows, total = service.list_issues(
                session, status=status, category=category, priority=priority, owner=owner, metric=metric, limit=limit
            )
            dicts = [service.issue_to_dict(i, history=False) for i in rows]
        if as_json:
            print(json.dumps({"data": dicts, "count": total}, indent=2))
        else:
            console.print(_issues_table(dicts, total))

    @issues.command("show")
    def show_cmd(
        issue_id: Annotated[str, typer.Argument(metavar="ID", help="ECO-1A3 or the issue number.")],
        as_json: JsonOption = False,
        db: DbOption = None,
    ) -> None:
        """Show one issue with its root causes and history."""
        from ecoradar.issues import service
        from ecoradar.store.engine import open_store

        store = open_store(db)
        with store.session() as session:
            d = service.issue_to_dict(service.get_issue(session, issue_id))
        if as_json:
            print(json.dumps(d, indent=2))
        else:
            _show(d)

    @issues.command("assign")
    def assign_cmd(
        issue_id: Annotated[str, typer.Argument(metavar="ID")],
        team: Annotated[str, typer.Argument(metavar="TEAM", help="Owner team ('' to unassign).")],
        note: Annotated[str | None, typer.Option(help="Why.")] = None,
        actor: ActorOption = None,
        db: DbOption = None,
    ) -> None:
        """Give an issue to an owner team."""
        from ecoradar.issues import service
        from ecoradar.store.engine import open_store

        store = open_store(db)
        with store.session() as session:
            issue = service.get_issue(session, issue_id)
            service.assign(session, issue, team, actor=_actor(actor), note=note)
            console.print(f"{issue.short_id}: owner {issue.owner or '(unassigned)'}")

    @issues.command("status")
    def status_cmd(
        issue_id: Annotated[str, typer.Argument(metavar="ID")],
        new: Annotated[str, typer.Argument(metavar="NEW", help="Target status, e.g. triaged, resolved.")],
        note: Annotated[str | None, typer.Option(help="Why (kept in the history).")] = None,
        fix_date: Annotated[str | None, typer.Option(help="When the fix shipped (YYYY-MM-DD).")] = None,
        actor: ActorOption = None,
        db: DbOption = None,
    ) -> None:
        """Move an issue through its lifecycle (new -> triaged -> investigating -> mitigating -> resolved)."""
        from ecoradar.issues import service
        from ecoradar.store.engine import open_store

        fix = parse_date(fix_date, "--fix-date")
        store = open_store(db)
        with store.session() as session:
            issue = service.get_issue(session, issue_id)
            before = issue.status
            service.transition(session, issue, new, actor=_actor(actor), note=note, fix_date=fix)
            console.print(f"{issue.short_id}: {before} -> {issue.status}")

    @issues.command("comment")
    def comment_cmd(
        issue_id: Annotated[str, typer.Argument(metavar="ID")],
        text: Annotated[str, typer.Argument(metavar="TEXT")],
        actor: ActorOption = None,
        db: DbOption = None,
    ) -> None:
        """Add a comment to an issue."""
        from ecoradar.issues import service
        from ecoradar.store.engine import open_store

        store = open_store(db)
        with store.session() as session:
            issue = service.get_issue(session, issue_id)
            service.comment(session, issue, text, actor=_actor(actor))
            console.print(f"{issue.short_id}: comment added")

    @issues.command("export")
    def export_cmd(
        fmt: Annotated[str, typer.Option("--format", help="json or csv.")] = "json",
        out: Annotated[Path | None, typer.Option(help="Write here instead of stdout.")] = None,
        status: Annotated[str | None, typer.Option(help="Status filter, as in list.")] = None,
        db: DbOption = None,
    ) -> None:
        """Export every issue (JSON with history, or CSV without)."""
        from ecoradar.issues import service
        from ecoradar.store.engine import open_store

        if fmt not in ("json", "csv"):
            raise InputError(f"unknown export format {fmt!r}; allowed: json, csv")
        store = open_store(db)
        with store.session() as session:
            rows, _ = service.list_issues(session, status=status, limit=None)
            dicts = [service.issue_to_dict(i, history=fmt == "json") for i in rows]
        text = json.dumps(dicts, indent=2) + "\n" if fmt == "json" else _export_rows(dicts)
        if out is None:
            print(text, end="")
        else:
            out.write_text(text)
            console.print(f"wrote {len(dicts)} issues to {out}")

    return issues


def health_command(
    date_from: Annotated[str | None, typer.Option("--from", help="First day (issues first seen on or after).")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="Last day (issues first seen on or before).")] = None,
    by: Annotated[str, typer.Option(help="Group by metric, category or owner.")] = "metric",
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Health of the discovery process: time to detect / triage / resolve, recurrence, false positives."""
    from ecoradar.issues import health as health_mod
    from ecoradar.store.engine import open_store

    start, end = parse_date(date_from, "--from"), parse_date(date_to, "--to")
    if start and end and start > end:
        raise InputError(f"--from {start} is after --to {end}")
    store = open_store(db)
    with store.session() as session:
        table = health_mod.health(session, start=start, end=end, by=by)
    if as_json:
        print(table.to_json(orient="records", indent=2))
        return
    span = f"{start or 'start'} .. {end or 'now'}"
    out = Table(title=f"Process health by {by}, issues first seen {span}", title_justify="left")
    for col, justify in [
        (by, "left"),
        ("issues", "right"),
        ("detect (d)", "right"),
        ("triage (h)", "right"),
        ("resolve (d)", "right"),
        ("recurring", "right"),
        ("false pos.", "right"),
    ]:
        out.add_column(col, justify=justify)
    for r in table.to_dict("records"):
        out.add_row(
            str(r[by]),
            str(r["issues"]),
            _number(r["time_to_detect_days"], ".1f"),
            _number(r["time_to_triage_hours"], ".1f"),
            _number(r["time_to_resolve_days"], ".1f"),
            _number(r["recurring_share"], ".0%"),
            _number(r["false_positive_rate"], ".0%"),
            style="bold" if r[by] == "all" else None,
        )
    if table.empty:
        console.print(f"no issues first seen {span}")
    else:
        console.print(out)


def register(app: typer.Typer) -> None:
    """Add `issues ...` and `health` to the main app."""
    app.add_typer(build_app(), name="issues")
    app.command("health")(health_command)
