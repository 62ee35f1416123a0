"""The read-only SQL console: one SELECT/WITH query in, columns and rows out."""

from fastapi import APIRouter, HTTPException
from starlette.concurrency import run_in_threadpool

from ecoradar.errors import InputError
from ecoradar.sqlconsole import SqlRefused, SqlTimeout
from ecoradar.web.deps import ConsoleDep, Viewer
from ecoradar.web.models import SqlAnswer, SqlQuery, SqlTable

router = APIRouter(prefix="/sql", tags=["sql"])


@router.post("", response_model=SqlAnswer)
async def run_sql(body: SqlQuery, console: ConsoleDep, _user: Viewer) -> SqlAnswer:
    """Run one read-only query over the data folder's tables and the cube (row and time limited)."""
    try:
        result = await run_in_threadpool(console.query, body.sql, limit=body.limit)
    except SqlTimeout as exc:
        raise HTTPException(408, detail=str(exc)) from None
    except SqlRefused as exc:
        raise HTTPException(400, detail=str(exc)) from None
    except InputError as exc:
        raise HTTPException(400, detail=str(exc)) from None
    return SqlAnswer(columns=result.columns, rows=result.rows, truncated=result.truncated, elapsed_ms=result.elapsed_ms)


@router.get("/tables", response_model=list[SqlTable])
def sql_tables(console: ConsoleDep, _user: Viewer) -> list[SqlTable]:
    """Tables the console can query, with their columns."""
    return [SqlTable(name=name, columns=cols) for name, cols in console.schema().items()]
