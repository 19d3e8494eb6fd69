"""The Teams app package: manifests/teams/manifest.json with the bot id, and its icons."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path
from typing import Any

MANIFEST_DIR = Path(__file__).resolve().parents[2] / "manifests" / "teams"
PLACEHOLDER = "00000000-0000-0000-0000-000000000000"
_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


class AppIdError(ValueError):
    """MICROSOFT_APP_ID is not a GUID (Teams refuses such a manifest)."""


def manifest_for(app_id: str, directory: Path = MANIFEST_DIR) -> dict[str, Any]:
    if not _GUID.match(app_id):
        raise AppIdError(
            f"MICROSOFT_APP_ID must be the bot's Microsoft App ID, a GUID such as "
            f"00000000-0000-0000-0000-000000000000 (it is {app_id!r})"
        )
    data: dict[str, Any] = json.loads((directory / "manifest.json").read_text("utf-8"))
    data["id"] = app_id
    for part in (*data.get("bots", []), *data.get("composeExtensions", [])):
        part["botId"] = app_id
    return data


def build_package(out: Path, *, app_id: str, directory: Path = MANIFEST_DIR) -> Path:
    data = manifest_for(app_id, directory)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", json.dumps(data, indent=2, ensure_ascii=False))
        for icon in (data["icons"]["color"], data["icons"]["outline"]):
            zf.write(directory / icon, arcname=icon)
    return out
