"""CLI commands of the web stage: `serve` and `users add|list|remove|rotate`."""

# Heavy imports live inside the commands, to keep `ecoradar --help` fast.
from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from ecoradar.errors import InputError
from ecoradar.web.settings import Settings

DbOpt = Annotated[str | None, typer.Option("--db", help="Store URL (default $ECORADAR_DB, then ./ecoradar.db).")]
_err = Console(stderr=True, highlight=False)


def settings_from(**kwargs) -> Settings:
    """Settings from CLI values, with validation errors as one InputError line."""
    try:
        return Settings(**kwargs)
    except ValidationError as exc:
        first = exc.errors()[0]
        cause = first.get("ctx", {}).get("error")  # our validators' own one-line message, when they raised
        raise InputError(str(cause) if cause else f"{'.'.join(map(str, first['loc']))}: {first['msg']}") from None


def register(app: typer.Typer) -> None:
    """Add this stage's commands to the main app."""
    users = typer.Typer(help="Manage users and their API tokens.", no_args_is_help=True)
    app.add_typer(users, name="users")

    @app.command()
    def serve(
        data: Annotated[Path | None, typer.Option("--data", help="Data folder (tables and cube).")] = None,
        db: DbOpt = None,
        host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
        no_auth: Annotated[bool, typer.Option("--no-auth", help="Demo only: no sign-in, everyone is admin.")] = False,
    ) -> None:
        """Serve the web app and the REST API (OpenAPI at /docs)."""
        from ecoradar.web.main import serve as run

        settings = settings_from(data_dir=data, db_url=db, auth=not no_auth)
        if no_auth:
            _err.print(
                "[bold red]WARNING: --no-auth: anyone who can reach "
                f"http://{host}:{port} can read and change every issue and manage users.[/]"
            )
            if host not in ("127.0.0.1", "localhost", "::1"):
                _err.print(f"[bold red]WARNING: --no-auth on {host} exposes the app beyond this machine.[/]")
        run(settings, host=host, port=port)

    @users.command("add")
    def users_add(
        name: Annotated[str, typer.Argument(help="User name.")],
        role: Annotated[str, typer.Option(help="viewer | analyst | admin")] = "viewer",
        db: DbOpt = None,
    ) -> None:
        """Create a user and print its token once, as the last line (only its hash is stored)."""
        from ecoradar.store import open_store
        from ecoradar.web import auth

        auth.check_role(role)
        store = open_store(db)
        try:
            with store.transaction() as session:
                user, token = auth.add_user(session, name=name, role=role)
                _err.print(f"created {role} {user.name!r}; the token below is shown only once")
        finally:
            store.close()
        print(token)

    @users.command("list")
    def users_list(db: DbOpt = None, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
        """List users (never their tokens)."""
        from ecoradar.store import open_store
        from ecoradar.web import auth

        store = open_store(db)
        try:
            with store.session() as session:
                rows = [(u.id, u.name, u.role, u.created_at.isoformat()) for u in auth.list_users(session)]
        finally:
            store.close()
        if as_json:
            print(json.dumps([dict(zip(("id", "name", "role", "created_at"), r, strict=True)) for r in rows]))
            return
        table = Table("id", "name", "role", "created_at")
        for row in rows:
            table.add_row(*map(str, row))
        Console().print(table)

    @users.command("remove")
    def users_remove(name: str, db: DbOpt = None) -> None:
        """Delete a user; their token stops working."""
        from ecoradar.store import open_store
        from ecoradar.web import auth

        store = open_store(db)
        try:
            with store.transaction() as session:
                auth.delete_user(session, name=name)
        finally:
            store.close()
        print(f"removed {name}")

    @users.command("rotate")
    def users_rotate(name: str, db: DbOpt = None) -> None:
        """Give a user a new token (printed as the last line); the old one stops working."""
        from ecoradar.store import open_store
        from ecoradar.web import auth

        store = open_store(db)
        try:
            with store.transaction() as session:
                token = auth.rotate_token(session, name=name)
        finally:
            store.close()
        print(token)
