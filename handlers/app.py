"""Composition root: create_app(settings) -> aiohttp Application with every route wired."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import gc
import logging
import threading
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import workspace
from bot.announcements import EVERYWHERE
from bot.approvals import ApprovalService
from bot.approvals import Settings as ApprovalSettings
from bot.briefings import BriefingService
from bot.catalog import CatalogService
from bot.commands import Bot
from bot.decks import MB, DeckFetcher
from bot.demand import DemandQuery, DemandService, Rates
from bot.editing import ProductEditor
from bot.feedback import FeedbackService
from bot.feedback import Settings as FeedbackSettings
from bot.interactions import Interactions
from bot.notices import NOTICES, Notices
from bot.outbox import Deliver, Failed, OutboxMessage, Outcome, RateGate, Worker
from bot.payloads import Coverage
from bot.ports import Notification, SystemClock
from bot.receipts import Receipts
from bot.reports import CoverageService
from bot.settings import Directory, SettingsService, WorkspaceSettings, defaults_from
from bot.types import UserRef, is_listed
from bot.updates import ProductUpdates
from bot.workspace import Workspace
from handlers.config import Settings
from handlers.console import LocalDeckFetcher
from handlers.links import CHART_ROUTE, CSV_ROUTE, DECK_ROUTE, ChartLinks, DeckLinks
from handlers.logs import quiet_bad_http
from handlers.memory import release_free_memory
from handlers.tasks import Background
from handlers.teams.keys import ANNOUNCE_KEY, MANAGEMENT_KEY, REGION_PREFIX, TRIAGE_KEY
from store.adopting import scopes_in_use
from store.approvals_repo import SqlApprovals
from store.briefings_repo import SqlBriefingRepository
from store.conversations import SqlConversations
from store.coverage_repo import SqlCoverage
from store.db import make_engine
from store.demand_repo import SqlDemand
from store.feedback_repo import SqlFeedbackRepository, SqlOutbox
from store.people import SqlPeople
from store.receipts_repo import SqlReceipts
from store.repository import SqlRepository
from store.seen import SqlSeen
from store.settings_repo import SqlSettings
from store.updates_repo import SqlUpdatesRepository

log = logging.getLogger(__name__)


@dataclass
class Services:
    """Everything a handler may need, built once per process."""

    settings: Settings
    engine: AsyncEngine
    repo: SqlRepository
    catalog: CatalogService
    bot: Bot
    feedback: FeedbackService
    feedback_repo: SqlFeedbackRepository
    outbox: SqlOutbox
    worker: Worker
    conversations: SqlConversations
    updates: ProductUpdates
    interactions: Interactions
    workspace_settings: SettingsService
    background: Background = field(default_factory=Background)
    chart_links: ChartLinks | None = None  # with PUBLIC_URL and LINK_SECRET set
    deck_links: DeckLinks | None = None  # the same
    receipts: Receipts | None = None
    notices: Notices | None = None
    slack_oauth: Any = None  # handlers.slack.oauth.SlackOAuth, with SLACK_CLIENT_ID/SECRET
    approvals: ApprovalService | None = None

    teams: Any = None  # TeamsParts, built by teams_parts() on first use
    # The route builds them in a thread, a delivery in the event loop: once between them.
    _teams_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def teams_parts(self) -> TeamsParts:
        """The Teams adapter, bot and notifier. With MICROSOFT_APP_ID set they are built at
        start-up; otherwise (Emulator mode, or a Slack-only install) on first use: the
        Agents SDK costs about a second of start-up and ~25 MB that Slack never needs."""
        with self._teams_lock:
            if self.teams is None:
                self.teams = _teams(self)
            parts: TeamsParts = self.teams
            return parts

    def wake_worker(self) -> None:
        """A commit just wrote to the outbox: deliver now rather than at the next poll."""
        self.worker.wake.set()


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SERVICES = web.AppKey("services", Services)


def build_services(settings: Settings) -> Services:
    engine = make_engine(settings.database_url)
    repo = SqlRepository(engine)
    catalog = CatalogService(repo, after_build=release_free_memory)
    conversations = SqlConversations(engine)
    clock = SystemClock()
    workspace_settings = _workspace_settings(settings, engine, catalog, clock)

    async def channels() -> list[tuple[str, str]]:
        """Where announcements go: every change to the announcements channel (and the Teams
        announcements channel, once a PM set one); region channels hear their regions. With
        workspaces apart, the current workspace's own, on its own platform only."""
        out: list[tuple[str, str]] = []
        here = workspace.current()
        apart = here is not None and here.isolated
        platforms = settings.platforms & {here.platform} if here and apart else settings.platforms
        if "slack" in platforms:
            slack = (
                (await workspace_settings.of(here)).settings
                if here and apart
                else await workspace_settings.for_platform("slack")
            )
            if slack.announce_channel:
                out.append((EVERYWHERE, f"slack:{slack.announce_channel}"))
            out += [(code, f"slack:{ch}") for code, ch in slack.region_channels.items()]
        if "teams" not in platforms:  # a reference kept from before is not a channel
            return out
        if await conversations.get(key=ANNOUNCE_KEY) is not None:
            out.append((EVERYWHERE, "teams:announce"))
        for key in await conversations.keys(prefix=REGION_PREFIX):
            out.append((key.removeprefix(REGION_PREFIX), key))  # "teams:region:APAC"
        return out

    briefing_repo = SqlBriefingRepository(engine)
    deck_links = None
    if settings.public_url and settings.link_secret:
        deck_links = DeckLinks(
            settings.link_secret.get_secret_value().encode(), settings.public_url
        )
    oauth, tokens = None, None
    if settings.slack_oauth:
        from handlers.slack.listeners import BOT_SCOPES
        from handlers.slack.oauth import WorkspaceTokens, slack_oauth

        oauth = slack_oauth(settings, engine, BOT_SCOPES)
        tokens = WorkspaceTokens(oauth)
    fetchers: dict[str, DeckFetcher] = {"console": LocalDeckFetcher()}
    if settings.slack_bot_token or tokens is not None:
        from handlers.slack.files import SlackDeckFetcher, TokenFor, request_token

        token: str | TokenFor
        if tokens is not None:  # each workspace's deck read with its own installation
            token = request_token(tokens)
        else:
            assert settings.slack_bot_token is not None
            token = settings.slack_bot_token.get_secret_value()
        fetchers["slack"] = SlackDeckFetcher(token=token, api_url=settings.slack_api_url)
    if settings.teams_mode is not None:
        from handlers.teams.files import TeamsDeckFetcher

        loopback = settings.teams_mode == "emulator" or settings.teams_loopback_service_urls
        fetchers["teams"] = TeamsDeckFetcher(allow_loopback=loopback)
    updates = ProductUpdates(
        repo=SqlUpdatesRepository(engine),
        catalog=catalog,
        clock=SystemClock(),
        channels=channels,
        stale_after_days=settings.verify_after_days,
    )
    feedback_repo = SqlFeedbackRepository(engine)
    demand_reader = SqlDemand(engine)

    async def open_revenue() -> dict[str, dict[str, int]]:
        """Revenue at stake in the open feedback, per region code: the coverage report's."""
        return await demand_reader.revenue_by_region(DemandQuery())

    rates = Rates(settings.fx_rates)
    feedback = FeedbackService(
        repo=feedback_repo,
        catalog=catalog,
        clock=SystemClock(),
        settings=FeedbackSettings(
            product_managers=settings.product_managers,
            triage_channel=settings.triage_channel,
            stale_after_days=settings.feedback_stale_days,
        ),
        people=SqlPeople(engine),
        demand=demand_reader,
        rates=rates,
    )
    outbox = SqlOutbox(engine)
    senders: dict[str, Deliver] = {}

    async def deliver(message: OutboxMessage) -> Outcome:
        send = senders.get(message.platform)
        if send is None:
            return Failed(f"no sender for platform {message.platform!r}")
        return await send(message)

    worker = Worker(
        store=outbox,
        deliver=deliver,
        max_attempts=settings.outbox_max_attempts,
        lease=dt.timedelta(seconds=settings.outbox_lease_seconds),
    )
    receipts_repo = SqlReceipts(engine)
    receipts = Receipts(
        repo=receipts_repo, clock=clock, retention_days=settings.receipt_retention_days
    )

    async def enqueue(notes: Sequence[Notification]) -> None:
        await outbox.enqueue(notifications=notes)

    notices = Notices(
        repo=receipts_repo,
        receipts=receipts,
        clock=clock,
        enqueue=enqueue,
        window_days=settings.notice_window_days,
    )
    updates.notices = notices

    async def scopes() -> list[str]:
        return await periodic_scopes(services)

    updates.scopes = scopes  # every workspace in use hears a catalog change
    senders[NOTICES] = notices.fan_out
    approvals = ApprovalService(
        repo=SqlApprovals(engine),
        catalog=catalog,
        clock=clock,
        settings=ApprovalSettings(
            product_managers=settings.product_managers,
            approvals_channel=settings.approvals_channel,
            triage_channel=settings.triage_channel,
            valid_days=settings.approval_valid_days,
            platforms=settings.platforms,
        ),
        people=SqlPeople(engine),
    )
    bot = Bot(
        catalog=catalog,
        receipts=receipts,
        approvals=approvals,
        notices=notices,
        updates=updates,
        editor=ProductEditor(catalog=catalog, product_managers=settings.product_managers),
        briefings=BriefingService(
            repo=briefing_repo,
            catalog=catalog,
            clock=clock,
            product_managers=settings.product_managers,
            fetchers=fetchers,
            deck_max_bytes=settings.deck_max_mb * MB,
            deck_link=deck_links.url if deck_links else None,
        ),
        feedback=feedback,
        coverage=CoverageService(
            revenue=open_revenue,
            figures=SqlCoverage(engine),
            catalog=catalog,
            clock=clock,
            timezone=settings.report_timezone,
            default_target=settings.default_briefing_target,
            pm_target=settings.pm_briefing_target,
            receipts=receipts,
        ),
        product_managers=settings.product_managers,
        managers=settings.managers,
        demand=DemandService(
            reader=demand_reader,
            items=feedback_repo,
            catalog=catalog,
            clock=clock,
            rates=rates,
            timezone=settings.report_timezone,
        ),
        settings=workspace_settings,
    )
    services = Services(
        settings,
        engine,
        repo,
        catalog,
        bot,
        feedback,
        feedback_repo,
        outbox,
        worker,
        conversations,
        updates,
        Interactions(bot=bot, feedback=feedback, approvals=approvals, settings=workspace_settings),
        workspace_settings,
        receipts=receipts,
        notices=notices,
        approvals=approvals,
    )
    if settings.public_url and settings.link_secret:
        services.chart_links = ChartLinks(
            settings.link_secret.get_secret_value().encode(), settings.public_url
        )
    services.deck_links = deck_links
    if settings.microsoft_app_id:
        services.teams_parts()

    async def deliver_to_teams(message: OutboxMessage) -> Outcome:
        return await services.teams_parts().deliver(message)

    if settings.teams_mode is not None:  # a Slack-only install has no Teams surface at all
        senders["teams"] = deliver_to_teams
    services.slack_oauth = oauth
    if settings.slack_bot_token or tokens is not None:
        from handlers.slack.directory import slack_directory
        from handlers.slack.notifier import make_slack_notifier

        workspace_settings.directories["slack"] = slack_directory(settings, tokens)
        senders["slack"] = make_slack_notifier(
            settings,
            feedback,
            services.bot.coverage,
            RateGate(outbox),
            tokens,
            approvals,
            workspace_settings,
        ).deliver
    worker.platforms = frozenset(senders)  # the console delivers its own messages
    return services


