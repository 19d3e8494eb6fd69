"""House rules of DESIGN.md that code can check: imports point inward."""

from __future__ import annotations

import ast
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
