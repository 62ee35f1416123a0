"""`ecoradar users add` and `ecoradar serve` as real processes."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time

import httpx
import pytest
from webtests import free_port

from cli_runner import run_cli
from ecoradar.errors import InputError
from ecoradar.store import User, open_store
from ecoradar.web.cli import settings_from


@pytest.mark.slow
def test_users_add_prints_the_token_last_and_stores_only_its_hash(tmp_path):
    url = f"sqlite:///{tmp_path / 'eco.db'}"
    result = run_cli("users", "add", "alice", "--role", "analyst", "--db", url)
    assert result.exit_code == 0, result.stderr
    token = result.stdout.strip().splitlines()[-1]
    assert token.startswith("eco_") and len(token) > 40
    store = open_store(url)
    with store.session() as session:
        user = session.query(User).one()
    store.close()
    assert (user.name, user.role) == ("alice", "analyst")
    assert user.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token.encode() not in (tmp_path / "eco.db").read_bytes()
    again = run_cli("users", "add", "bob", "--role", "root", "--db", url)
    assert again.exit_code == 2
    assert again.stderr.strip() == "error: unknown role 'root'; allowed: admin, analyst, viewer"


@pytest.mark.slow
def test_serve_no_auth_warns_and_serves(tmp_path):
    port = free_port()
    env = {**os.environ, "COLUMNS": "200"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ecoradar",
            "serve",
            "--no-auth",
            "--port",
            str(port),
            "--db",
            f"sqlite:///{tmp_path / 'eco.db'}",
        ],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/api/users/me", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, "server did not start"
                time.sleep(0.3)
        assert r.json() == {"name": "anonymous", "role": "admin"}
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert "WARNING: --no-auth" in err


@pytest.mark.slow
def test_serve_with_a_bad_store_or_data_folder_is_one_clear_error(tmp_path):
    with pytest.raises(InputError) as err:  # what `serve --data` turns into its one-line error
        settings_from(data_dir=tmp_path / "nope")
    assert str(err.value) == f"data folder '{tmp_path / 'nope'}' does not exist"
    unreachable = run_cli("serve", "--db", "postgresql+psycopg://nobody@127.0.0.1:1/x")
    assert unreachable.exit_code == 2
    assert unreachable.stderr.startswith("error: cannot open the store at postgresql+psycopg://nobody@127.0.0.1:1/x")
