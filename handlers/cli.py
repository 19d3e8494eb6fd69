"""The `salesbridge` console script: serve, db upgrade and adopt, catalog import/export,
receipts and approvals export, chat."""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import NoReturn, TextIO

import click
from aiohttp import web

from bot.catalog_file import CatalogError, dump_catalog
from handlers.app import Services, build_services, create_app, run_worker
from handlers.config import Settings, SettingsError, load_settings
from handlers.logs import setup_logging


@click.group()
@click.pass_context
def main(ctx: click.Context) -> None:
    """Salesbridge: product truth for sales, in Slack and Teams."""
    if ctx.invoked_subcommand != "serve":
        gc.enable()  # off during start-up when run as `salesbridge` (handlers/launch.py)
    try:
        settings = load_settings()
    except SettingsError as exc:
        _refuse(exc.problems)
    # Only the commands that connect to Slack and Teams need their settings to fit together.
    problems = settings.problems() if ctx.invoked_subcommand in ("serve", "worker") else []
    if problems:
        _refuse(problems)
    setup_logging(settings.log_level)
    ctx.obj = settings


def _refuse(problems: Sequence[str]) -> NoReturn:
    """Settings that cannot work: a line each naming the variable to set, then exit 2."""
    for problem in problems:
        click.echo(f"salesbridge: {problem}", err=True)
    sys.exit(2)


@main.command()
@click.option("--port", type=int, default=None, help="HTTP port (default: $PORT or 3000).")
@click.option("--host", default="0.0.0.0", show_default=True)
@click.option("--no-worker", is_flag=True, help="Leave outbox delivery to `salesbridge worker`.")
@click.pass_obj
def serve(settings: Settings, port: int | None, host: str, no_worker: bool) -> None:
    """Serve Slack (POST /slack/events), Teams (POST /api/messages) and GET /healthz over
    HTTP, delivering the outbox
    in the same process unless --no-worker."""
    web.run_app(
        create_app(settings, worker=not no_worker),
        host=host,
        port=port or settings.port,
        print=None,
    )


@main.command()
@click.pass_obj
def worker(settings: Settings) -> None:
    """Deliver the outbox (DMs, triage cards) until stopped; run as many as you like."""

    async def run() -> None:
        services = build_services(settings)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, services.worker.stop)
        try:
            await run_worker(services)
        finally:
            await services.engine.dispose()

    asyncio.run(run())


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@click.pass_obj
def db_upgrade(settings: Settings, revision: str) -> None:
    """Apply migrations up to REVISION."""

    # Imported here, not at the top: Alembic costs ~10 MB that `serve` would keep for good.
    from store import migrate

    async def run() -> None:
        services = build_services(settings)
        try:
            await migrate.upgrade(services.engine, revision)
        finally:
            await services.engine.dispose()

    asyncio.run(run())
    click.echo(f"Database is at revision {revision}.")


@db.command("adopt")
@click.option("--team", required=True, help="The workspace's team id (Teams: the tenant id).")
@click.option("--enterprise", default=None, help="Its Enterprise Grid org id, if any.")
@click.option("--platform", type=click.Choice(["slack", "teams"]), default="slack")
@click.pass_obj
def db_adopt(settings: Settings, team: str, enterprise: str | None, platform: str) -> None:
    """Make what was kept for the one workspace served so far (the shared pool) that
    workspace's own, before serving many (Slack OAuth, a MultiTenant Teams bot)."""
    from bot.workspace import Workspace
    from store.adopting import adopt

    scope = Workspace(platform, enterprise if platform == "slack" else None, team, isolated=True)

    async def run() -> dict[str, int]:
        services = build_services(settings)
        try:
            return await adopt(services.engine, scope.scope)
        finally:
            await services.engine.dispose()

    moved = asyncio.run(run())
    for table, n in moved.items():
        click.echo(f"{table}: {n} row{'s' if n != 1 else ''} moved to {scope.scope}")


@main.group()
def catalog() -> None:
    """Import or export the product catalog file."""


