"""House rules that code can check (docs/ARCHITECTURE.md): imports point inward, one place
per decision, and no file citing anything outside the repository."""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN_IN_BOT = (
    "slack_bolt",
    "slack_sdk",
    "microsoft_agents",
    "botbuilder",
    "aiohttp",
    "sqlmodel",
    "sqlalchemy",
    "handlers",
    "store",
)


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module.split(".")[0])
    return out


@pytest.mark.parametrize("path", sorted((ROOT / "bot").rglob("*.py")), ids=str)
def test_bot_is_platform_and_storage_neutral(path: Path) -> None:
    assert not imports(path) & set(FORBIDDEN_IN_BOT)


def test_store_never_imports_handlers() -> None:
    for path in (ROOT / "store").rglob("*.py"):
        assert "handlers" not in imports(path), path


def test_rapidfuzz_only_in_matching() -> None:
    users = {p.name for p in (ROOT / "bot").rglob("*.py") if "rapidfuzz" in imports(p)}
    users |= {
        str(p)
        for d in ("store", "handlers")
        for p in (ROOT / d).rglob("*.py")
        if "rapidfuzz" in imports(p)
    }
    assert users == {"matching.py"}


def test_every_module_says_what_it_owns() -> None:
    for d in ("bot", "store", "handlers"):
        for path in (ROOT / d).rglob("*.py"):
            if path.name == "__init__.py" and path.parent.name in ("versions", "migrations"):
                continue
            doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
            assert doc, f"{path} has no module docstring"


def _copy_constants() -> set[str]:
    """Module-level names in bot/ bound to user-facing copy (text with a space in it)."""
    names: set[str] = set()
    for path in (ROOT / "bot").rglob("*.py"):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Assign) and isinstance(
                node.value, ast.Constant | ast.JoinedStr
            ):
                value = node.value.value if isinstance(node.value, ast.Constant) else " "
                if isinstance(value, str) and " " in value:
                    names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return names


COPY_ATTRIBUTES = {"message", "text", "fallback", "title", "confirmation"}


def test_no_behaviour_depends_on_user_facing_copy() -> None:
    """Outcomes are decided from data: no comparison (==, !=, in) involves a copy constant
    or a reply's message/text, so rewording a message can never change what the bot does."""
    copy = _copy_constants()
    found = []
    for d in ("bot", "store", "handlers"):
        for path in (ROOT / d).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Compare):
                    continue
                for side in (node.left, *node.comparators):
                    if (
                        (isinstance(side, ast.Name) and side.id in copy)
                        or (
                            isinstance(side, ast.Attribute)
                            and side.attr in COPY_ATTRIBUTES
                            # ActivityTypes.message is an enum member, not a message's text
                            and not (
                                isinstance(side.value, ast.Name) and side.value.id[:1].isupper()
                            )
                        )
                    ):
                        found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not found, found


def test_notifiers_decode_payloads_instead_of_reading_fields() -> None:
    """The notifiers get typed payloads from bot.payloads.decode: they never read an outbox
    payload's fields or a dedupe key's parts by hand."""
    for path in (ROOT / "handlers").rglob("notifier.py"):
        text = path.read_text(encoding="utf-8")
        for needle in ("payload[", "payload.get(", "dedupe_key.split", "dedupe_key.endswith"):
            assert needle not in text, f"{path.relative_to(ROOT)} reads {needle}…"
        assert "in message.dedupe_key" not in text, path


def _module_of(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_no_import_cycles() -> None:
    """bot/, store/ and handlers/ import each other without cycles (type-only imports too)."""
    graph: dict[str, set[str]] = {}
    for d in ("bot", "store", "handlers"):
        for path in (ROOT / d).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            deps: set[str] = set()
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    deps.add(node.module)
                elif isinstance(node, ast.Import):
                    deps |= {a.name for a in node.names}
            graph[_module_of(path)] = {
                m for m in deps if m.split(".")[0] in {"bot", "store", "handlers"}
            }
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(module: str, stack: list[str]) -> None:
        state[module] = 1
        for dep in sorted(graph.get(module, ())):
            if dep not in graph:
                continue
            if state.get(dep) == 1:
                cycles.append([*stack[stack.index(dep) :], dep] if dep in stack else [module, dep])
            elif dep not in state:
                visit(dep, [*stack, dep])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not cycles, cycles


def test_slack_listeners_only_parse_decide_and_render() -> None:
    """Each Slack listener is a few lines (parse -> bot.interactions -> render): whatever
    decides lives in bot/, whatever draws lives in the renderers."""
    tree = ast.parse((ROOT / "handlers" / "slack" / "listeners.py").read_text(encoding="utf-8"))
    listeners = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.AsyncFunctionDef)
        and any(
            isinstance(d.func if isinstance(d, ast.Call) else d, ast.Attribute)
            for d in node.decorator_list  # @app.command(...), @app.error
        )
    ]
    assert len(listeners) >= 7
    for node in listeners:
        body = node.body[1:] if ast.get_docstring(node) else node.body
        lines = body[-1].end_lineno - body[0].lineno + 1  # type: ignore[operator]
        assert lines <= 10, f"{node.name} has {lines} lines"


def test_teams_has_no_decisions_of_its_own() -> None:
    """The Teams bot hands every press and submission to bot.interactions: it has no
    per-verb methods deciding or submitting anything."""
    from handlers.teams.bot import TeamsBot

    own = [n for n in vars(TeamsBot) if n.startswith("_") and not n.startswith("__")]
    verbs = ("_decide", "_submit", "_edit", "_verify", "_briefing", "_search", "_triage")
    assert not [n for n in own if n.startswith(verbs) and n != "_submit_fallback"], own


# Written in pieces so that this file does not cite them itself.
OUTSIDE_REFERENCES = ("DESIGN" + ".md", "PLATFORM" + "-FACTS", "../" + "shared", "/" + "work/")


def _repository_files() -> list[Path]:
    """Every file of the repository: what git tracks or would add (so caches it ignores,
    holding this machine's paths, are not the repository's), or every file but .git and
    .venv where there is no git."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return [
            p
            for p in ROOT.rglob("*")
            if p.is_file() and not {".git", ".venv"} & set(p.relative_to(ROOT).parts)
        ]
    names = [n for n in listed.decode().split("\0") if n]
    return [ROOT / n for n in names if (ROOT / n).is_file()]


def test_no_file_cites_anything_outside_the_repository() -> None:
    """A newcomer has only the repository: no file may point at notes or schemas beside it."""
    files = _repository_files()
    assert len(files) > 100  # the listing itself worked
    found = [
        f"{path.relative_to(ROOT)}: {needle}"
        for path in files
        for needle in OUTSIDE_REFERENCES
        if needle.encode() in path.read_bytes()
    ]
    assert not found, found


MIGRATIONS = ROOT / "store" / "migrations" / "versions"


@pytest.mark.parametrize(
    "path",
    # From 0019 on; 0016 still reads bot.matching's tokenizer.
    [p for p in sorted(MIGRATIONS.glob("0*.py")) if p.name >= "0019"],
    ids=lambda p: p.name,
)
def test_a_migration_keeps_its_own_copy_of_what_it_computes(path: Path) -> None:
    """A migration that imported the code it runs would change when that code does, and
    databases migrated before and after would differ."""
    assert not imports(path) & {"bot", "store", "handlers"}
