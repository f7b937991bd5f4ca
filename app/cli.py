"""The `issuegraph` command line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
import uvicorn
from sqlalchemy.ext.asyncio import AsyncSession

from app.cli_support import (
    fail_on_domain_error,
    migrate_database,
    require_database,
    resolved_settings,
    with_session,
)
from app.settings import Settings, get_settings, to_async_database_url

if TYPE_CHECKING:
    from fastapi import FastAPI


cli = typer.Typer(help="issuegraph: async GraphQL service layer for an issue tracker.")


@cli.command()
def migrate(
    to: Annotated[
        str,
        typer.Option(
            "--to",
            metavar="REVISION",
            help="A revision id, 'base' (nothing applied) or 'head' (the latest): upgrades or "
            "downgrades to it. A downgrade drops what the undone migrations added, with its data.",
        ),
    ] = "head",
) -> None:
    """Upgrade (or, with --to, downgrade) the database schema; the latest migration by default."""
    from db.migrate import MigrationError, UnknownRevision

    try:
        migration = migrate_database(resolved_settings(), to)
    except MigrationError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2 if isinstance(error, UnknownRevision) else 1) from None
    typer.echo(str(migration))


@cli.command("create-user")
def create_user(
    email: Annotated[str, typer.Option(help="The user's email address.")],
    name: Annotated[str, typer.Option(help="The user's display name.")],
) -> None:
    """Create a user and print their global ID."""
    from schema.ids import to_global_id
    from services import auth

    settings = resolved_settings()
    user = fail_on_domain_error(
        lambda: with_session(settings, lambda s: auth.create_user(s, email=email, name=name))
    )
    typer.echo(to_global_id("User", user.id))


@cli.command("create-token")
def create_token(
    email: Annotated[str, typer.Option(help="Whose token.")],
    label: Annotated[str | None, typer.Option(help="A note on what the token is for.")] = None,
    expires_in: Annotated[
        int | None, typer.Option("--expires-in", help="Days until the token expires.")
    ] = None,
) -> None:
    """Create an API token for a user and print it, alone on the last line."""
    from services import auth

    settings = resolved_settings()
    token = fail_on_domain_error(
        lambda: with_session(
            settings,
            lambda s: auth.create_token(s, email=email, label=label, expires_in_days=expires_in),
        )
    )
    typer.echo("Store this token now; only its hash is kept:", err=True)
    typer.echo(token)


@cli.command("revoke-token")
def revoke_token(token: str) -> None:
    """Revoke a token; it stops working on the next request."""
    from services import auth

    revoked = with_session(resolved_settings(), lambda s: auth.revoke_token(s, token))
    if not revoked:
        typer.echo("error: no such active token", err=True)
        raise typer.Exit(1)
    typer.echo("token revoked")


@cli.command()
def seed(
    email: Annotated[str, typer.Option(help="Email of the demo user.")] = "demo@example.com",
    bench: Annotated[
        bool,
        typer.Option(
            "--bench",
            help="Benchmark data instead: 50 users, 5 projects, 10,000 issues, 20 labels, "
            "50,000 comments (deterministic).",
        ),
    ] = False,
    issues: Annotated[int, typer.Option(help="Issues for --bench.")] = 10_000,
) -> None:
    """Create demo (or --bench) data and print a token on the last line."""
    settings = resolved_settings()
    migrate_database(settings)
    if not bench:
        typer.echo(_demo_token(settings, email))
        return
    from seeding.bench import BenchShape, seed_bench
    from services import auth

    async def work(session: AsyncSession) -> str:
        seeded = await seed_bench(session, BenchShape(issues=issues))
        projects = ", ".join(seeded.project_keys)
        typer.echo(f"Seeded workspace '{seeded.workspace_slug}', projects {projects}.", err=True)
        return await auth.create_token(session, email=seeded.owner_email, label="bench")

    typer.echo(fail_on_domain_error(lambda: with_session(settings, work)))


def _demo_token(settings: Settings, email: str) -> str:
    from services import auth
    from services.seed import seed_demo

    async def work(session: AsyncSession) -> str:
        await seed_demo(session, email)
        return await auth.create_token(session, email=email, label="demo")

    return with_session(settings, work)


@cli.command("export-schema")
def export_schema() -> None:
    """Print the served schema as SDL."""
    from app.graphql.schema import schema

    typer.echo(schema.as_str())


documents = typer.Typer(help="Trusted documents: the GraphQL operations this server may run.")
cli.add_typer(documents, name="documents")


@documents.command("register")
def documents_register(
    path: Annotated[
        Path,
        typer.Argument(
            help="A folder of .graphql files (searched recursively).",
            exists=True,
            file_okay=False,
            dir_okay=True,
        ),
    ],
) -> None:
    """Register every operation in PATH's .graphql files as a trusted document.

    Each operation is stored with the fragments it uses, printed canonically, under its
    SHA-256 (printed here, one `HASH  NAME  FILE` line each). Clients send that hash in
    `extensions.persistedQuery.sha256Hash`, or the same document in full.
    """
    from app.graphql.persisted import DocumentError, operations_in, register_documents
    from app.graphql.schema import schema
    from schema.framework_compat import graphql_core_schema

    settings = resolved_settings()
    try:
        operations = operations_in(path, graphql_core_schema(schema))
    except DocumentError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None
    new = with_session(settings, lambda s: register_documents(s, operations))
    for operation in operations:
        typer.echo(f"{operation.sha256}  {operation.name or '-'}  {operation.source}")
    typer.echo(
        f"{len(operations)} operations registered ({new} new, "
        f"{len(operations) - new} already registered).",
        err=True,
    )


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    workers: Annotated[int, typer.Option(help="API processes.")] = 1,
) -> None:
    """Run the API server (uvicorn)."""
    from app.graphql.http_protocol import HttpProtocol

    settings = resolved_settings()
    require_database(settings)
    _export_urls(settings)
    _metrics_dir()
    # uvicorn re-raises SIGTERM after its graceful shutdown; exit 0 instead of dying by it.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    uvicorn.run(
        "app.asgi:app",
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        log_config=None,
        access_log=False,
        proxy_headers=True,
        loop="uvloop",
        http=HttpProtocol,  # httptools, with JSON refusals of what is not HTTP
        timeout_graceful_shutdown=settings.api_shutdown_grace_seconds,
    )


@cli.command()
def worker(
    check: Annotated[
        bool, typer.Option("--check", help="Only run arq's health check of a running worker.")
    ] = False,
) -> None:
    """Run an arq worker for the background jobs (import, export, triage)."""
    from arq.worker import check_health, run_worker

    from app.worker import worker_settings

    settings = resolved_settings()
    require_database(settings)
    if not settings.redis_url:
        typer.echo("No Redis: set ISSUEGRAPH_REDIS_URL, or start `issuegraph dev` first.", err=True)
        raise typer.Exit(2)
    _export_urls(settings)
    if check:
        raise typer.Exit(check_health(worker_settings(settings)))
    run_worker(worker_settings(settings))


def _metrics_dir() -> None:
    """Multi-process metrics: every server process writes its samples into one folder."""
    if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="issuegraph-metrics-")


def _export_urls(settings: Settings) -> None:
    """Pass resolved URLs to child processes (uvicorn workers re-read the environment)."""
    if settings.database_url:
        os.environ["ISSUEGRAPH_DATABASE_URL"] = settings.database_url
    if settings.redis_url:
        os.environ["ISSUEGRAPH_REDIS_URL"] = settings.redis_url
    get_settings.cache_clear()


@cli.command()
def dev(
    host: Annotated[str | None, typer.Option(help="Interface to bind.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
) -> None:
    """Run everything: embedded PostgreSQL and Redis (when no URLs are set), migrations,
    demo data, a job worker, and the API with GraphiQL."""
    from app.graphql.http_protocol import HttpProtocol

    settings = get_settings()
    # uvicorn re-raises SIGTERM after its graceful shutdown; make that an exception so the
    # `finally` below still stops the embedded servers instead of the process dying at once.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    embedded = None
    if not settings.database_url or not settings.redis_url:
        from app.devtools.embedded import EmbeddedServerError, start_embedded

        data_dir = Path(settings.data_dir)
        typer.echo(f"Starting embedded PostgreSQL and Redis under {data_dir.resolve()} ...")
        try:
            embedded = start_embedded(data_dir)
        except EmbeddedServerError as error:
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(1) from None
        settings = settings.model_copy(
            update={
                "database_url": settings.database_url
                or to_async_database_url(embedded.urls.database_url),
                "redis_url": settings.redis_url or embedded.urls.redis_url,
            }
        )
    try:
        if embedded is not None:
            from app.devtools.embedded import record_urls

            record_urls(Path(settings.data_dir), embedded.urls)
        _export_urls(settings)
        migrate_database(settings)
        typer.echo("Database migrated. Seeding the demo workspace ...", err=True)
        token = _demo_token(settings, settings.dev_demo_email)
        host = host or settings.host
        port = port or settings.port
        _metrics_dir()  # before the worker starts, so API and worker share one metrics folder
        # The worker runs as its own process, as in production; it dies with `dev`.
        worker_process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "worker"], env=os.environ.copy()
        )
        typer.echo(
            f"\n  GraphiQL:  http://{host}:{port}/graphql\n"
            f"  Token:     {token}\n"
            f"  {_graphiql_hint(host)}\n",
            err=True,
        )
        app = _dev_app(settings.model_copy(update={"host": host, "port": port}), token)
        try:
            uvicorn.run(
                app,
                host=host,
                port=port,
                log_config=None,
                access_log=False,
                http=HttpProtocol,
                timeout_graceful_shutdown=settings.api_shutdown_grace_seconds,
            )
        finally:
            worker_process.terminate()
            try:
                worker_process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                worker_process.kill()
    finally:
        if embedded is not None:
            from app.devtools.embedded import clear_recorded_urls

            clear_recorded_urls(Path(settings.data_dir))
            embedded.stop()


def _graphiql_hint(host: str) -> str:
    from app.devtools.graphiql import is_loopback

    if is_loopback(host):
        return "GraphiQL opens with this token and the README's demo query: press Run (Ctrl-Enter)."
    return (
        f"GraphiQL opens without the token: {host} is reachable beyond this machine "
        '(docs/security.md). Add the header {"Authorization": "Bearer <token>"} yourself.'
    )


def _dev_app(settings: Settings, token: str) -> FastAPI:
    """The API of `dev`: its GraphiQL opens with the demo token and the README's demo query
    (the app drops them when ``settings.host`` is not loopback)."""
    from app.devtools.graphiql import Prefill
    from app.main import create_app

    return create_app(settings, graphiql_prefill=Prefill(token))


def main() -> None:
    cli(prog_name="issuegraph")
    sys.exit(0)


if __name__ == "__main__":
    main()
