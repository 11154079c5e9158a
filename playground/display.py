"""Is there a display the window can open on? Answered before Qt is loaded. No Qt here.

Without one, Qt aborts the process with a paragraph about platform plugins (on X11 often naming
``xcb-cursor0``, which is rarely what is wrong). :func:`display_problem` says in one line what is
wrong and what to do instead. It asks the display itself: an X server is connected to with
libxcb (through ctypes, in a thread given :data:`PROBE_SECONDS`, since a remote display that
does not answer would block), a Wayland compositor by connecting to its socket.
"""

from __future__ import annotations

import ctypes
import os
import socket
import threading
from collections.abc import Mapping

PROBE_SECONDS = 3.0
PROG = "backprop-playground"
INSTEAD = ("to check the app without a display: backprop-playground --smoke (or set "
           "QT_QPA_PLATFORM=offscreen)")
_XCB_ERRORS = {
    1: "no X server answers there, or it refused the connection",
    2: "the X server lacks an extension", 3: "out of memory", 4: "a request was too long",
    5: "the value is not a display name like :0", 6: "the display has no such screen",
    7: "passing file descriptors failed",
}
NONE_SET = (f"{PROG}: there is no display to open the window on (DISPLAY and WAYLAND_DISPLAY "
            f"are not set): start it in a desktop session; {INSTEAD}")


def display_problem(environ: Mapping[str, str] | None = None) -> str | None:
    """One line saying why the window cannot open, or None when it can (or when Qt is told to
    use a platform that needs no display, e.g. ``QT_QPA_PLATFORM=offscreen``).

    Qt's own choice is followed: ``QT_QPA_PLATFORM`` if set; else Wayland in a Wayland session
    (``XDG_SESSION_TYPE=wayland`` and ``WAYLAND_DISPLAY``), falling back to X11; else X11."""
    env = os.environ if environ is None else environ
    platform = env.get("QT_QPA_PLATFORM", "").split(";")[0].split(":")[0].strip().lower()
    x11, wayland = env.get("DISPLAY", ""), env.get("WAYLAND_DISPLAY", "")
    if platform and platform != "xcb" and not platform.startswith("wayland"):
        return None  # offscreen, minimal, vnc, eglfs, ...: Qt's choice, not ours
    if not platform and not x11 and not wayland:
        return NONE_SET
    if platform.startswith("wayland") or (
            not platform and wayland and env.get("XDG_SESSION_TYPE") == "wayland"):
        if not wayland:
            return f"{PROG}: QT_QPA_PLATFORM={platform} but WAYLAND_DISPLAY is not set; {INSTEAD}"
        why = wayland_problem(wayland, env.get("XDG_RUNTIME_DIR", ""))
        if why is None:
            return None
        if platform or not x11:
            return f"{PROG}: cannot open the Wayland display {wayland!r}: {why}; {INSTEAD}"
    if not x11:
        return f"{PROG}: there is no X display to open the window on (DISPLAY is not set); {INSTEAD}"
    why = x11_problem(x11)
    return None if why is None else f"{PROG}: cannot open the X display {x11!r}: {why}; {INSTEAD}"


def x11_problem(display: str, timeout: float = PROBE_SECONDS) -> str | None:
    """Why libxcb cannot connect to ``display``, or None when it can."""
    try:
        xcb = ctypes.CDLL("libxcb.so.1")
    except OSError:
        return ("the system library libxcb.so.1 is missing (on Debian/Ubuntu run "
                "packaging/debian-deps.sh)")
    xcb.xcb_connect.restype = ctypes.c_void_p
    xcb.xcb_connect.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_int)]
    xcb.xcb_connection_has_error.restype = ctypes.c_int
    xcb.xcb_connection_has_error.argtypes = [ctypes.c_void_p]
    xcb.xcb_disconnect.argtypes = [ctypes.c_void_p]
    result: list[int] = []

    def probe() -> None:  # ctypes releases the GIL while libxcb waits on the socket
        conn = xcb.xcb_connect(display.encode(), None)
        result.append(xcb.xcb_connection_has_error(conn))
        xcb.xcb_disconnect(conn)

    thread = threading.Thread(target=probe, name="display-probe", daemon=True)
    thread.start()
    thread.join(timeout)
    if not result:
        return f"the display did not answer within {timeout:g} s"
    code = result[0]
    return None if code == 0 else _XCB_ERRORS.get(code, f"libxcb error {code}")


def wayland_problem(name: str, runtime_dir: str, timeout: float = PROBE_SECONDS) -> str | None:
    """Why nothing listens on the Wayland socket ``name``, or None when a compositor does."""
    path = name if name.startswith("/") else os.path.join(runtime_dir, name)
    if not name.startswith("/") and not runtime_dir:
        return "XDG_RUNTIME_DIR is not set, so its socket cannot be found"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(path)
    except OSError as exc:
        return f"nothing listens on {path} ({exc.strerror or exc})"
    finally:
        sock.close()
    return None
