"""`make demo`: migrate, load the demo catalog, start the server and wait until it answers,
then the console in front. Any step that fails says so and exits non-zero."""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

READY_WITHIN = 60.0  # seconds for the server to answer /healthz (the demo needs ~1-3)
LOG_TAIL = 15


def _salesbridge(*args: str) -> list[str]:
    return [sys.executable, "-m", "handlers.launch", *args]


def port_problem(host: str, port: int) -> str | None:
    """Why `port` cannot be served on, or None. Binds as aiohttp will (SO_REUSEADDR), so a
    port left in TIME_WAIT by a previous run counts as free, one another process listens on
    does not."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            return (
                f"Port {port} is already in use ({exc.strerror}): stop whatever listens on it, "
                f"or choose another port: make demo PORT={port + 1}"
            )
    return None


def _tail(log: Path) -> str:
    try:
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return "(no log was written)"
    return "\n".join("  " + line for line in lines[-LOG_TAIL:]) or "  (the log is empty)"


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as answer:
            return bool(answer.status == 200)
    except (OSError, urllib.error.URLError):
        return False


def wait_until_serving(server: subprocess.Popen[bytes], port: int, log: Path) -> str | None:
    """None once the server answers /healthz; otherwise why not (it died, or never answered),
    with the end of its log."""
    deadline = time.monotonic() + READY_WITHIN
    while time.monotonic() < deadline:
        code = server.poll()
        if code is not None:
            return f"salesbridge serve stopped (exit {code}) before it answered:\n{_tail(log)}"
        if _healthy(port) and server.poll() is None:
            return None
        time.sleep(0.2)
    return f"salesbridge serve did not answer within {READY_WITHIN:.0f} s:\n{_tail(log)}"


def _step(*args: str, env: dict[str, str]) -> None:
    done = subprocess.run(_salesbridge(*args), env=env, check=False)
    if done.returncode != 0:
        print(f"make demo: `salesbridge {' '.join(args)}` failed.", file=sys.stderr)
        raise SystemExit(done.returncode or 1)


def _stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make demo", description=__doc__)
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT") or 3000))
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--catalog", type=Path, default=Path("catalog/demo.yaml"))
    parser.add_argument("--log", type=Path, default=Path(".demo-serve.log"))
    args = parser.parse_args(argv)

    problem = port_problem(args.host, args.port)
    if problem is not None:
        print(f"make demo: {problem}", file=sys.stderr)
        return 1
    # The set-up steps' own logs (Alembic's among them) are noise before the prompt; an
    # explicit LOG_LEVEL still wins.
    quiet = {**os.environ, "LOG_LEVEL": os.environ.get("LOG_LEVEL") or "WARNING"}
    try:
        _step("db", "upgrade", env=quiet)
        _step("catalog", "import", str(args.catalog), env=quiet)
    except SystemExit as exc:
        return int(exc.code or 1)

    with args.log.open("wb") as log:
        server = subprocess.Popen(
            _salesbridge("serve", "--host", args.host, "--port", str(args.port)),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        failed = wait_until_serving(server, args.port, args.log)
        if failed is not None:
            print(f"make demo: {failed}", file=sys.stderr)
            return 1
        print(f"Serving on http://localhost:{args.port} (GET /healthz; log in {args.log})")
        with contextlib.suppress(KeyboardInterrupt):
            return subprocess.run(_salesbridge("chat"), env=quiet, check=False).returncode
        return 0
    finally:
        _stop(server)


if __name__ == "__main__":
    sys.exit(main())
