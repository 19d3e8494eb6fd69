"""The Teams manifest validates against the schema of the version it declares, lists the
commands the bot answers, and the app package builds with the bot id."""

from __future__ import annotations

import json
import struct
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.commands import COMMANDS
from handlers.cli import main
from handlers.teams.package import MANIFEST_DIR, manifest_for
from tests.conftest import ROOT

SCHEMAS = ROOT / "tests" / "schemas"
APP_ID = "11111111-2222-3333-4444-555555555555"


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_manifest_is_valid_for_its_declared_version() -> None:
    from jsonschema import Draft4Validator

    manifest = manifest_for(APP_ID)
    version = manifest["manifestVersion"]
    schema_file = SCHEMAS / f"teams-manifest-v{version}.schema.json"
    assert schema_file.exists(), f"no schema for manifestVersion {version}"
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    errors = sorted(Draft4Validator(schema).iter_errors(manifest), key=str)
    assert not errors, [e.message for e in errors]


def test_manifest_commands_are_the_command_table() -> None:
    manifest = manifest_for(APP_ID)
    [bot] = manifest["bots"]
    assert bot["botId"] == manifest["id"] == APP_ID
    titles = [c["title"] for lst in bot["commandLists"] for c in lst["commands"]]
    assert titles == [c.name for c in COMMANDS] + ["help"]
    assert len({s for lst in bot["commandLists"] for s in lst["scopes"]}) == sum(
        len(lst["scopes"]) for lst in bot["commandLists"]
    )  # one list per scope


def test_icons_have_the_required_sizes() -> None:
    assert png_size((MANIFEST_DIR / "color.png").read_bytes()) == (192, 192)
    assert png_size((MANIFEST_DIR / "outline.png").read_bytes()) == (32, 32)


def test_cli_builds_the_app_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "app.zip"
    monkeypatch.delenv("MICROSOFT_APP_ID", raising=False)
    refused = CliRunner().invoke(main, ["manifest", "teams", "--out", str(out)])
    assert refused.exit_code == 1 and "MICROSOFT_APP_ID" in refused.output
    monkeypatch.setenv("MICROSOFT_APP_ID", APP_ID)
    result = CliRunner().invoke(main, ["manifest", "teams", "--out", str(out)])
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(out) as zf:
        assert sorted(zf.namelist()) == ["color.png", "manifest.json", "outline.png"]
        manifest = json.loads(zf.read("manifest.json"))
        assert png_size(zf.read("color.png")) == (192, 192)
    assert manifest["id"] == manifest["bots"][0]["botId"] == APP_ID


def test_a_non_guid_app_id_is_one_line_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "app.zip"
    monkeypatch.setenv("MICROSOFT_APP_ID", "my-bot")
    result = CliRunner().invoke(main, ["manifest", "teams", "--out", str(out)])
    assert isinstance(result.exception, SystemExit) and result.exit_code == 1
    [line] = result.output.splitlines()
    assert "MICROSOFT_APP_ID" in line and "GUID" in line and "'my-bot'" in line
    assert not out.exists()