def _workspace_settings(
    settings: Settings, engine: AsyncEngine, catalog: CatalogService, clock: SystemClock
) -> SettingsService:
    """Each workspace's settings over the environment's; Slack's own admins may change
    them (users.info), as may ADMINS on every platform."""
    directories: dict[str, Directory] = {}  # Slack's, once its tokens are known

    async def regions() -> list[str]:
        return list((await catalog.view()).catalog.regions)

    return SettingsService(
        store=SqlSettings(engine),
        defaults=defaults_from(settings),
        clock=clock,
        admins=settings.admins,
        directories=directories,
        regions=regions,
    )


@dataclass
class TeamsParts:
    """The Teams adapter, its auth configuration, the bot and the notifier, built once."""

    adapter: Any
    config: Any
    bot: Any
    deliver: Deliver
    urls: Any  # handlers.teams.http.ServiceUrls
    validator: Any  # handlers.teams.tokens.GuardedValidator


def _teams(services: Services) -> TeamsParts:
    from handlers.teams.bot import TeamsBot
    from handlers.teams.http import (
        auth_configuration,
        create_adapter,
        service_urls,
        token_validator,
    )
    from handlers.teams.notifier import TeamsNotifier

    settings = services.settings
    config = auth_configuration(settings)
    urls = service_urls(settings)
    adapter = create_adapter(config, urls)
    links = services.chart_links
    chart_url = None if links is None else links.chart_urls
    notifier = TeamsNotifier(
        adapter=adapter,
        app_id=settings.microsoft_app_id,
        conversations=services.conversations,
        feedback=services.feedback,
        coverage=services.bot.coverage,
        chart_url=chart_url,
        gate=RateGate(services.outbox),
        urls=urls,
        isolated=settings.isolates_workspaces,
        approvals=services.approvals,
        settings=services.workspace_settings,
    )
    bot = TeamsBot(
        interactions=services.interactions,
        conversations=services.conversations,
        wake=services.wake_worker,
        seen=SqlSeen(services.engine),
        chart_url=chart_url,
        csv_url=None if links is None else (lambda report: links.csv_url(report.period)),
        isolated=settings.isolates_workspaces,
        personal=notifier.to_personal,
    )
    validator = token_validator(settings, config)
    return TeamsParts(adapter, config, bot, notifier.deliver, urls, validator)


