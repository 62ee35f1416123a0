"""One router per resource; `api_router` goes under /api, `pages_router` serves the HTML."""

from fastapi import APIRouter

from ecoradar.web.routes import health, issues, metrics, pages, sql, users

api_router = APIRouter()
api_router.include_router(metrics.router)
api_router.include_router(issues.router)
api_router.include_router(issues.anomalies_router)
api_router.include_router(health.router)
api_router.include_router(sql.router)
api_router.include_router(users.router)

pages_router = pages.router

__all__ = ["api_router", "pages_router"]
