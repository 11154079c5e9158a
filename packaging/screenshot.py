"""Take a screenshot of the main window on a bundled example (for the README and for looking
at the app): ``python packaging/screenshot.py digits_mlp out.png [--size 1400x860] [--dark]``.

Run it under Xvfb for the real X11 platform (``xvfb-run -a -s "-screen 0 1600x1000x24" ...``)
or with QT_QPA_PLATFORM=offscreen."""

from __future__ import annotations

import argparse
import sys
import tempfile

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication


def dark_palette() -> QPalette:
    p = QPalette()
    for role, colour in ((QPalette.ColorRole.Window, "#2b2d31"), (QPalette.ColorRole.WindowText, "#e6e6e6"),
                         (QPalette.ColorRole.Base, "#1f2023"), (QPalette.ColorRole.AlternateBase, "#2b2d31"),
                         (QPalette.ColorRole.Text, "#e6e6e6"), (QPalette.ColorRole.Button, "#33363b"),
                         (QPalette.ColorRole.ButtonText, "#e6e6e6"), (QPalette.ColorRole.Highlight, "#3d6fb6"),
                         (QPalette.ColorRole.HighlightedText, "#ffffff"), (QPalette.ColorRole.ToolTipBase, "#33363b"),
                         (QPalette.ColorRole.ToolTipText, "#e6e6e6"), (QPalette.ColorRole.PlaceholderText, "#8a8f98")):
        p.setColor(role, QColor(colour))
    # disabled widgets (locked actions, tabs that do not apply) look disabled, as in a real theme
    disabled = QPalette.ColorGroup.Disabled
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        p.setColor(disabled, role, QColor("#7d8189"))
    p.setColor(disabled, QPalette.ColorRole.Base, QColor("#26282c"))
    return p


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("example")
    ap.add_argument("out")
    ap.add_argument("--size", default="1400x860")
    ap.add_argument("--dark", action="store_true", help="a dark desktop theme")
    ap.add_argument("--select", help="select this node (the inspector shows it)")
    ap.add_argument("--train", type=float, default=0.0, help="train for this many seconds first")
    ap.add_argument("--tab", default="Loss", help="the plots tab to show when training")
    ap.add_argument("--epochs", type=int, default=0, help="epochs for the run (default: the example's)")
    ap.add_argument("--speed", type=float, default=0.0,
                    help="steps a second for the run (slow motion; default: as fast as possible)")
    ap.add_argument("--pause", action="store_true", help="pause the run before the shot")
    args = ap.parse_args()
    app = QApplication(sys.argv[:1])
    app.setStyle("Fusion")
    if args.dark:
        app.setPalette(dark_palette())
    from playground.ui.mainwindow import MainWindow

    settings = QSettings(tempfile.mktemp(suffix=".ini"), QSettings.Format.IniFormat)
    w = MainWindow(settings)
    width, height = (int(v) for v in args.size.split("x"))
    w.resize(width, height)
    w.show()
    w.open_example(args.example)
    if args.select:
        model = w.document.model
        w.scene.nodes[model.by_name(args.select).id].setSelected(True)

    def shoot() -> None:
        if not args.train:
            w.view.fit()
        if args.train:
            names = list(w.plots.TAB_NAMES)
            w.plots.tabs.setCurrentIndex(names.index(args.tab))
            w.docks["training"].raise_()
            w.plots.redraw()
        app.processEvents()
        w.grab().save(args.out)
        print("saved", args.out, app.platformName())
        w.session.runner.stop()
        w.document.forget_changes()
        w.close()
        app.quit()

    if args.train:
        if args.epochs:
            w.training.epochs.setValue(args.epochs)
        if args.speed:
            w.run_bar.set_rate(args.speed)
        w.training.start()
        w.view.fit()
        # mid-training: the shot is taken while the run goes on (--pause: paused first)
        after = (lambda: (w.session.runner.controller.pause(), QTimer.singleShot(400, shoot))
                 ) if args.pause else shoot
        QTimer.singleShot(int(1000 * args.train), after)
    else:
        QTimer.singleShot(300, shoot)
    app.exec()
    return 0


if __name__ == "__main__":
    sys.exit(main())
