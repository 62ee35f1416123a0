"""The FastAPI app: REST API under /api, server-rendered pages, static files; `serve` runs it with uvicorn."""

from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path

import plotly
import plotly.offline
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from ecoradar import __version__
from ecoradar.errors import EcoradarError, NotFound
from ecoradar.metrics.loader import load_catalog
from ecoradar.report.ecosystem import Cube
from ecoradar.sqlconsole import SqlConsole
from ecoradar.store import Store, open_store
from ecoradar.web.deps import LoginRequired
from ecoradar.web.routes import api_router, pages_router
from ecoradar.web.settings import Settings

STATIC = Path(__file__).resolve().parent / "static"


def ensure_plotly_js(folder: Path = STATIC) -> Path:
    """Write the installed plotly's JS bundle to folder/plotly.min.js unless it is already there and current."""
    js = plotly.offline.get_plotlyjs()
    target = folder / "plotly.min.js"
    if not target.exists() or target.stat().st_size != len(js.encode()):
        folder.mkdir(parents=True, exist_ok=True)
        target.write_text(js, encoding="utf-8")
    return target


def _unique_id(route: APIRoute) -> str:
    """OpenAPI operation ids as `tag-name`, so generated clients read well."""
    return f"{route.tags[0]}-{route.name}" if route.tags else route.name


def create_app(settings: Settings, *, store: Store | None = None) -> FastAPI:
    """Build the app over a store (opened from settings.db_url when not given) and an optional data folder."""
    ensure_plotly_js()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        own = store is None
        app.state.store = store or open_store(settings.db_url)
        try:
            yield
        finally:
            app.state.console.close()
            if own:
                app.state.store.close()

    app = FastAPI(
        title="ecoradar",
        summary="Find, explain and track issues in a short-video platform's content ecosystem.",
        version=__version__,
        lifespan=lifespan,
        generate_unique_id_function=_unique_id,
    )
    app.state.settings = settings
    app.state.store = store
    app.state.catalog = load_catalog()
    app.state.cube = Cube(settings.data_dir) if settings.data_dir is not None else None
    app.state.console = SqlConsole(
        settings.data_dir, row_limit=settings.sql_row_limit, timeout_s=settings.sql_timeout_s
    )
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key,
        session_cookie="ecoradar_session",
        same_site="strict",
        https_only=settings.https_only,
        max_age=12 * 3600,
    )
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(api_router, prefix="/api")
    app.include_router(pages_router)

    @app.exception_handler(LoginRequired)
    async def _to_login(request: Request, _exc: LoginRequired):
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)

    @app.exception_handler(EcoradarError)
    async def _ecoradar_error(_request: Request, exc: EcoradarError):
        return JSONResponse({"detail": str(exc)}, status_code=404 if isinstance(exc, NotFound) else 400)

    return app


def serve(settings: Settings, *, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Run the app with uvicorn until interrupted; the store is opened first so a bad URL is one clear error."""
    store = open_store(settings.db_url)
    try:
        uvicorn.run(create_app(settings, store=store), host=host, port=port, log_level="info")
    finally:
        store.close()
