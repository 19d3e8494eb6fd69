"""Settings admins change in chat, per workspace: what they are, the settings in effect for a
request, the form, who may change them, and each change (checked, recorded, announced).

The environment gives every setting its default. A workspace's admins may override any of
them with `/salesbridge settings`; what they set is kept in the database for that workspace
only (a Slack workspace, a Teams tenant), and every setting they did not touch keeps
following the environment. With no settings stored, the bot behaves as the environment says.

Each platform names the request's workspace at the door (`SettingsService.enter`); the
settings in effect for it are then read with `in_effect()` wherever a role or a channel is
needed, so the use cases need not pass a workspace through every call. Outside a request
(the worker's jobs, a service built by hand in a test) nothing is in effect and each service
uses the values it was built with: the environment's.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import enum
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field, fields, replace
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from bot import workspace as workspaces
from bot.forms import Errors, FieldKind, FormField, FormSpec, Values, is_number
from bot.ids import FormId
from bot.payloads import Digest
from bot.ports import Clock, Lane, Notification
from bot.types import Refused, UserRef, Why, is_listed, is_user_id, platform_of
from bot.workspace import Workspace

log = logging.getLogger(__name__)

# How long a process serves a workspace's settings from memory before it asks the database
# whether they changed: a change made through another process is in effect here within it.
FRESH_FOR_SECONDS = 5.0
MAX_PEOPLE = 100
MAX_REGION_CHANNELS = 200
MAX_TARGET = 1000

# Copy, written once for every platform.
FORM_TITLE = "Salesbridge settings"
SUBMIT = "Save"
CHANGED_TITLE = "Settings saved"
ANNOUNCE_TITLE = "Settings changed"
NO_CHANGE = "Nothing changed: every setting already had that value."
NOT_ADMIN = (
    "Only this workspace's admins (and the people in ADMINS) can change Salesbridge's settings."
)
NO_WORKSPACE = "Settings are changed from a Slack workspace or a Teams tenant."
CONFLICT = "Someone changed these settings while you had the form open: it now shows their values."
TEAMS_CHANNELS = (
    "Channels on Teams are chosen in the channel itself: say “use this channel for triage” "
    "(or announcements, management reports, APAC announcements) there."
)
SETTINGS_USAGE = "Try `/salesbridge settings`."
NOT_A_CHANNEL = "Pick a channel (its id looks like C0123ABCD)."
BAD_REGION_LINE = "One region per line, as REGION=channel id, e.g. APAC=C0123ABCD."
NOT_PEOPLE = "Pick people from the workspace."
TOO_MANY = "At most {n}."
NOT_A_TARGET = "A whole number from 0 to 1000."
NOT_A_ZONE = "An IANA time zone such as UTC or Australia/Sydney."


class ChannelState(enum.StrEnum):
    """What a platform says of a channel a setting names."""

    POSTABLE = "postable"
    NOT_FOUND = "not_found"  # no such channel, or one the bot cannot see
    NOT_MEMBER = "not_member"  # the bot is not in it
    ARCHIVED = "archived"
    UNCHECKED = "unchecked"  # the platform could not be asked just now


CHANNEL_REFUSAL = {
    ChannelState.NOT_FOUND: "I can't see that channel: invite Salesbridge to it first.",
    ChannelState.NOT_MEMBER: (
        "Salesbridge is not in that channel, so it cannot post there: invite it "
        "(/invite @Salesbridge), then save again."
    ),
    ChannelState.ARCHIVED: "That channel is archived: nothing can be posted there.",
    ChannelState.UNCHECKED: "I could not check that channel just now: try again in a moment.",
}


UNCHECKED = CHANNEL_REFUSAL[ChannelState.UNCHECKED]


class Kind(enum.StrEnum):
    PEOPLE = "people"
    CHANNEL = "channel"
    REGION_CHANNELS = "region_channels"
    TARGET = "target"
    TIMEZONE = "timezone"


@dataclass(frozen=True, slots=True)
class Setting:
    key: str  # the WorkspaceSettings field, the form field, the stored key
    label: str
    kind: Kind
    hint: str | None = None


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "product_managers",
        "Product managers",
        Kind.PEOPLE,
        "They triage feedback, edit products and log briefings.",
    ),
    Setting("managers", "Managers", Kind.PEOPLE, "They may read the coverage report."),
    Setting("triage_channel", "Triage channel", Kind.CHANNEL, "Feedback cards for the PMs."),
    Setting("announce_channel", "Announcements channel", Kind.CHANNEL, "Every product change."),
    Setting(
        "approvals_channel",
        "Approvals channel",
        Kind.CHANNEL,
        "Approval requests naming no one (else the triage channel).",
    ),
    Setting(
        "management_channel",
        "Management channel",
        Kind.CHANNEL,
        "The weekly coverage digest.",
    ),
    Setting(
        "region_channels",
        "Region channels",
        Kind.REGION_CHANNELS,
        "One per line: REGION=channel id (product changes about that region).",
    ),
    Setting(
        "default_briefing_target",
        "Briefings per region and quarter",
        Kind.TARGET,
        "The target where the catalog sets none for a region.",
    ),
    Setting("pm_briefing_target", "Briefings per PM and quarter", Kind.TARGET),
    Setting(
        "report_timezone",
        "Report time zone",
        Kind.TIMEZONE,
        "Quarters and dates in reports are read in it, e.g. Europe/London.",
    ),
)
BY_KEY = {s.key: s for s in SETTINGS}
# Teams channels are conversations the bot is reached in, set from inside each channel.
_ON_TEAMS = (Kind.PEOPLE, Kind.TARGET, Kind.TIMEZONE)


def editable(platform: str) -> tuple[Setting, ...]:
    """The settings a workspace on `platform` changes with the form."""
    return tuple(s for s in SETTINGS if platform != "teams" or s.kind in _ON_TEAMS)


@dataclass(frozen=True, slots=True)
class WorkspaceSettings:
    """Every setting admins may change, as in effect for one workspace."""

    product_managers: frozenset[str] = frozenset()
    managers: frozenset[str] = frozenset()
    triage_channel: str | None = None
    announce_channel: str | None = None
    approvals_channel: str | None = None
    management_channel: str | None = None
    region_channels: Mapping[str, str] = field(default_factory=dict)
    default_briefing_target: int = 1
    pm_briefing_target: int = 3
    report_timezone: str = "UTC"

    def value(self, key: str) -> Any:
        """A setting as it is stored and recorded (JSON: lists sorted, maps as objects)."""
        raw = getattr(self, key)
        if isinstance(raw, frozenset):
            return sorted(raw)
        if isinstance(raw, Mapping):
            return dict(sorted(raw.items()))
        return raw

    def overlaid(self, stored: Mapping[str, Any]) -> WorkspaceSettings:
        """These settings with what a workspace stored over them (a value of the wrong
        shape, or a key no longer known, is left out: the default stands)."""
        changes: dict[str, Any] = {}
        for key, raw in stored.items():
            setting = BY_KEY.get(key)
            decoded = _decoded(setting.kind, raw) if setting else _WRONG
            if decoded is not _WRONG:
                changes[key] = decoded
        return replace(self, **changes)


_WRONG = object()


def _decoded(kind: Kind, raw: Any) -> Any:
    if kind is Kind.PEOPLE:
        ok = isinstance(raw, list) and all(isinstance(x, str) for x in raw)
        return frozenset(raw) if ok else _WRONG
    if kind is Kind.CHANNEL:
        return raw if raw is None or isinstance(raw, str) else _WRONG
    if kind is Kind.REGION_CHANNELS:
        ok = isinstance(raw, dict) and all(isinstance(v, str) for v in raw.values())
        return {str(k): v for k, v in raw.items()} if ok else _WRONG
    if kind is Kind.TARGET:
        return raw if isinstance(raw, int) and not isinstance(raw, bool) else _WRONG
    return raw if isinstance(raw, str) and _zone_ok(raw) else _WRONG


def _zone_ok(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (KeyError, ValueError):  # ZoneInfoNotFoundError is a KeyError
        return False
    return True


# --------------------------------------------------------------------------- in effect


@dataclass(frozen=True, slots=True)
class Scope:
    """The workspace a request came from and its settings, as read at the door."""

    workspace: Workspace
    settings: WorkspaceSettings
    version: int  # 0: nothing stored for it (the environment's settings)


_SCOPE: ContextVar[Scope | None] = ContextVar("salesbridge_scope", default=None)


def scope() -> Scope | None:
    """The request's workspace and settings, once its platform named the workspace."""
    return _SCOPE.get()


