"""Take a screenshot of the main window on a bundled example (for the README and for looking
at the app): ``python packaging/screenshot.py digits_mlp out.png [--size 1366x768] [--dark]``.

Run it under Xvfb for the real X11 platform (``xvfb-run -a -s "-screen 0 1366x768x24" ...``)
or with QT_QPA_PLATFORM=offscreen. The README's pictures (all but presentation.png):

    python packaging/screenshot.py square_of_sum resources/screenshots/explain.png \\
        --lesson 6 --steps 5 --select q
    python packaging/screenshot.py digits_mlp resources/screenshots/canvas.png --evaluate
    python packaging/screenshot.py moons_mlp resources/screenshots/training.png --train 6 \\
        --speed 8 --live --epochs 40
    python packaging/screenshot.py digits_mlp resources/screenshots/health.png --train 4 \\
        --epochs 40 --tab Gradients
    python packaging/screenshot.py moons_mlp resources/screenshots/compare.png --epochs 15 \\
        --compare sgd:0.1,adam:0.002,momentum:0.05 --train 1 --tab Accuracy
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from typing import Any

from PySide6.QtCore import QSettings, QStandardPaths, QTimer
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


def compare_runs(w: Any, spec: str) -> None:
    """Train a run to its end per ``optimizer:lr`` in ``spec``, each followed by Reset (it
    stays as a faded run), then put the example's own optimizer and learning rate back."""
    from PySide6.QtCore import QEventLoop

    panel = w.training
    optimizer, lr = panel.optimizer.currentText(), panel.lr.text()

    def settings(opt: str, rate: str) -> None:
        panel.optimizer.setCurrentText(opt)
        panel.lr.setText(rate)
        panel.lr.editingFinished.emit()

    for item in spec.split(","):
        opt, _, rate = item.partition(":")
        settings(opt, rate)
        loop = QEventLoop()
        w.session.runner.controller.finished.connect(loop.quit)
        if not panel.start():
            raise SystemExit(f"the run {item} did not start: {panel.status.text()}")
        loop.exec()
        w.session.runner.controller.finished.disconnect(loop.quit)
        w.run_bar.reset_button.click()
    settings(optimizer, lr)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("example")
    ap.add_argument("out")
    ap.add_argument("--size", default="1366x768", help="the window's size (default: a laptop or "
                                                       "projector screen)")
    ap.add_argument("--dark", action="store_true", help="a dark desktop theme")
    ap.add_argument("--select", help="select this node (the Inspector and Math card show it)")
    ap.add_argument("--evaluate", action="store_true", help="Evaluate first (sample 0 for data)")
    ap.add_argument("--lesson", type=int, default=0, help="press the lesson's Next this often")
    ap.add_argument("--steps", type=int, default=0, help="then step through this many steps")
    ap.add_argument("--train", type=float, default=0.0, help="train for this many seconds first")
    ap.add_argument("--tab", default="Loss", help="the plots tab to show when training")
    ap.add_argument("--epochs", type=int, default=0, help="epochs for the run (default: the example's)")
    ap.add_argument("--speed", type=float, default=0.0,
                    help="steps a second for the run (slow motion; default: as fast as possible)")
    ap.add_argument("--live", action="store_true", help="shoot while the run goes on (not paused)")
    ap.add_argument("--compare", default="", help="first train one run to its end per "
                    "OPTIMIZER:LR (comma-separated), each kept as a faded run to compare with")
    args = ap.parse_args()
    QStandardPaths.setTestModeEnabled(True)  # no settings or recovery files of the user's
    app = QApplication(sys.argv[:1])
    app.setStyle("Fusion")
    if args.dark:
        app.setPalette(dark_palette())
    from playground.ui.mainwindow import MainWindow

    settings = QSettings(tempfile.mktemp(suffix=".ini"), QSettings.Format.IniFormat)
    w = MainWindow(settings)
    width, height = (int(v) for v in args.size.split("x"))
    w.show()
    w.resize(width, height)
    app.processEvents()
    w.open_example(args.example)
    app.processEvents()

    def prepare() -> None:
        if args.evaluate:
            w.evaluator.evaluate_action()
        for _ in range(args.lesson):
            w.lesson.next()
        for _ in range(args.steps):
            w.stepper.step_forward()
        if args.select:
            model = w.document.model
            w.scene.clearSelection()
            w.scene.nodes[model.by_name(args.select).id].setSelected(True)
        QTimer.singleShot(600, shoot)  # glides and deferred fits settle

    def shoot() -> None:
        if args.train:
            w.show_plot_tab(args.tab)
            w.docks["training"].raise_()
            w.plots.redraw()
        app.processEvents()
        w.grab().save(args.out)
        print("saved", args.out, f"{w.width()}x{w.height()}", app.platformName())
        w.session.runner.stop()
        w.document.forget_changes()
        w.close()
        app.quit()

    if args.epochs:
        w.training.epochs.setValue(args.epochs)
    if args.compare:
        compare_runs(w, args.compare)
    if args.train:
        if args.speed:
            w.run_bar.set_rate(args.speed)
        w.training.start()
        # paused before the shot, or (--live) mid-training, the canvas alive
        after = shoot if args.live else (lambda: (
            w.session.runner.controller.pause(), QTimer.singleShot(400, shoot)))
        QTimer.singleShot(int(1000 * args.train), after)
    else:
        QTimer.singleShot(300, prepare)
    app.exec()
    return 0


if __name__ == "__main__":
    sys.exit(main())