@catalog.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_obj
def catalog_import(settings: Settings, file: Path) -> None:
    """Validate FILE whole and apply it; nothing changes if anything is wrong."""

    text = file.read_text(encoding="utf-8")

    async def run() -> list[str]:
        services = build_services(settings)
        try:
            changes = await services.catalog.import_catalog(text)
            return changes.summary_lines()
        finally:
            await services.engine.dispose()

    try:
        lines = asyncio.run(run())
    except CatalogError as exc:
        click.echo(f"{file}: {len(exc.problems)} problem(s); nothing was changed.", err=True)
        for problem in exc.problems:
            click.echo(f"  {problem}", err=True)
        sys.exit(1)
    for line in lines:
        click.echo(line)


@catalog.command("export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_obj
def catalog_export(settings: Settings, file: Path) -> None:
    """Write the catalog to FILE in the import format ('-' for standard output)."""

    async def run() -> str:
        services = build_services(settings)
        try:
            return dump_catalog(await services.catalog.export_catalog())
        finally:
            await services.engine.dispose()

    text = asyncio.run(run())
    if str(file) == "-":
        click.echo(text, nl=False)
    else:
        file.write_text(text, encoding="utf-8")
        click.echo(f"Wrote {file}.")


def _period(since: str, until: str) -> tuple[dt.date, dt.date]:
    """An export's days, both included; exits with 2 and one line saying why when they are
    not dates or name no day."""
    from bot.receipts import PeriodOrderError

    try:
        first, last = dt.date.fromisoformat(since), dt.date.fromisoformat(until)
    except ValueError:
        click.echo(
            f"Dates are YYYY-MM-DD, e.g. --since 2026-10-01 (got {since!r}, {until!r}).", err=True
        )
        sys.exit(2)
    if last < first:
        click.echo(str(PeriodOrderError(first, last)), err=True)
        sys.exit(2)
    return first, last


_SINCE = click.option("--since", "since", required=True, help="First day, YYYY-MM-DD (UTC).")
_UNTIL = click.option(
    "--until", "until", required=True, help="Last day, included, YYYY-MM-DD (UTC)."
)
_OUT = click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The CSV file to write ('-' for standard output).",
)
_WORKSPACE = click.option(
    "--workspace",
    "scope",
    default=None,
    help="Only this workspace's, named as the CSV's workspace column names it "
    "(e.g. slack:E0ORG:T0SALES; '' is a single-workspace deployment's). Default: every "
    "workspace, each row saying whose.",
)


Write = Callable[[Services, dt.date, dt.date, str | None, TextIO], Awaitable[int]]


def _export(
    settings: Settings,
    since: str,
    until: str,
    scope: str | None,
    out: Path,
    noun: str,
    write: Write,
) -> None:
    """Check the days, run `write` against the database into OUT ('-': standard output),
    and say how many `noun` it wrote."""
    first, last = _period(since, until)

    async def run() -> int:
        services = build_services(settings)
        try:
            if str(out) == "-":
                return await write(services, first, last, scope, sys.stdout)
            with out.open("w", newline="", encoding="utf-8") as f:
                return await write(services, first, last, scope, f)
        finally:
            await services.engine.dispose()

    count = asyncio.run(run())
    if str(out) != "-":
        click.echo(f"Wrote {count} {noun} ({first} to {last}) to {out}.")


@main.group()
def receipts() -> None:
    """The record of every verdict given (compliance)."""


@receipts.command("export")
@_SINCE
@_UNTIL
@_OUT
@_WORKSPACE
@click.pass_obj
def receipts_export(
    settings: Settings, since: str, until: str, out: Path, scope: str | None
) -> None:
    """Every receipt of the days SINCE to UNTIL as CSV, oldest first."""
    from bot.receipts import write_csv

    async def write(
        services: Services, first: dt.date, last: dt.date, scope: str | None, f: TextIO
    ) -> int:
        assert services.receipts is not None
        return await write_csv(services.receipts.export(since=first, until=last, scope=scope), f)

    _export(settings, since, until, scope, out, "receipts", write)


@main.group()
def approvals() -> None:
    """Approval requests for Restricted answers and their decisions (compliance)."""


