"""Web latency under load: p50/p95 of the inbox page, an issue page and /api/issues with 20 concurrent clients on
loopback and 5,000 issues in the store, beside the same list query called in-process (no HTTP) as the baseline.

    .venv/bin/python bench/bench_web.py [--data DIR] [--issues 5000] [--clients 20] [--requests 300]

The server runs in its own process (uvicorn, one worker) so the load generator does not share its GIL. Without
--data the issue page has no cube to chart; pass a data folder with a computed cube for the full page.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import multiprocessing as mp
import random
import re
import socket
import statistics
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import uvicorn

from ecoradar.issues import service
from ecoradar.store import Issue, IssueActivity, IssueDay, open_store
from ecoradar.web.auth import add_user
from ecoradar.web.main import create_app
from ecoradar.web.settings import Settings

CATEGORIES = ("traffic_balance", "diversity", "creator_experience", "moderation", "user_experience", "content_quality")
METRICS = ("report_rate", "format_share", "watch_ratio", "removal_rate", "uploads", "like_rate")


def seed_store(url: str, n: int, seed: int = 1) -> list[int]:
    """Insert n issues (with 3 anomalous days and a 'created' activity each) in one transaction."""
    rng = random.Random(seed)
    store = open_store(url)
    with store.transaction() as session:
        issues = []
        for i in range(n):
            day = dt.date(2026, 1, 10) + dt.timedelta(days=rng.randrange(45))
            issue = Issue(
                fingerprint=f"bench-{i}",
                fingerprint_config="fingerprint:v1",
                title=f"{rng.choice(METRICS)} moved in slice {i}",
                category=rng.choice(CATEGORIES),
                kind=rng.choice(["spike", "dip", "level_shift", "trend"]),
                direction=rng.choice(["up", "down"]),
                severity=rng.random(),
                priority=rng.choice(["P0", "P1", "P2", "P2", "P3", "P3"]),
                status=rng.choice(["new", "triaged", "investigating", "resolved"]),
                substatus="ongoing",
                owner=rng.choice(["ranking", "trust-safety", None]),
                metric=rng.choice(METRICS),
                scope={"region": rng.choice(["US", "JP", "BR"])},
                root_causes=[{"scope": {"region": "JP"}, "contribution": 0.8}],
                related_events=[],
                mix_rate=[],
                start_date=day,
                first_seen=day,
                last_seen=day + dt.timedelta(days=2),
                times_seen=3,
                observed=0.06,
                expected=0.02,
                deviation=2.0,
                exposure=0.2,
            )
            issue.days = [IssueDay(date=day + dt.timedelta(days=k), observed=0.06, expected=0.02) for k in range(3)]
            issue.activities = [IssueActivity(actor="run", kind="created", to_value=issue.status)]
            issues.append(issue)
        session.add_all(issues)
        session.flush()
        for issue in issues:
            issue.short_id = service.short_id(issue.id)
        ids = [i.id for i in issues]
    store.close()
    return ids


def make_token(url: str) -> str:
    store = open_store(url)
    with store.transaction() as session:
        _, token = add_user(session, name="bench", role="analyst")
    store.close()
    return token


def run_server(url: str, data: str | None, port: int) -> None:
    """Target of the server process."""
    uvicorn.run(create_app(Settings(data_dir=data, db_url=url)), host="127.0.0.1", port=port, log_level="warning")


async def login(client: httpx.AsyncClient, token: str) -> None:
    page = await client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    r = await client.post("/login", data={"token": token, "csrf": csrf})
    if r.status_code != 303:
        raise RuntimeError(f"sign-in failed: {r.status_code}")


async def load(base: str, token: str, paths: list[str], clients: int) -> tuple[list[float], float]:
    """Send every path once across `clients` concurrent clients; return latencies (ms) and wall time (s)."""
    queue: asyncio.Queue[str] = asyncio.Queue()
    for p in paths:
        queue.put_nowait(p)
    latencies: list[float] = []

    async def worker() -> None:
        async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60) as c:
            await login(c, token)
            while not queue.empty():
                path = queue.get_nowait()
                t0 = time.perf_counter()
                r = await c.get(path)
                latencies.append((time.perf_counter() - t0) * 1000)
                if r.status_code != 200:
                    raise RuntimeError(f"{path} answered {r.status_code}")

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    return latencies, time.perf_counter() - start


def baseline(url: str, requests: int) -> list[float]:
    """The inbox's query and serialization in-process: no HTTP, no template."""
    store = open_store(url)
    out = []
    with store.session() as session:
        for _ in range(requests):
            t0 = time.perf_counter()
            issues, _ = service.list_issues(session, status="open", limit=50)
            [service.issue_to_dict(i, history=False) for i in issues]
            out.append((time.perf_counter() - t0) * 1000)
    store.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None, help="data folder with a cube (optional)")
    parser.add_argument("--issues", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=300, help="requests per endpoint")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-web-"))
    url = f"sqlite:///{tmp / 'bench.db'}"
    t0 = time.perf_counter()
    ids = seed_store(url, args.issues)
    token = make_token(url)
    print(f"seeded {len(ids):,} issues in {time.perf_counter() - t0:.1f} s; store {url}")

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    proc = mp.get_context("spawn").Process(target=run_server, args=(url, str(args.data) if args.data else None, port))
    proc.start()
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                httpx.get(f"{base}/login", timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or not proc.is_alive():
                    raise SystemExit("server did not start") from None
                time.sleep(0.2)
        rng = random.Random(2)
        endpoints = {
            "GET /issues (inbox page)": ["/issues?status=open"] * args.requests,
            "GET /issues/{id} (issue page)": [f"/issues/{rng.choice(ids)}" for _ in range(args.requests)],
            "GET /api/issues": ["/api/issues?status=open&limit=50"] * args.requests,
        }
        rows = []
        for name, paths in endpoints.items():
            asyncio.run(load(base, token, paths[: args.clients], args.clients))  # warm-up
            lat, wall = asyncio.run(load(base, token, paths, args.clients))
            rows.append((name, len(lat), *np.percentile(lat, [50, 95]), statistics.fmean(lat), len(lat) / wall))
        base_lat = baseline(url, args.requests)
        rows.append(
            (
                "baseline: list_issues in-process",
                len(base_lat),
                *np.percentile(base_lat, [50, 95]),
                statistics.fmean(base_lat),
                len(base_lat) / (sum(base_lat) / 1000),
            )
        )
    finally:
        proc.terminate()
        proc.join(10)
    print(f"\n{args.clients} concurrent clients, {args.issues:,} issues, data: {args.data or 'none (no charts)'}")
    print(f"{'endpoint':<36} {'requests':>8} {'p50 ms':>8} {'p95 ms':>8} {'mean ms':>8} {'req/s':>8}")
    for name, n, p50, p95, mean, rps in rows:
        print(f"{name:<36} {n:>8} {p50:>8.1f} {p95:>8.1f} {mean:>8.1f} {rps:>8.1f}")


if __name__ == "__main__":
    main()