def _platforms(services: Services) -> frozenset[str]:
    """The platforms the worker's periodic work sends to now: every configured one outside
    any workspace (one pool), else the current workspace's own (a Slack workspace's
    messages never go to a Teams channel, nor a tenant's to Slack)."""
    here = workspace.current()
    configured = services.settings.platforms
    return configured if here is None else configured & {here.platform}


async def _slack_settings(services: Services) -> WorkspaceSettings:
    """The Slack settings of the current workspace, else those a job outside any workspace
    uses (bot.settings.SettingsService.for_platform)."""
    here = workspace.current()
    if here is not None and here.platform == "slack":
        return (await services.workspace_settings.of(here)).settings
    return await services.workspace_settings.for_platform("slack")


async def triage_channels(services: Services) -> dict[str, str]:
    """Each platform's triage channel (platform -> channel), where one is set: the current
    workspace's own when the periodic work runs for one."""
    platforms = _platforms(services)
    out = {}
    if "slack" in platforms and (slack := (await _slack_settings(services)).triage_channel):
        out["slack"] = slack
    if "teams" in platforms and await services.conversations.get(key=TRIAGE_KEY):
        out["teams"] = TRIAGE_KEY.removeprefix("teams:")
    return out


async def weekly(services: Services) -> None:
    """Owners' "still accurate?" nudges, the PMs' gap list and the items with most revenue
    at stake still undecided, and the management digest, on
    every platform that has somewhere to send them, for the current workspace (run once per
    workspace scope, see `run_worker`). The dedupe keys carry the week and the workspace's
    scope (none for the one shared pool, as they always were), so any number of workers
    checking hourly send each once a week in each workspace."""
    platforms = _platforms(services)  # only these are looked up and sent to
    here = workspace.current()
    slack_settings = await _slack_settings(services)
    notes = [n for n in await services.updates.stale_nudges() if n.platform in platforms]
    if here is not None:
        # The catalog's owners belong to no workspace: each workspace nudges those it lists
        # as its product managers, so no owner hears from a workspace they are not in.
        pms = (await services.workspace_settings.of(here)).settings.product_managers
        notes = [n for n in notes if is_listed(UserRef(n.platform, n.target), pms)]
    slack = "slack" in platforms
    teams = "teams" in platforms
    for triage in (await triage_channels(services)).items():
        gaps = await services.updates.gap_notification(triage=triage)
        if gaps is not None:
            notes.append(gaps)
        if services.bot.demand is not None:
            most = await services.bot.demand.weekly_notification(triage=triage)
            if most is not None:
                notes.append(most)
    management = slack_settings.management_channel
    managements = [("slack", management)] if slack and management else []
    if teams and await services.conversations.get(key=MANAGEMENT_KEY) is not None:
        managements.append(("teams", MANAGEMENT_KEY.removeprefix("teams:")))
    if managements and services.bot.coverage is not None:
        now = dt.datetime.now(dt.UTC)
        week = f"{now.isocalendar().year}-W{now.isocalendar().week:02d}"
        digest = Coverage("this quarter", digest=True)
        if here is not None:
            # Computed now, in the workspace whose figures it shows: the worker sends it
            # outside any request.
            report = await services.bot.coverage.report(digest.period)
            digest = dataclasses.replace(digest, report=report.encode())
        notes += [
            Notification(
                platform=platform,
                kind="coverage",
                target=target,
                dedupe_key=f"coverage:{week}:{platform}:{target}",
                payload=digest.encode(),
            )
            for platform, target in managements
        ]
    scope = workspace.scope()
    if scope != workspace.SHARED:
        notes = [dataclasses.replace(n, dedupe_key=f"{n.dedupe_key}:{scope}") for n in notes]
    if notes:
        await services.outbox.enqueue(notifications=notes)
        services.wake_worker()