@approvals.command("export")
@_SINCE
@_UNTIL
@_OUT
@_WORKSPACE
@click.pass_obj
def approvals_export(
    settings: Settings, since: str, until: str, out: Path, scope: str | None
) -> None:
    """Every approval request made on the days SINCE to UNTIL, with its decision, as CSV."""
    from bot.approvals import write_csv

    async def write(
        services: Services, first: dt.date, last: dt.date, scope: str | None, f: TextIO
    ) -> int:
        assert services.approvals is not None
        return await write_csv(services.approvals.export(since=first, until=last, scope=scope), f)

    _export(settings, since, until, scope, out, "approval requests", write)


@main.group()
def feedback() -> None:
    """Client feedback and what is at stake with it."""


@feedback.command("top")
@click.argument("words", nargs=-1)
@click.option("--limit", type=click.IntRange(1, 100_000), default=100, show_default=True)
@click.option(
    "--out",
    "out",
    default="-",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The CSV file to write ('-' for standard output).",
)
@click.option(
    "--workspace",
    "scope",
    default="",
    help="Whose feedback, with workspaces kept apart: named as the exports' workspace "
    "column names it (e.g. slack:E0ORG:T0SALES). Default: a single-workspace deployment's.",
)
@click.pass_obj
def feedback_top(
    settings: Settings, words: tuple[str, ...], limit: int, out: Path, scope: str
) -> None:
    """Open feedback ranked by revenue at stake as CSV, with each item's clients and CRM
    link: WORDS as after `/feedback top` (product, region, period)."""
    from bot import workspace
    from bot.demand import DemandError
    from bot.reports import PeriodError

    async def run() -> str:
        services = build_services(settings)
        assert services.bot.demand is not None
        try:
            with workspace.using(workspace.Workspace.of_scope(scope)):
                return (await services.bot.demand.top(" ".join(words), limit=limit)).csv()
        finally:
            await services.engine.dispose()

    try:
        text = asyncio.run(run())
    except (DemandError, PeriodError) as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    if str(out) == "-":
        click.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        click.echo(f"Wrote {out}.")


@main.group()
def manifest() -> None:
    """App packages for the platforms."""


@manifest.command("teams")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default="app.zip",
    show_default=True,
)
@click.pass_obj
def manifest_teams(settings: Settings, out: Path) -> None:
    """Build the Teams app package (manifest + icons) with MICROSOFT_APP_ID as the bot id."""
    from handlers.teams.package import AppIdError, build_package

    if not settings.microsoft_app_id:
        click.echo("Set MICROSOFT_APP_ID (the bot's Microsoft App ID) first.", err=True)
        sys.exit(1)
    try:
        build_package(out, app_id=settings.microsoft_app_id)
    except AppIdError as e:
        click.echo(str(e), err=True)
        sys.exit(1)
    click.echo(f"Wrote {out}: upload it in Teams (Apps > Manage your apps > Upload an app).")


@main.command()
@click.option(
    "--user",
    "user",
    default="U0CONSOLE",
    show_default=True,
    help="The user id to act as (e.g. a PM's id from PRODUCT_MANAGERS).",
)
@click.pass_obj
def chat(settings: Settings, user: str) -> None:
    """A local console: run any command as USER, no Slack or Teams needed."""
    from bot.notices import NOTICES
    from bot.outbox import OutboxMessage, Outcome, Worker
    from handlers.console import Inboxes, run_console

    async def run() -> None:
        services = build_services(settings)
        inboxes = Inboxes()
        # The console delivers its own users' messages (a server's worker leaves them).
        notices = services.notices

        async def console_deliver(message: OutboxMessage) -> Outcome:
            if message.platform == NOTICES and notices is not None:
                return await notices.fan_out(message)
            return await inboxes.deliver(message)

        worker = Worker(
            store=services.outbox,
            deliver=console_deliver,
            platforms=frozenset({"console", NOTICES}),
        )

        async def deliver() -> None:
            while await worker.run_once():
                pass

        try:
            await run_console(services.interactions, user=user, inboxes=inboxes, deliver=deliver)
        finally:
            await services.updates.close()
            if services.receipts is not None:
                await services.receipts.close()
            await services.engine.dispose()

    try:
        asyncio.run(run())
    except (KeyboardInterrupt, EOFError):
        click.echo("")


if __name__ == "__main__":
    main()
