"""Start the desktop app: ``backprop-playground [GRAPH | EXAMPLE] [--smoke]``."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from .. import __version__

DEFAULT_EXAMPLE = "digits_mlp"


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="backprop-playground", description="Backprop Playground")
    p.add_argument("graph", nargs="?", help="a graph file or a bundled example name")
    p.add_argument("--version", action="version", version=f"Backprop Playground {__version__}")
    p.add_argument("--smoke", action="store_true",
                   help="open the window on an example, check it works, close, exit 0")
    p.add_argument("--no-restore", action="store_true", help="do not offer to restore a crashed session")
    return p.parse_args(list(argv))


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("LANG", "C.UTF-8")
    if args.smoke and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from ..resources import example_names, example_path
    from .mainwindow import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Backprop Playground")
    app.setOrganizationName("BackpropPlayground")
    app.setApplicationVersion(__version__)
    # Qt's offscreen platform crashes at exit while the clipboard holds our QMimeData
    app.aboutToQuit.connect(lambda: app.clipboard().clear() if app.platformName() == "offscreen" else None)
    window = MainWindow()
    restored = False if (args.smoke or args.no_restore) else window.offer_recovery()
    if not restored:
        target = args.graph or DEFAULT_EXAMPLE
        if target in example_names() and not Path(target).is_file():
            window.open_example(target)
        else:
            window.open_file(target)
    window.show()
    if args.smoke:
        return _smoke(app, window)
    return app.exec()


def _smoke(app: object, window: object) -> int:
    """Paint once, check the canvas shows the graph, close."""
    from PySide6.QtWidgets import QApplication

    QApplication.processEvents()
    scene = window.scene  # type: ignore[attr-defined]
    model = window.document.model  # type: ignore[attr-defined]
    ok = scene is not None and len(scene.nodes) == len(model.nodes) > 0
    ok = ok and len(scene.edges) == len(model.edges)
    window.document.undo.setClean()  # type: ignore[attr-defined]
    window.close()  # type: ignore[attr-defined]
    QApplication.processEvents()
    print(f"smoke: {'ok' if ok else 'FAILED'} ({len(model.nodes)} nodes, {len(model.edges)} wires)")
    return 0 if ok else 1