async def periodic_scopes(services: Services) -> list[str]:
    """The workspace scopes the periodic work runs for (store.adopting.scopes_in_use): the
    one shared pool, or, with workspaces apart, each workspace with data or installed."""
    installed: list[str] = []
    if services.slack_oauth is not None:
        installed = [
            Workspace("slack", enterprise, team, isolated=True).scope
            for enterprise, team in await services.slack_oauth.installations.workspaces()
        ]
    isolated = services.settings.isolates_workspaces
    return await scopes_in_use(services.engine, isolated=isolated, installed=installed)


async def periodic(services: Services) -> None:
    """Stale feedback raised again and the weekly messages, once per workspace scope, each
    inside its workspace with its settings in effect: what they read is that workspace's,
    and the outbox rows they write are stamped with it, so each goes out with its token.
    One workspace failing does not keep the others' messages back."""
    for scope in await periodic_scopes(services):
        here = Workspace.of_scope(scope)
        try:
            with workspace.using(here):
                async with (
                    services.workspace_settings.entered(here)
                    if here is not None
                    else contextlib.nullcontext()
                ):
                    triages = await triage_channels(services)
                    if await services.feedback.remind_stale(triages=triages):
                        services.wake_worker()
                    await weekly(services)
        except Exception:  # the database may be briefly away
            log.exception("periodic check failed", extra={"scope": scope})


