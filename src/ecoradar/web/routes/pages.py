"""Server-rendered pages: sign-in, Overview, Inbox, Issue, Metric explorer, SQL console, Users."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from ecoradar.errors import EcoradarError, InputError
from ecoradar.issues import service
from ecoradar.issues.lifecycle import IssueStatus, allowed_targets
from ecoradar.report import charts
from ecoradar.report.ecosystem import format_scope, parse_scope
from ecoradar.web import auth, views
from ecoradar.web.deps import CatalogDep, ConsoleDep, PageUser, SessionDep, check_csrf, csrf_token
from ecoradar.web.models import ImpactRequest
from ecoradar.web.routes.issues import apply_change, estimate, load_issue

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).resolve().parents[1] / "templates")
templates.env.globals.update(sparkline=charts.sparkline_svg, format_scope=format_scope, PRIORITIES=service.PRIORITIES)
templates.env.filters.update(pct=charts.fmt_pct, num=charts.fmt_num, share=charts.fmt_share)


def render(request: Request, name: str, user, status_code: int = 200, **context) -> HTMLResponse:
    """Render a page with the user, the CSRF token and whether auth is on."""
    context.update(user=user, csrf=csrf_token(request), auth=request.app.state.settings.auth)
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def _forbid_unless(user, role: str) -> None:
    if not auth.has_role(user.role, role):
        raise HTTPException(403, detail=f"Requires role {role}")


def _safe_next(target: str | None) -> str:
    """Only same-site paths as a redirect target after sign-in."""
    return target if target and target.startswith("/") and not target.startswith("//") else "/"


# ------------------------------------------------------------------------------------------------ sign in
@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/") -> HTMLResponse:
    return render(request, "login.html", None, next=_safe_next(next), error=None)


@router.post("/login")
def login(
    request: Request,
    session: SessionDep,
    token: Annotated[str, Form()],
    csrf: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
):
    check_csrf(request, csrf)
    user = auth.user_for_token(session, token.strip())
    if user is None:
        return render(request, "login.html", None, status_code=401, next=_safe_next(next), error="Invalid token")
    request.session.clear()
    request.session.update(uid=user.id)
    csrf_token(request)  # a fresh CSRF token for the new session
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout")
def logout(request: Request, csrf: Annotated[str, Form()]):
    check_csrf(request, csrf)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


# ------------------------------------------------------------------------------------------------ pages
@router.get("/", response_class=HTMLResponse)
def overview(request: Request, session: SessionDep, catalog: CatalogDep, user: PageUser) -> HTMLResponse:
    data = views.overview(session, request.app.state.cube, catalog)
    return render(request, "overview.html", user, **data)


@router.get("/issues", response_class=HTMLResponse)
def inbox(
    request: Request,
    session: SessionDep,
    catalog: CatalogDep,
    user: PageUser,
    status: str = "open",
    category: str = "",
    priority: str = "",
    owner: str = "",
    metric: str = "",
    page: int = 1,
) -> HTMLResponse:
    filters = dict(status=status, category=category, priority=priority, owner=owner, metric=metric)
    size = 50
    error = None
    try:
        issues, total = service.list_issues(
            session, **{k: v or None for k, v in filters.items()}, limit=size, offset=(max(page, 1) - 1) * size
        )
    except InputError as exc:
        issues, total, error = [], 0, str(exc)
    rows = [service.issue_to_dict(i, history=False) for i in issues]
    return render(
        request,
        "inbox.html",
        user,
        issues=rows,
        total=total,
        filters=filters,
        page=max(page, 1),
        size=size,
        error=error,
        statuses=["open", "closed", "all", *[s.value for s in IssueStatus]],
        categories=sorted({m.category for m in catalog.values()}),
        metrics=list(catalog),
    )


@router.get("/issues/{issue_id}", response_class=HTMLResponse)
def issue_page(request: Request, issue_id: str, session: SessionDep, user: PageUser, error: str = "") -> HTMLResponse:
    issue = load_issue(session, issue_id)
    data = service.issue_to_dict(issue)
    figures = views.issue_charts(data, request.app.state.cube)
    return render(
        request,
        "issue.html",
        user,
        issue=data,
        figures=figures,
        error=error or None,
        transitions=allowed_targets(IssueStatus(issue.status)),
        can_edit=auth.has_role(user.role, "analyst"),
    )


def _back_to(issue_id: str, error: str | None = None) -> RedirectResponse:
    url = f"/issues/{issue_id}" + (f"?error={error}" if error else "")
    return RedirectResponse(url, status_code=303)


@router.post("/issues/{issue_id}/status")
def issue_status(
    request: Request,
    issue_id: str,
    session: SessionDep,
    user: PageUser,
    csrf: Annotated[str, Form()],
    status: Annotated[str, Form()],
    note: Annotated[str, Form()] = "",
    fix_date: Annotated[str, Form()] = "",
    version: Annotated[int | None, Form()] = None,
):
    check_csrf(request, csrf)
    _forbid_unless(user, "analyst")
    issue = load_issue(session, issue_id)
    try:
        fix = dt.date.fromisoformat(fix_date) if fix_date.strip() else None
        service.transition(
            session,
            issue,
            status,
            actor=f"web:{user.name}",
            note=note.strip() or None,
            fix_date=fix,
            expected_version=version,
        )
    except (EcoradarError, ValueError) as exc:
        session.rollback()
        return _back_to(issue_id, str(exc))
    return _back_to(issue_id)


@router.post("/issues/{issue_id}/assign")
def issue_assign(
    request: Request,
    issue_id: str,
    session: SessionDep,
    user: PageUser,
    csrf: Annotated[str, Form()],
    owner: Annotated[str, Form()] = "",
):
    check_csrf(request, csrf)
    _forbid_unless(user, "analyst")
    issue = load_issue(session, issue_id)
    apply_change(session, lambda: service.assign(session, issue, owner, actor=f"web:{user.name}"))
    return _back_to(issue_id)


@router.post("/issues/{issue_id}/comment")
def issue_comment(
    request: Request,
    issue_id: str,
    session: SessionDep,
    user: PageUser,
    csrf: Annotated[str, Form()],
    text: Annotated[str, Form()] = "",
):
    check_csrf(request, csrf)
    _forbid_unless(user, "analyst")
    issue = load_issue(session, issue_id)
    try:
        service.comment(session, issue, text, actor=f"web:{user.name}")
    except InputError as exc:
        session.rollback()
        return _back_to(issue_id, str(exc))
    return _back_to(issue_id)


@router.post("/issues/{issue_id}/impact")
def issue_estimate_impact(
    request: Request,
    issue_id: str,
    session: SessionDep,
    user: PageUser,
    csrf: Annotated[str, Form()],
    estimator: Annotated[str, Form()] = "bsts_adaptive",
):
    check_csrf(request, csrf)
    _forbid_unless(user, "analyst")
    issue = load_issue(session, issue_id)
    try:
        body = ImpactRequest(estimator=estimator)
        estimate(issue, body, store_url=request.app.state.store.url, data_dir=request.app.state.settings.data_dir)
    except (EcoradarError, ValueError) as exc:
        return _back_to(issue_id, str(exc).splitlines()[0])
    return _back_to(issue_id)


@router.get("/explorer", response_class=HTMLResponse)
def explorer(
    request: Request,
    catalog: CatalogDep,
    user: PageUser,
    metric: str = "",
    slice: str = "",
    by: str = "region",
    date_from: str = "",
    date_to: str = "",
) -> HTMLResponse:
    cube = request.app.state.cube
    metric = metric or next(iter(catalog), "")
    figures, error, table = {}, None, []
    dims = list(cube.dims) if cube is not None else []
    try:
        if cube is None or not cube.available:
            raise InputError("no cube: start the server with --data DIR holding a computed cube")
        scope = parse_scope(slice)
        span = cube.date_range()
        hi = dt.date.fromisoformat(date_to) if date_to else span[1]
        lo = dt.date.fromisoformat(date_from) if date_from else hi - dt.timedelta(days=89)
        series = cube.series([metric], scope, lo, hi)
        figures["series"] = views.fig_json(charts.series_figure(series, title=f"{metric} in {format_scope(scope)}"))
        if by and by not in scope:
            recent = max(lo, hi - dt.timedelta(days=6))
            breakdown = cube.breakdown(metric, scope, by, recent, hi)
            table = breakdown.to_dict("records")
            figures["breakdown"] = views.fig_json(
                charts.breakdown_figure(breakdown, by=by, title=f"{metric} by {by}, {recent} to {hi}")
            )
    except (EcoradarError, ValueError) as exc:
        error = str(exc)
    return render(
        request,
        "explorer.html",
        user,
        metrics=list(catalog),
        metric=metric,
        slice=slice,
        by=by,
        dims=dims,
        date_from=date_from,
        date_to=date_to,
        figures=figures,
        error=error,
        table=table,
    )


@router.get("/sql", response_class=HTMLResponse)
def sql_page(request: Request, console: ConsoleDep, user: PageUser) -> HTMLResponse:
    return render(request, "sql.html", user, sql="", result=None, error=None, schema=console.schema())


@router.post("/sql", response_class=HTMLResponse)
def sql_run(
    request: Request, console: ConsoleDep, user: PageUser, csrf: Annotated[str, Form()], sql: Annotated[str, Form()]
) -> HTMLResponse:
    check_csrf(request, csrf)
    result, error = None, None
    try:
        result = console.query(sql)
    except InputError as exc:
        error = str(exc)
    return render(
        request,
        "sql.html",
        user,
        status_code=400 if error else 200,
        sql=sql,
        result=result,
        error=error,
        schema=console.schema(),
    )


@router.get("/users", response_class=HTMLResponse)
def users_page(request: Request, session: SessionDep, user: PageUser) -> HTMLResponse:
    _forbid_unless(user, "admin")
    return render(request, "users.html", user, users=auth.list_users(session), created=None, error=None)


@router.post("/users", response_class=HTMLResponse)
def users_create(
    request: Request,
    session: SessionDep,
    user: PageUser,
    csrf: Annotated[str, Form()],
    name: Annotated[str, Form()],
    role: Annotated[str, Form()],
) -> HTMLResponse:
    check_csrf(request, csrf)
    _forbid_unless(user, "admin")
    created, error = None, None
    try:
        new, token = auth.add_user(session, name=name, role=role)
        session.commit()
        created = {"name": new.name, "role": new.role, "token": token}
    except EcoradarError as exc:
        error = str(exc)
    return render(request, "users.html", user, users=auth.list_users(session), created=created, error=error)
