"""Start the desktop app: ``backprop-playground [GRAPH | EXAMPLE] [options]``.

Besides opening the window: ``--smoke`` (open, train a few steps, close: for CI and packagers),
``--first-paint`` (print the time from process start to the window's first paint, exit),
``--install-desktop`` / ``--uninstall-desktop`` (menu entry and icons for the current user;
no Qt is loaded for those).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

from .. import __version__

DEFAULT_EXAMPLE = "digits_mlp"
SMOKE_EXAMPLE = "moons_mlp"  # small, trains one epoch in well under a second
SMOKE_TIMEOUT_MS = 60_000

_T_IMPORT = time.perf_counter()  # fallback start time where /proc is missing


def seconds_since_process_start() -> float:
    """Seconds since this process was started (Linux: /proc/self/stat, 10 ms resolution),
    else since this module was imported."""
    try:
        stat = Path("/proc/self/stat").read_text()
        fields = stat[stat.rindex(")") + 2:].split()
        start = int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22: start time after boot
        return time.clock_gettime(time.CLOCK_BOOTTIME) - start
    except (OSError, ValueError, IndexError, AttributeError):
        return time.perf_counter() - _T_IMPORT


WINDOW_USAGE = ("backprop-playground [GRAPH | EXAMPLE] [--no-restore] [--smoke | --first-paint]\n"
                "       backprop-playground --install-desktop | --uninstall-desktop | --version\n"
                "       backprop-playground COMMAND ...   (no window: see the commands below)")


def build_parser(commands: bool = True) -> argparse.ArgumentParser:
    """The window's options; with ``commands`` its help also lists the command-line commands
    handed to :mod:`playground.cli` (building that list costs ~0.1 s: only for ``--help``)."""
    epilog = None
    if commands:
        from ..cli import command_summaries

        summaries = command_summaries()
        width = max(len(name) for name, _ in summaries)
        epilog = ("commands (no window; `backprop-playground COMMAND --help` for each):\n"
                  + "\n".join(f"  {name:<{width}}  {text}" for name, text in summaries))
    p = argparse.ArgumentParser(
        prog="backprop-playground", usage=WINDOW_USAGE,
        description="Backprop Playground: build a neural network as a computational graph,\n"
                    "watch values and gradients flow through it, and train it.",
        epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("graph", nargs="?", help="a graph file or a bundled example name to open "
                                            f"(default: {DEFAULT_EXAMPLE})")
    p.add_argument("--version", action="version", version=f"Backprop Playground {__version__}")
    p.add_argument("--smoke", action="store_true",
                   help=f"open the window (on {SMOKE_EXAMPLE} unless GRAPH is given), train one "
                        "epoch, close; exit 0 if all worked (offscreen when there is no display)")
    p.add_argument("--first-paint", action="store_true",
                   help="print the seconds from process start to the window's first paint, exit")
    p.add_argument("--no-restore", action="store_true", help="do not offer to restore a crashed session")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--install-desktop", action="store_true",
                   help="add the menu entry, icons and AppStream metainfo for the current user")
    g.add_argument("--uninstall-desktop", action="store_true",
                   help="remove what --install-desktop added")
    return p


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    args = list(argv)
    return build_parser(commands="-h" in args or "--help" in args).parse_args(args)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.install_desktop or args.uninstall_desktop:
        from ..desktop import main as desktop_main

        return desktop_main("install" if args.install_desktop else "uninstall")
    check = args.smoke or args.first_paint
    os.environ.setdefault("LANG", "C.UTF-8")
    from ..display import display_problem

    problem = display_problem()  # before Qt, which would abort with a misleading paragraph
    if problem and check and not os.environ.get("QT_QPA_PLATFORM"):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"  # a check needs no display
    elif problem:
        print(problem, file=sys.stderr)
        return 1
    from PySide6.QtCore import QSettings
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from ..desktop import APP_ID
    from ..resources import example_names, icon_path
    from .mainwindow import MainWindow

    sys.setswitchinterval(0.001)  # the GUI thread waits at most 1 ms for the worker's GIL
    app = cast(QApplication, QApplication.instance() or QApplication(sys.argv[:1]))
    from . import collector

    collector.install()  # Python's garbage collector runs on the GUI thread only
    app.setApplicationName("Backprop Playground")
    app.setOrganizationName("BackpropPlayground")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName(APP_ID)  # Wayland app id / X11 hint: matches the installed .desktop
    if icon_path().is_file():
        app.setWindowIcon(QIcon(str(icon_path())))
    # Qt's offscreen platform crashes at exit while the clipboard holds our QMimeData
    app.aboutToQuit.connect(lambda: app.clipboard().clear() if app.platformName() == "offscreen" else None)

    if args.smoke:
        _record_slot_errors()
    scratch = tempfile.TemporaryDirectory(prefix="backprop-playground-") if check else None
    try:
        # checks keep their settings (geometry, recent files) away from the user's
        settings = (QSettings(str(Path(scratch.name) / "settings.ini"), QSettings.Format.IniFormat)
                    if scratch else None)
        window = MainWindow(settings)
        errors: list[str] = []
        if check:  # a check never waits on a dialog: it reports and exits
            window.show_error = (  # type: ignore[method-assign]
                lambda title, text: errors.append(" ".join(f"{title}: {text}".split())))
        restored = False if (check or args.no_restore) else window.files.offer_recovery()
        if not restored:
            target = args.graph or (SMOKE_EXAMPLE if args.smoke else DEFAULT_EXAMPLE)
            if target in example_names() and not Path(target).is_file():
                opened = window.open_example(target)
            else:
                opened = window.open_file(target)
            if check and opened is False:
                why = errors[-1] if errors else f"cannot open {target}"
                print(f"{'smoke' if args.smoke else 'first-paint'}: FAILED: {why}")
                return 1
        if args.first_paint:
            return _first_paint(app, window)
        window.show()
        if args.smoke:
            return _smoke(app, window)
        from PySide6.QtCore import QTimer

        QTimer.singleShot(FREEZE_AFTER_MS, freeze_startup_objects)
        return app.exec()
    finally:
        if scratch is not None:
            scratch.cleanup()


FREEZE_AFTER_MS = 3000  # after start-up's late imports (scikit-learn for the thumbnails)


def freeze_startup_objects() -> int:
    """Collect once, then move every object alive now (modules, classes, the window's widgets:
    ~150,000 of them) out of the garbage collector's reach. A full collection then takes well
    under a millisecond instead of ~60 ms, which showed as a stutter while dragging nodes and
    stalls training (a collection holds the GIL). Returns how many objects were frozen."""
    import gc

    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


_SLOT_ERRORS: list[str] = []


def _record_slot_errors() -> None:
    """Qt prints an exception raised in a slot and carries on; a smoke run counts them."""
    previous = sys.excepthook

    def hook(kind: type[BaseException], exc: BaseException, tb: Any) -> None:
        _SLOT_ERRORS.append(f"{kind.__name__}: {exc}")
        previous(kind, exc, tb)

    sys.excepthook = hook


def _close(window: Any) -> None:
    import shiboken6
    from PySide6.QtWidgets import QApplication

    if not shiboken6.isValid(window):  # quitting closed (and so deleted) it already
        return
    for doc in window.session.document_chain():
        doc.forget_changes()  # never ask to save
    window.close()
    QApplication.processEvents()


def _first_paint(app: Any, window: Any) -> int:
    """Show the window, note the first paint event of any of its widgets, quit."""
    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtWidgets import QWidget

    class PaintWatch(QObject):
        at: float | None = None

        def eventFilter(self, obj: QObject, event: QEvent) -> bool:
            if (self.at is None and event.type() == QEvent.Type.Paint
                    and isinstance(obj, QWidget) and obj.window() is window):
                self.at = seconds_since_process_start()
                QTimer.singleShot(0, app.quit)  # after this frame is finished
            return False

    watch = PaintWatch()
    app.installEventFilter(watch)
    QTimer.singleShot(30_000, app.quit)
    window.show()
    app.exec()
    app.removeEventFilter(watch)
    import shiboken6

    if shiboken6.isValid(window):  # Qt 6's quit() closes the windows: this one deletes itself
        _close(window)
    if watch.at is None:
        print("first-paint: FAILED: the window was not painted within 30 s")
        return 1
    print(f"first-paint: {watch.at:.3f} s after process start (platform {app.platformName()})")
    return 0


def _smoke(app: Any, window: Any) -> int:
    """Paint, check the canvas mirrors the graph, train one epoch, close. 0 when all worked."""
    from PySide6.QtGui import QFontMetrics
    from PySide6.QtWidgets import QApplication

    QApplication.processEvents()
    problems: list[str] = []
    if not QFontMetrics(QApplication.font()).inFont("A"):  # else every glyph is a box, silently
        problems.append("no font has the letter A (install one, e.g. Debian's fonts-dejavu-core)")
    scene = window.scene
    model = window.document.model
    if scene is None or not len(scene.nodes) == len(model.nodes) > 0:
        problems.append(f"the canvas shows {len(scene.nodes) if scene else 0} of "
                        f"{len(model.nodes)} nodes")
    elif len(scene.edges) != len(model.edges):
        problems.append(f"the canvas shows {len(scene.edges)} of {len(model.edges)} wires")
    trained = _smoke_train(window, problems)
    _close(window)
    if _SLOT_ERRORS:
        problems.append(f"{len(_SLOT_ERRORS)} uncaught exception(s) in Qt slots, the first: "
                        f"{_SLOT_ERRORS[0]}")
    summary = f"{len(model.nodes)} nodes, {len(model.edges)} wires"
    if trained:
        summary += f"; {trained}"
    summary += f"; platform {app.platformName()}"
    if problems:
        print(f"smoke: FAILED ({summary}): {'; '.join(problems)}")
        return 1
    print(f"smoke: ok ({summary})")
    return 0


def _smoke_train(window: Any, problems: list[str]) -> str:
    """Train one epoch through the training panel; append to ``problems`` what went wrong."""
    from PySide6.QtCore import QEventLoop, QTimer

    runner, panel = window.session.runner, window.training
    messages: list[str] = []
    result: dict[str, str] = {}
    loop = QEventLoop()

    def on_finished(reason: str) -> None:
        result["reason"] = reason
        loop.quit()

    runner.finished.connect(on_finished)
    runner.status.connect(lambda text, _error: messages.append(text))
    panel.epochs.setValue(1)
    t0 = time.perf_counter()
    if not panel.start():
        problems.append("training did not start" + (f": {messages[-1]}" if messages else ""))
        return ""
    timer = QTimer()
    timer.setSingleShot(True)
    timer.timeout.connect(loop.quit)
    timer.start(SMOKE_TIMEOUT_MS)
    if "reason" not in result:
        loop.exec()
    timer.stop()
    seconds = time.perf_counter() - t0
    reason = result.get("reason")
    if reason is None:
        problems.append(f"training did not finish within {SMOKE_TIMEOUT_MS // 1000} s")
        runner.stop()
    elif reason != "completed":
        problems.append(f"training ended '{reason}'" + (f": {messages[-1]}" if messages else ""))
    elif len(runner.history) == 0:
        problems.append("training completed but recorded no metrics")
    last = runner.history.last
    if last is None:
        return ""
    text = f"trained {last.step} steps in {seconds:.2f} s"
    loss = last.train_loss if last.train_loss is not None else last.batch_loss
    text += f", loss {loss:.4f}"
    if last.val_accuracy is not None:
        text += f", val acc {100 * last.val_accuracy:.1f}%"
    return text