async def run_worker(services: Services, *, stale_check_every: float = 3600.0) -> None:
    """The delivery loop, plus raising stale feedback again once in a while. Both stop
    between database calls, never in the middle of one."""
    stop = asyncio.Event()

    async def stale() -> None:
        while not stop.is_set():
            try:
                await periodic(services)
                await SqlSeen(services.engine).forget_before(
                    dt.datetime.now(dt.UTC) - dt.timedelta(days=2)
                )
                if services.receipts is not None:
                    await services.receipts.purge()
            except Exception:  # the database may be briefly away
                log.exception("periodic check failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=stale_check_every)

    reminder = asyncio.create_task(stale())
    try:
        await services.worker.run_forever()
    finally:
        stop.set()
        await reminder


HEALTH_WRITE_SECONDS = 2.0  # a write probe waiting longer than this is a write outage


async def healthz(request: web.Request) -> web.Response:
    """The database answers reads and takes a write (a probe row written and removed):
    200, or 503 saying which of the two failed."""
    services = request.app[SERVICES]
    try:
        await services.repo.ping()
        version = await services.repo.catalog_version()
    except Exception as exc:  # the load balancer only needs to know we cannot serve
        log.warning("health check failed", extra={"error": type(exc).__name__})
        return web.json_response({"status": "unavailable", "database": "down"}, status=503)
    try:
        async with asyncio.timeout(HEALTH_WRITE_SECONDS + 3.0):  # backstop: the db gives up first
            await SqlSeen(services.engine).probe_write(wait=HEALTH_WRITE_SECONDS)
    except Exception as exc:  # read-only, locked, out of space: nothing could be saved
        log.warning(
            "health check: the database takes no writes", extra={"error": type(exc).__name__}
        )
        return web.json_response(
            {"status": "unavailable", "database": "unwritable", "catalog_version": version},
            status=503,
        )
    return web.json_response({"status": "ok", "database": "ok", "catalog_version": version})


async def livez(_request: web.Request) -> web.Response:
    """The process answers HTTP: nothing else is checked (cheap, for the load balancer)."""
    return web.json_response({"status": "alive"})


def create_app(
    settings: Settings, services: Services | None = None, *, worker: bool = True
) -> web.Application:
    services = services or build_services(settings)
    quiet_bad_http()
    app = web.Application(client_max_size=2 * 1024 * 1024)
    app[SERVICES] = services
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/livez", livez)

    if settings.slack_signing_secret:
        from handlers.slack.http import create_slack_app, slack_route
        from handlers.slack.render import Effects

        effects = Effects(_enqueuer(services), services.wake_worker, services.background)
        slack = create_slack_app(
            settings,
            interactions=services.interactions,
            effects=effects,
            oauth=services.slack_oauth,
        )
        if services.slack_oauth is not None:
            from handlers.slack.oauth import oauth_routes

            for route in oauth_routes(slack):
                app.router.add_route(*_route_args(route))
        app.router.add_route(
            *_route_args(
                slack_route(
                    slack,
                    settings.slack_signing_secret.get_secret_value(),
                    api_url=settings.slack_api_url,
                    seen=SqlSeen(services.engine),
                    isolated=settings.isolates_workspaces,
                    settings=services.workspace_settings,
                )
            )
        )
        if settings.slack_app_token:
            app.cleanup_ctx.append(_socket_mode(slack, settings))
    else:
        log.warning("SLACK_SIGNING_SECRET is not set: /slack/events is not served")

    if settings.teams_mode is not None:
        _teams_route(app, services)
    if settings.teams_mode == "emulator":
        log.warning(
            "TEAMS_EMULATOR=1: /api/messages takes UNAUTHENTICATED activities from this "
            "machine (Bot Framework Emulator). For a developer's own machine only: never "
            "behind a proxy, never on a server."
        )
    elif settings.teams_mode is None:
        log.info("MICROSOFT_APP_ID is not set: /api/messages is not served (Slack only)")
    elif settings.teams_emulator:
        log.warning("TEAMS_EMULATOR is ignored: MICROSOFT_APP_ID is set, tokens are checked")
    if services.chart_links is not None and services.bot.coverage is not None:
        coverage, scoped = services.bot.coverage, services.workspace_settings
        app.router.add_get(CHART_ROUTE, services.chart_links.handler(coverage, scoped))
        app.router.add_get(CSV_ROUTE, services.chart_links.csv_handler(coverage, scoped))
    elif settings.public_url or settings.link_secret:
        log.warning("set both PUBLIC_URL and LINK_SECRET to show coverage charts in Teams")
    if services.deck_links is not None and services.bot.briefings is not None:
        app.router.add_get(DECK_ROUTE, services.deck_links.handler(services.bot.briefings))

    async def warm(_app: web.Application) -> None:
        # Build the match index before the first user waits for it.
        try:
            await services.catalog.view()
            # The index is long-lived: keep it out of the cyclic GC's full passes, which
            # otherwise walk every catalog object and stall requests (gc.freeze docs).
            gc.collect()
            gc.freeze()
            release_free_memory()  # what the collection just freed as well
        except Exception as exc:  # e.g. not migrated yet: /healthz will say so
            log.warning("catalog not loaded at start-up", extra={"error": type(exc).__name__})
        finally:
            gc.enable()  # `salesbridge serve` starts with it off (handlers/launch.py)

    async def dispose(_app: web.Application) -> None:
        await services.background.close()
        await services.updates.close()
        if services.receipts is not None:
            await services.receipts.close()
        await services.engine.dispose()

    app.on_startup.append(warm)
    if services.slack_oauth is not None:
        from handlers.slack.oauth import warn_if_apart

        async def apart(_app: web.Application) -> None:
            await warn_if_apart(services.slack_oauth.installations)

        app.on_startup.append(apart)
    if worker:
        app.cleanup_ctx.append(_background(services))
    app.on_cleanup.append(dispose)
    return app


def _background(services: Services):  # type: ignore[no-untyped-def]
    """The outbox worker inside `serve` (unless --no-worker)."""

    async def ctx(_app: web.Application):  # type: ignore[no-untyped-def]
        task = asyncio.create_task(run_worker(services))
        yield
        services.worker.stop()
        try:
            await asyncio.wait_for(task, timeout=15)
        except TimeoutError:
            log.warning("outbox worker did not stop in time")

    return ctx


def _teams_route(app: web.Application, services: Services) -> None:
    """POST /api/messages; the Teams parts are built on the first activity unless they
    already were (MICROSOFT_APP_ID set). Building imports the Agents SDK: done in a thread
    so Slack requests are not held up meanwhile."""
    handler: Handler | None = None
    lock = asyncio.Lock()

    async def messages(request: web.Request) -> web.StreamResponse:
        nonlocal handler
        if handler is None:
            async with lock:
                if handler is None:
                    parts = await asyncio.to_thread(services.teams_parts)
                    from handlers.teams.http import teams_handler

                    handler = teams_handler(
                        parts.adapter, parts.bot, parts.config, parts.urls, parts.validator
                    )
        return await handler(request)

    app.router.add_post("/api/messages", messages)


def _enqueuer(services: Services) -> Callable[[Sequence[Notification]], Awaitable[None]]:
    async def enqueue(notifications: Sequence[Notification]) -> None:
        await services.outbox.enqueue(notifications=notifications)

    return enqueue


def _route_args(route: web.RouteDef) -> tuple[str, str, Handler]:
    return route.method, route.path, route.handler


def _socket_mode(slack: object, settings: Settings):  # type: ignore[no-untyped-def]
    """Also take Slack traffic over Socket Mode (development without a public URL)."""
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    async def ctx(_app: web.Application):  # type: ignore[no-untyped-def]
        assert settings.slack_app_token is not None
        handler = AsyncSocketModeHandler(slack, settings.slack_app_token.get_secret_value())  # type: ignore[arg-type]
        await handler.connect_async()  # type: ignore[no-untyped-call]
        log.info("slack socket mode connected")
        yield
        await handler.close_async()  # type: ignore[no-untyped-call]

    return ctx
