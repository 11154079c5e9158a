"""``python -m playground``: the window, or a CLI command (train, eval, check, ...).

``--help`` is the window's: its options and the commands it hands over to :mod:`.cli`."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path


def _wants_window(args: list[str]) -> bool:
    """No arguments, a graph file or example to open, or a window option."""
    from .cli import COMMANDS
    from .resources import example_names

    if not args:
        return True
    first = args[0]
    if first in COMMANDS or first == "--version":
        return False
    if first.startswith("-"):
        return True
    return Path(first).is_file() or first in example_names()


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not _wants_window(args):
        from .cli import main as cli_main

        return cli_main(args)
    from .ui.app import main as gui_main

    return gui_main(args)


if __name__ == "__main__":
    sys.exit(main())
