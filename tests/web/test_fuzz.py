"""OpenAPI-driven fuzzing (schemathesis): no input the schema allows makes the server answer 5xx."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from webtests import create_issue, server_fixture, store_fixture, tokens_fixture, world_fixture

FIXTURES = (server_fixture, store_fixture, tokens_fixture, world_fixture)  # pytest finds them here by name
EXAMPLES = 20  # per operation: bounded so the run stays around a minute


def fuzz(operation, headers: dict[str, str], failures: list[str]) -> None:
    """Call one operation with up to EXAMPLES generated requests, collecting any 5xx."""

    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def run(case):
        response = case.call(headers=headers, timeout=30)
        if response.status_code >= 500:
            failures.append(f"{case.method} {case.formatted_path} {case.query} {case.body} -> {response.text[:200]}")

    run()


@pytest.mark.timeout(600)
def test_no_server_errors(web_server, web_store, web_tokens):
    for priority in ("P0", "P1", "P2"):
        create_issue(web_store, priority=priority)
    schema = schemathesis.openapi.from_url(f"{web_server.url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    failures: list[str] = []
    for operation in operations:
        # DELETE runs as a viewer (403) so the fuzzing admin cannot delete itself mid-run
        role = "viewer" if operation.method.upper() == "DELETE" else "admin"
        fuzz(operation, {"Authorization": f"Bearer {web_tokens[role]}"}, failures)
    assert failures == []