def current() -> WorkspaceSettings | None:
    """The settings of the request's workspace; None outside a request."""
    got = _SCOPE.get()
    return None if got is None else got.settings


def in_effect(defaults: WorkspaceSettings) -> WorkspaceSettings:
    """The settings of the request's workspace; `defaults` (the values a service was built
    with, the environment's) outside a request."""
    got = _SCOPE.get()
    return defaults if got is None else got.settings


@contextlib.asynccontextmanager
async def inside(
    service: SettingsService | None, workspace: Workspace | None, *, platform: str | None = None
) -> AsyncIterator[None]:
    """Work done for `workspace` outside any request (a signed link served, a message the
    worker delivers): its data current and its settings in effect inside the block, as in
    the request that made the link or the message. With no workspace (the shared pool), the
    settings of `platform`'s one workspace that stored any (a deployment serving one
    workspace, whose admins changed them in chat), else the environment's; with no service
    (one built by hand), the environment's."""
    with workspaces.using(workspace):
        named = workspace
        if service is not None and named is None and platform is not None:
            named = await service.job_workspace(platform)
        if service is not None and named is not None:
            async with service.entered(named):
                yield
            return
        token = _SCOPE.set(None)
        try:
            yield
        finally:
            _SCOPE.reset(token)


# --------------------------------------------------------------------------- ports


