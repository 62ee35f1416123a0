"""The read-only SQL console: what it refuses, its limits, and the same console over HTTP."""

from __future__ import annotations

import pytest
from webtests import client_for, server_fixture, store_fixture, tokens_fixture, world_fixture

from ecoradar.errors import InputError
from ecoradar.sqlconsole import SqlConsole, SqlRefused, SqlTimeout, check_sql

FIXTURES = (server_fixture, store_fixture, tokens_fixture, world_fixture)  # pytest finds them here by name


@pytest.fixture(scope="module")
def console(web_world):
    con = SqlConsole(web_world, row_limit=100, timeout_s=1.0)
    yield con
    con.close()


REFUSED_BY_PARSER = [
    "COPY impressions TO '/tmp/out.csv'",
    "COPY (SELECT 1) TO '/tmp/x.parquet' (FORMAT parquet)",
    "ATTACH '/tmp/other.db' AS other",
    "DETACH other",
    "INSTALL httpfs",
    "LOAD httpfs",
    "PRAGMA database_list",
    "SET enable_external_access = true",
    "RESET lock_configuration",
    "SELECT 1; SELECT 2",
    "SELECT 1; DROP VIEW cube",
    "CREATE TABLE t AS SELECT 1",
    "CREATE OR REPLACE VIEW cube AS SELECT 1",
    "INSERT INTO cube VALUES (1)",
    "DELETE FROM cube",
    "UPDATE cube SET value = 0",
    "DROP VIEW cube",
    "EXPORT DATABASE '/tmp/dump'",
    "CALL pragma_version()",
    "CHECKPOINT",
    "USE memory",
    "SELECT 1 INTO t",
    "SUMMARIZE cube",
    "DESCRIBE cube",
    "",
    "   ;  ",
]


@pytest.mark.parametrize("sql", REFUSED_BY_PARSER)
def test_refuses_anything_but_one_query(console, sql):
    with pytest.raises(SqlRefused):
        console.query(sql)


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM read_csv_auto('/etc/passwd')",
        "SELECT * FROM read_text('/etc/hostname')",
        "SELECT * FROM read_blob('/etc/passwd')",
        "SELECT * FROM read_json('/etc/os-release')",
        "SELECT * FROM read_parquet('/tmp/**/*.parquet')",
        "SELECT * FROM 'https://example.com/data.parquet'",
        "SELECT * FROM read_csv('http://127.0.0.1:9/x.csv')",
        "WITH x AS (SELECT * FROM read_text('/etc/passwd')) SELECT * FROM x",
        "SELECT * FROM glob('/etc/*')",
        "SELECT * FROM duckdb_extensions() WHERE loaded AND extension_name = 'httpfs'",
    ],
)
def test_cannot_reach_files_outside_the_data_folder_or_the_network(console, sql):
    try:
        result = console.query(sql)
    except InputError as exc:
        assert not isinstance(exc, SqlRefused)  # parsed fine; DuckDB itself refused it
        return
    assert result.rows == []  # only listing queries may run, and they find nothing


def test_escaping_the_data_folder_by_path_fails(console, web_world):
    outside = web_world.parent / "secret.csv"
    outside.write_text("a\n1\n")
    with pytest.raises(InputError, match="Permission Error"):
        console.query(f"SELECT * FROM read_csv('{outside}')")
    with pytest.raises(InputError, match="Permission Error"):
        console.query(f"SELECT * FROM read_csv('{web_world}/../secret.csv')")


def test_reads_the_data_folder_and_the_cube(console, web_world):
    glob = web_world / "impressions" / "**" / "*.parquet"
    direct = console.query(f"SELECT count(*) AS n FROM read_parquet('{glob}')")
    via_view = console.query("SELECT count(*) AS n FROM impressions")
    assert direct.rows == via_view.rows == [[56 * 1500]]
    cube = console.query(
        "WITH jp AS (SELECT date, value FROM cube WHERE metric = 'report_rate' AND region = 'JP' AND format IS NULL) "
        "SELECT count(*) FROM jp"
    )
    assert cube.columns == ["count_star()"] and cube.rows == [[56]]
    assert set(console.tables) >= {"impressions", "cube"}


def test_row_limit_and_time_limit(console):
    result = console.query("SELECT * FROM range(1000)")
    assert len(result.rows) == 100 and result.truncated
    assert not console.query("SELECT * FROM range(5)").truncated
    assert len(console.query("SELECT * FROM range(1000)", limit=7).rows) == 7
    with pytest.raises(SqlTimeout, match="1 s time limit"):
        console.query("SELECT count(*) FROM range(100000000000) a, range(1000) b WHERE a.range * b.range = -1")
    assert console.query("SELECT 41 + 1").rows == [[42]]  # still usable after an interrupt
    assert console.query("SELECT current_setting('memory_limit')").rows[0][0].startswith("1.8 GiB")


def test_values_become_json(console):
    row = console.query(
        "SELECT 'nan'::DOUBLE AS a, DATE '2026-02-12' AS b, 1.5::DECIMAL(3,1) AS c, INTERVAL 1 DAY AS d, "
        "[1, 2] AS e, {'k': 1} AS f, NULL AS g"
    ).rows[0]
    assert row == [None, "2026-02-12", 1.5, 86400.0, [1, 2], {"k": 1}, None]


def test_check_sql_keeps_one_statement():
    assert check_sql("  SELECT 1 ;  ") == "SELECT 1"
    with pytest.raises(SqlRefused, match="only one statement is accepted, got 2"):
        check_sql("SELECT 1; SELECT 2")
    with pytest.raises(SqlRefused, match="only SELECT/WITH queries are accepted, not COPY"):
        check_sql("COPY cube TO 'x.csv'")


def test_sql_over_http(web_server, web_tokens):
    with client_for(web_server, web_tokens["viewer"]) as c:
        ok = c.post("/api/sql", json={"sql": "SELECT metric, count(*) AS n FROM cube GROUP BY 1 ORDER BY 1"})
        assert ok.status_code == 200
        body = ok.json()
        assert body["columns"] == ["metric", "n"]
        assert ["report_rate", 56 * 8] in body["rows"]
        refused = c.post("/api/sql", json={"sql": "ATTACH '/tmp/x.db'"})
        assert refused.status_code == 400
        assert refused.json() == {"detail": "only SELECT/WITH queries are accepted, not ATTACH"}
        denied = c.post("/api/sql", json={"sql": "SELECT * FROM read_csv('/etc/passwd')"})
        assert denied.status_code == 400 and "Permission Error" in denied.json()["detail"]
        slow = c.post("/api/sql", json={"sql": "SELECT count(*) FROM range(100000000000) a, range(1000) b"})
        assert slow.status_code == 408
        assert slow.json() == {"detail": "query stopped after the 2 s time limit"}
        limited = c.post("/api/sql", json={"sql": "SELECT * FROM range(100000)"}).json()
        assert len(limited["rows"]) == 500 and limited["truncated"]
        tables = {t["name"] for t in c.get("/api/sql/tables").json()}
        assert {"impressions", "cube"} <= tables
    with client_for(web_server) as c:
        assert c.post("/api/sql", json={"sql": "SELECT 1"}).status_code == 401
