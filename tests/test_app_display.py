"""Starting the app: no display says so in one line, ``--help`` lists the window options and the
commands. The app runs in a child process (Qt aborts the whole process when it cannot start)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from playground.cli import COMMANDS
from playground.display import display_problem, wayland_problem, x11_problem

ROOT = Path(__file__).resolve().parent.parent
FREE_DISPLAY = next(f":{n}" for n in range(917, 999) if not Path(f"/tmp/.X11-unix/X{n}").exists())
WINDOW_OPTIONS = ("--smoke", "--first-paint", "--no-restore", "--install-desktop",
                  "--uninstall-desktop", "--version")


def _env(**extra: str) -> dict[str, str]:
    """This environment without any display or Qt platform, plus ``extra``."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM", "XDG_SESSION_TYPE")}
    env.update(LANG="C.UTF-8", **extra)
    return env


def _app(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "playground", *args], capture_output=True,
                          text=True, env=_env(**env), cwd=ROOT, timeout=120, check=False)


def _one_line_instead_of_qt(r: subprocess.CompletedProcess[str]) -> str:
    assert r.returncode == 1, r.stdout + r.stderr
    assert r.stdout == ""
    lines = r.stderr.splitlines()
    assert len(lines) == 1, r.stderr  # one line, not Qt's paragraph about platform plugins
    line = lines[0]
    assert "xcb" not in line and "plugin" not in line
    assert "backprop-playground --smoke" in line and "QT_QPA_PLATFORM=offscreen" in line
    return line


def test_no_display_at_all_is_one_line_that_says_what_to_do():
    line = _one_line_instead_of_qt(_app())
    assert "no display" in line and "DISPLAY and WAYLAND_DISPLAY are not set" in line
    _one_line_instead_of_qt(_app("square_of_sum", "--no-restore"))  # opening a graph: the same


def test_a_display_that_cannot_be_opened_is_named():
    line = _one_line_instead_of_qt(_app(DISPLAY=FREE_DISPLAY))
    assert f"cannot open the X display '{FREE_DISPLAY}'" in line


def test_a_check_without_a_display_runs_offscreen_instead():
    r = _app("--first-paint", "square_of_sum", DISPLAY=FREE_DISPLAY)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "(platform offscreen)" in r.stdout


def test_a_platform_that_needs_no_display_is_left_to_qt():
    assert display_problem({"QT_QPA_PLATFORM": "offscreen"}) is None
    assert display_problem({"QT_QPA_PLATFORM": "minimal", "DISPLAY": FREE_DISPLAY}) is None
    assert "DISPLAY is not set" in (display_problem({"QT_QPA_PLATFORM": "xcb"}) or "")
    assert display_problem({}) is not None


def test_x11_probe_against_a_real_display_and_a_missing_one(xvfb):
    assert "no X server answers" in (x11_problem(FREE_DISPLAY) or "")
    assert "not a display name" in (x11_problem("no-colon-here") or "")
    if xvfb is None:
        pytest.skip("pytest-xvfb started no Xvfb (--no-xvfb)")
    display = f":{xvfb.display}"
    assert x11_problem(display) is None
    assert display_problem({"DISPLAY": display}) is None


def test_wayland_probe_connects_to_the_compositor_socket(tmp_path):
    env = {"WAYLAND_DISPLAY": "wayland-7", "XDG_RUNTIME_DIR": str(tmp_path),
           "XDG_SESSION_TYPE": "wayland"}
    assert "nothing listens on" in (wayland_problem("wayland-7", str(tmp_path)) or "")
    assert "cannot open the Wayland display 'wayland-7'" in (display_problem(env) or "")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(str(tmp_path / "wayland-7"))
        server.listen(16)  # the probes connect and close; none is accepted
        assert wayland_problem("wayland-7", str(tmp_path)) is None
        assert display_problem(env) is None
        assert display_problem({**env, "QT_QPA_PLATFORM": "wayland"}) is None


def test_help_lists_the_window_options_and_the_commands():
    r = _app("--help")
    assert r.returncode == 0, r.stderr
    for option in WINDOW_OPTIONS:
        assert option in r.stdout, option
    commands = r.stdout[r.stdout.index("commands (no window"):]
    for name in COMMANDS:
        assert f"\n  {name} " in commands, name
    assert _app("-h").stdout == r.stdout
    sub = _app("check", "--help")  # a command's own help is the command line's
    assert sub.returncode == 0 and "--sample" in sub.stdout and "--smoke" not in sub.stdout