@dataclass(frozen=True, slots=True)
class Stored:
    """What a workspace stored: the settings it overrides, and their version."""

    values: Mapping[str, Any]
    version: int


@dataclass(frozen=True, slots=True)
class SettingChange:
    """One setting changed: who, when, from where, from what to what."""

    key: str
    old: Any  # WorkspaceSettings.value: JSON
    new: Any
    by: UserRef
    at: dt.datetime  # aware, UTC
    via: str  # the platform the form was submitted on


class SettingsStore(Protocol):
    async def load(self, workspace: Workspace) -> Stored | None: ...

    async def save(
        self,
        *,
        workspace: Workspace,
        values: Mapping[str, Any],
        expected_version: int,
        changes: Sequence[SettingChange],
        notifications: Sequence[Notification],
    ) -> int | None:
        """In one transaction, only while the stored version is still `expected_version`
        (0: nothing stored yet): the new values, the change log and the notifications.
        The new version, or None when someone else saved first (nothing written)."""
        ...

    async def changes(self, workspace: Workspace, *, limit: int = 50) -> list[SettingChange]:
        """The workspace's change log, newest first."""
        ...

    async def workspaces(self, platform: str, *, limit: int = 100) -> list[Workspace]:
        """Workspaces of a platform that have settings stored (at most `limit`)."""
        ...


class Directory(Protocol):
    """What a platform knows of its people and channels (Slack's Web API)."""

    async def is_admin(self, user: UserRef, workspace: Workspace) -> bool: ...

    async def channel(self, channel: str, workspace: Workspace) -> ChannelState: ...


# --------------------------------------------------------------------------- the service


