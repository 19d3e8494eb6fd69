"""The `salesbridge` executable: the CLI, with the cyclic collector off while it starts."""

from __future__ import annotations

import gc


def main() -> None:
    # Start-up creates hundreds of thousands of objects that live as long as the process
    # (modules, then the catalog and its index); meanwhile the cyclic collector would walk
    # them again and again (three full passes, ~0.3 s of start-up). The CLI
    # switches it back on for every command but `serve`, whose start-up hook does so once
    # the index is built and frozen (handlers.app). Importing the CLI here, after the
    # switch, is the point of this module; tests import handlers.cli without it.
    gc.disable()
    from handlers.cli import main as cli

    cli()


if __name__ == "__main__":
    main()