@dataclass(frozen=True, slots=True)
class Changed:
    changes: tuple[SettingChange, ...]

    @property
    def text(self) -> str:
        if not self.changes:
            return NO_CHANGE
        return "\n".join(change_line(c) for c in self.changes)


@dataclass(frozen=True, slots=True)
class Conflict:
    form: FormSpec


class SettingsService:
    def __init__(
        self,
        *,
        store: SettingsStore,
        defaults: WorkspaceSettings,
        clock: Clock,
        admins: frozenset[str] = frozenset(),
        directories: Mapping[str, Directory] | None = None,
        regions: Callable[[], Awaitable[Iterable[str]]] | None = None,
        fresh_for: float = FRESH_FOR_SECONDS,
        ticks: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.defaults = defaults
        self.admins = admins
        self.directories = dict(directories or {})
        self._clock = clock
        self._regions = regions  # the catalog's region codes
        self._fresh_for = fresh_for
        self._ticks = ticks
        self._cache: dict[Workspace, tuple[Scope, float]] = {}
        # The read in flight per workspace, shared by every request that finds the memory
        # stale meanwhile: at 32 connections each would otherwise read (and open a pooled
        # connection of its own) at every expiry.
        self._reading: dict[Workspace, asyncio.Task[Scope]] = {}
        self._jobs: dict[str, tuple[Workspace | None, float]] = {}

    # -- reading

    async def of(self, workspace: Workspace) -> Scope:
        """The workspace's settings, from memory while fresh (FRESH_FOR_SECONDS), else
        read again: a change saved by another process is seen here within that bound."""
        now = self._ticks()
        cached = self._cache.get(workspace)
        if cached is not None and now - cached[1] < self._fresh_for:
            return cached[0]
        reading = self._reading.get(workspace)
        if reading is None:
            reading = asyncio.ensure_future(self._read(workspace, now))
            self._reading[workspace] = reading
            reading.add_done_callback(lambda done: self._read_done(workspace, done))
        # Shielded: a request cancelled meanwhile does not cancel the others' read.
        return await asyncio.shield(reading)

    def _read_done(self, workspace: Workspace, done: asyncio.Task[Scope]) -> None:
        if self._reading.get(workspace) is done:
            del self._reading[workspace]

    async def _read(self, workspace: Workspace, now: float) -> Scope:
        """Read the workspace's settings into memory (of(): one read at a time)."""
        cached = self._cache.get(workspace)
        try:
            stored = await self.store.load(workspace)
        except Exception:  # the database briefly away: what was read last, else the defaults
            log.warning("workspace settings not read; using the last known", exc_info=True)
            return cached[0] if cached is not None else Scope(workspace, self.defaults, 0)
        version = stored.version if stored else 0
        if cached is not None and cached[0].version == version:
            got = cached[0]  # unchanged: nothing to decode again
        else:
            settings = self.defaults.overlaid(stored.values) if stored else self.defaults
            got = Scope(workspace, settings, version)
        if self._reading.get(workspace) is asyncio.current_task():
            self._cache[workspace] = (got, now)  # else forgotten meanwhile: read before a save
        return got

    async def enter(self, workspace: Workspace) -> Scope:
        """Name the request's workspace: its settings are in effect for the rest of it."""
        got = await self.of(workspace)
        _SCOPE.set(got)
        return got

    @contextlib.asynccontextmanager
    async def entered(self, workspace: Workspace) -> AsyncIterator[Scope]:
        """The workspace's settings in effect inside the block only (one HTTP connection
        may carry several requests, from several workspaces, in one task)."""
        token = _SCOPE.set(await self.of(workspace))
        try:
            got = _SCOPE.get()
            assert got is not None
            yield got
        finally:
            _SCOPE.reset(token)

    async def job_workspace(self, platform: str) -> Workspace | None:
        """The one workspace of `platform` with settings stored, if exactly one has (a
        deployment serving one workspace); looked up again once fresh no more."""
        now = self._ticks()
        cached = self._jobs.get(platform)
        if cached is None or now - cached[1] >= self._fresh_for:
            try:
                stored = await self.store.workspaces(platform, limit=2)  # one, or several?
            except Exception:  # the database briefly away: as last read, else the defaults
                log.warning("workspaces with settings not read", exc_info=True)
                return cached[0] if cached is not None else None
            cached = self._jobs[platform] = (stored[0] if len(stored) == 1 else None, now)
        return cached[0]

    async def for_platform(self, platform: str) -> WorkspaceSettings:
        """The settings a job outside any request uses for a platform: its workspace's
        when exactly one workspace of that platform stored settings, else the
        environment's."""
        workspace = await self.job_workspace(platform)
        return self.defaults if workspace is None else (await self.of(workspace)).settings

    def forget(self, workspace: Workspace) -> None:
        self._cache.pop(workspace, None)
        self._reading.pop(workspace, None)  # a read begun before a save is not joined
        self._jobs.pop(workspace.platform, None)

    # -- who may change them

    async def is_admin(self, user: UserRef, workspace: Workspace) -> bool:
        if is_listed(user, self.admins):
            return True
        directory = self.directories.get(workspace.platform)
        if directory is None or user.platform != workspace.platform:
            return False
        return await directory.is_admin(user, workspace)

    # -- the form

    async def form(self, user: UserRef) -> FormSpec | Refused:
        """The form for the request's workspace, for its admins only."""
        got = scope()
        if got is None:
            return Refused(NO_WORKSPACE)
        if not await self.is_admin(user, got.workspace):
            self._log_refused(user, got.workspace, ())
            return Refused(NOT_ADMIN, Why.NOT_ALLOWED)
        return settings_form(got.settings, got.workspace.platform, got.version)

    async def submit(
        self, *, user: UserRef, values: Values, state: Mapping[str, str]
    ) -> Changed | Conflict | Errors | Refused:
        """A submitted settings form: for an admin of the request's workspace, every
        setting it changes checked, then saved with its change log and its announcement
        in one transaction; anyone else changes nothing (and is logged)."""
        got = scope()
        if got is None:
            return Refused(NO_WORKSPACE)
        workspace = got.workspace
        if not await self.is_admin(user, workspace):
            self._log_refused(user, workspace, values)
            return Refused(NOT_ADMIN, Why.NOT_ALLOWED)
        stored = await self.store.load(workspace)
        version = stored.version if stored else 0
        current = self.defaults.overlaid(stored.values) if stored else self.defaults
        raw_version = state.get("version", "")
        if not is_number(raw_version) or int(raw_version) != version:
            self.forget(workspace)
            return Conflict(settings_form(current, workspace.platform, version))
        parsed, errors = await self._parse(workspace, values, current)
        if errors:
            return errors
        at = self._clock.now()
        changes = tuple(
            SettingChange(key, current.value(key), new, user, at, user.platform)
            for key, new in parsed.items()
            if new != current.value(key)
        )
        if not changes:
            return Changed(())
        kept = {**(stored.values if stored else {}), **{c.key: c.new for c in changes}}
        after = self.defaults.overlaid(kept)
        saved = await self.store.save(
            workspace=workspace,
            values=kept,
            expected_version=version,
            changes=changes,
            notifications=self._announcement(workspace, current, after, changes, version + 1),
        )
        self.forget(workspace)
        if saved is None:
            fresh = await self.of(workspace)
            return Conflict(settings_form(fresh.settings, workspace.platform, fresh.version))
        _SCOPE.set(Scope(workspace, after, saved))  # the rest of this request sees them
        return Changed(changes)

    async def _parse(
        self, workspace: Workspace, values: Values, current: WorkspaceSettings
    ) -> tuple[dict[str, Any], Errors]:
        """The value each editable setting would take (JSON), and what to fix."""
        out: dict[str, Any] = {}
        errors: Errors = {}
        for setting in editable(workspace.platform):
            if setting.key not in values:  # not on the form sent: left as it is
                continue
            raw = (values.get(setting.key) or "").strip()
            got = await self._parse_one(workspace, setting, raw, current)
            if isinstance(got, _Problem):
                errors[setting.key] = got.message
            else:
                out[setting.key] = got
        return out, errors

    async def _parse_one(
        self, workspace: Workspace, setting: Setting, raw: str, current: WorkspaceSettings
    ) -> Any:
        kind = setting.kind
        if kind is Kind.PEOPLE:
            people = sorted({p for p in re.split(r"[\s,]+", raw) if p})
            if len(people) > MAX_PEOPLE:
                return _Problem(TOO_MANY.format(n=MAX_PEOPLE))
            if not all(_person_id(workspace.platform, p) for p in people):
                return _Problem(NOT_PEOPLE)
            listed: list[str] = current.value(setting.key)
            # Ids the form cannot show (another platform's, listed in the environment)
            # are kept: this form only speaks for this platform's people. An id listed
            # as "slack:U…" stays written so while it is still picked.
            others = [p for p in listed if not _mine(workspace.platform, p)]
            kept = {p.partition(":")[2]: p for p in listed if ":" in p}
            return sorted({*(kept.get(p, p) for p in people), *others})
        if kind is Kind.CHANNEL:
            if not raw:
                return None
            problem = await self._channel_problem(workspace, raw, current.value(setting.key))
            return problem or raw
        if kind is Kind.REGION_CHANNELS:
            return await self._region_channels(workspace, raw, current.region_channels)
        if kind is Kind.TARGET:
            if not is_number(raw) or len(raw) > 4 or int(raw) > MAX_TARGET:
                return _Problem(NOT_A_TARGET)
            return int(raw)
        return raw if raw and _zone_ok(raw) else _Problem(NOT_A_ZONE)

    async def _channel_problem(
        self, workspace: Workspace, channel: str, unchanged: str | None
    ) -> _Problem | None:
        if channel == unchanged:
            return None  # a channel kept as it was is not asked about again
        if not re.fullmatch(r"[CG][A-Z0-9]{2,20}", channel):
            return _Problem(NOT_A_CHANNEL)
        directory = self.directories.get(workspace.platform)
        if directory is None:  # the console has no channels to post to; others must ask
            return None if workspace.platform == "console" else _Problem(UNCHECKED)
        state = await directory.channel(channel, workspace)
        return None if state is ChannelState.POSTABLE else _Problem(CHANNEL_REFUSAL[state])

    async def _region_channels(
        self, workspace: Workspace, raw: str, current: Mapping[str, str]
    ) -> dict[str, str] | _Problem:
        known = set(await self._regions()) if self._regions is not None else None
        out: dict[str, str] = {}
        for line in (x.strip() for x in raw.splitlines()):
            if not line:
                continue
            code, sep, channel = (p.strip() for p in line.partition("="))
            code = code.upper()
            if not sep or not code or (known is not None and code not in known):
                return _Problem(f"{BAD_REGION_LINE} ({line[:40]})")
            problem = await self._channel_problem(workspace, channel, current.get(code))
            if problem is not None:
                return _Problem(f"{code}: {problem.message}")
            out[code] = channel
        if len(out) > MAX_REGION_CHANNELS:
            return _Problem(TOO_MANY.format(n=MAX_REGION_CHANNELS))
        return dict(sorted(out.items()))

    def _announcement(
        self,
        workspace: Workspace,
        before: WorkspaceSettings,
        after: WorkspaceSettings,
        changes: Sequence[SettingChange],
        version: int,
    ) -> list[Notification]:
        """The change, told to the workspace's triage channel as it is after the change
        (the one before, when the change leaves none). Teams' is the conversation chosen
        in the channel ("use this channel for triage")."""
        slack_triage = after.triage_channel or before.triage_channel
        target = "triage" if workspace.platform == "teams" else slack_triage
        if not target or workspace.platform not in ("slack", "teams"):
            return []
        # Plain ids: every platform renders a digest's lines as text.
        lines = (*(change_line(c) for c in changes), f"By {changes[0].by.id}.")
        org = workspace.enterprise_id or "-"
        return [
            Notification(
                platform=workspace.platform,
                kind="post",
                target=target,
                dedupe_key=f"settings:{workspace.platform}:{org}:{workspace.team_id}:v{version}",
                payload=Digest(ANNOUNCE_TITLE, lines).encode(),
                lane=Lane.INTERACTIVE,
            )
        ]

    @staticmethod
    def _log_refused(user: UserRef, workspace: Workspace, values: Iterable[str]) -> None:
        # Which settings were in the payload, never what they held (a forged payload can
        # carry anything).
        log.warning(
            "settings change refused: not an admin",
            extra={
                "user": user.id,
                "platform": user.platform,
                "workspace": workspace.team_id,
                "fields": sorted(k for k in values if k in BY_KEY),
            },
        )


@dataclass(frozen=True, slots=True)
class _Problem:
    message: str


def _person_id(platform: str, raw: str) -> bool:
    """A person of `platform` (the console's may be either platform's)."""
    return is_user_id(raw) and len(raw) <= 64 and _mine(platform, raw)


def _mine(platform: str, listed: str) -> bool:
    """Is an id listed in a setting one the form of `platform` shows?"""
    if platform == "console":  # the local console acts as anyone
        return True
    prefix, sep, _ = listed.partition(":")
    if sep and prefix in ("slack", "teams"):
        return prefix == platform
    return platform_of(listed) == platform


def _shown(value: Any) -> str:
    if value is None or value == [] or value == {}:
        return "none"
    if isinstance(value, list):
        return ", ".join(str(p) for p in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    return str(value)


def change_line(change: SettingChange) -> str:
    """One change as told: the setting, from what, to what."""
    return f"{BY_KEY[change.key].label}: {_shown(change.old)} → {_shown(change.new)}"


def settings_form(settings: WorkspaceSettings, platform: str, version: int) -> FormSpec:
    """The settings form, filled in with the settings in effect."""
    out: list[FormField] = []
    for s in editable(platform):
        value = settings.value(s.key)
        if s.kind is Kind.PEOPLE:
            kind, initial = FieldKind.USERS, "\n".join(p for p in value if _mine(platform, p))
            initial = "\n".join(p.partition(":")[2] or p for p in initial.split("\n") if p)
        elif s.kind is Kind.CHANNEL:
            kind, initial = FieldKind.CHANNEL, value or ""
        elif s.kind is Kind.REGION_CHANNELS:
            kind, initial = FieldKind.MULTILINE, "\n".join(f"{k}={v}" for k, v in value.items())
        elif s.kind is Kind.TARGET:
            kind, initial = FieldKind.NUMBER, str(value)
        else:
            kind, initial = FieldKind.TEXT, value
        required = s.kind in (Kind.TARGET, Kind.TIMEZONE)
        out.append(FormField(s.key, s.label, kind, required, initial=initial or None, hint=s.hint))
    return FormSpec(
        FormId.SETTINGS,
        FORM_TITLE,
        SUBMIT,
        tuple(out),
        intro=TEAMS_CHANNELS if platform == "teams" else None,
        state={"version": str(version)},
    )


def defaults_from(source: object) -> WorkspaceSettings:
    """The environment's settings: the attributes of `source` (handlers/config.Settings)
    named like WorkspaceSettings' fields."""
    names = [f.name for f in fields(WorkspaceSettings)]
    return WorkspaceSettings(**{n: getattr(source, n) for n in names if hasattr(source, n)})
