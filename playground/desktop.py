"""Desktop integration for the current user: the menu entry, icons and AppStream metainfo.

``backprop-playground --install-desktop`` writes them under ``$XDG_DATA_HOME`` (or
``~/.local/share``); ``--uninstall-desktop`` removes them. Both are idempotent and print what
they did. No Qt here: the PNG icons are committed (``packaging/render_icons.py`` makes them).
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from .resources import desktop_dir, icons_dir

APP_ID = "io.github.backprop_playground.BackpropPlayground"
LAUNCHER = "backprop-playground"
ICON_NAME = "backprop-playground"  # file stem under resources/icons

# characters that force an Exec argument into double quotes (Desktop Entry spec, "Exec key")
_RESERVED = set(" \t\n\"'\\><~|&;$*?#()`")


def data_home(environ: dict[str, str] | None = None) -> Path:
    """``$XDG_DATA_HOME`` if set to an absolute path, else ``~/.local/share``."""
    env = os.environ if environ is None else environ
    value = env.get("XDG_DATA_HOME", "")
    if value and os.path.isabs(value):
        return Path(value)
    return Path(env.get("HOME") or Path.home()) / ".local" / "share"


def launcher_command() -> list[str]:
    """The command a menu entry should run: the bundle's executable when frozen, the installed
    ``backprop-playground`` launcher beside this Python or on PATH, else ``python -m playground``."""
    if getattr(sys, "frozen", False):
        return [str(Path(sys.executable).absolute())]
    beside = Path(sys.executable).parent / LAUNCHER  # the venv's (or pipx's) own bin/
    if beside.is_file() and os.access(beside, os.X_OK):
        return [str(beside.absolute())]
    found = shutil.which(LAUNCHER)
    if found:
        return [str(Path(found).absolute())]
    return [str(Path(sys.executable).absolute()), "-m", "playground"]


def exec_value(command: Sequence[str], field_code: str = "%f") -> str:
    """An ``Exec=`` value: each argument quoted by the Desktop Entry rules, then ``field_code``."""

    def quote(arg: str) -> str:
        arg = arg.replace("%", "%%")
        if not any(c in _RESERVED for c in arg):
            return arg
        inner = "".join("\\" + c if c in '"`$\\' else c for c in arg)
        return f'"{inner}"'

    value = " ".join(quote(a) for a in command)
    if field_code:
        value += " " + field_code
    return value.replace("\\", "\\\\")  # the string-value escape applies on top of the quoting


def desktop_entry(command: Sequence[str]) -> str:
    """The bundled .desktop file with ``Exec`` (and ``TryExec``) pointing at ``command``."""
    template = (desktop_dir() / f"{APP_ID}.desktop").read_text(encoding="utf-8")
    lines = []
    for line in template.splitlines():
        if line.startswith("TryExec="):
            continue
        if line.startswith("Exec="):
            lines.append(f"TryExec={command[0].replace(chr(92), chr(92) * 2)}")
            line = "Exec=" + exec_value(command)
        lines.append(line)
    return "\n".join(lines) + "\n"


def planned_files(command: Sequence[str]) -> dict[str, bytes]:
    """Relative path under the data home → content, for everything ``install`` writes."""
    files: dict[str, bytes] = {
        f"applications/{APP_ID}.desktop": desktop_entry(command).encode("utf-8"),
        f"metainfo/{APP_ID}.metainfo.xml": (desktop_dir() / f"{APP_ID}.metainfo.xml").read_bytes(),
        f"icons/hicolor/scalable/apps/{APP_ID}.svg": (icons_dir() / f"{ICON_NAME}.svg").read_bytes(),
    }
    pngs = (icons_dir() / "hicolor").glob(f"*/apps/{ICON_NAME}.png")
    for png in sorted(pngs, key=lambda p: int(p.parent.parent.name.partition("x")[0])):
        size = png.parent.parent.name  # "48x48"
        files[f"icons/hicolor/{size}/apps/{APP_ID}.png"] = png.read_bytes()
    return files


def installed_paths(home: Path) -> list[Path]:
    """Every file ``install`` may have written under ``home`` (whether or not it exists)."""
    rel = [f"applications/{APP_ID}.desktop", f"metainfo/{APP_ID}.metainfo.xml",
           f"icons/hicolor/scalable/apps/{APP_ID}.svg"]
    icons = home / "icons" / "hicolor"
    if icons.is_dir():
        rel += sorted(str(p.relative_to(home)) for p in icons.glob(f"*/apps/{APP_ID}.png"))
    return [home / r for r in rel]


def install(home: Path | None = None, command: Sequence[str] | None = None,
            out: Callable[[str], None] = print) -> list[Path]:
    """Write the menu entry, icons and metainfo; returns the paths written or already current."""
    home = data_home() if home is None else Path(home)
    command = list(command) if command else launcher_command()
    done = []
    for rel, content in planned_files(command).items():
        path = home / rel
        if path.is_file() and path.read_bytes() == content:
            out(f"up to date  {path}")
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_bytes(content)
            os.replace(tmp, path)
            out(f"wrote       {path}")
        done.append(path)
    _touch(home / "icons" / "hicolor")  # icon caches notice a changed theme folder
    out(f"menu entry runs: {exec_value(command)}")
    return done


def uninstall(home: Path | None = None, out: Callable[[str], None] = print) -> list[Path]:
    """Remove what ``install`` wrote; returns the paths removed."""
    home = data_home() if home is None else Path(home)
    removed = []
    for path in installed_paths(home):
        if path.is_file() or path.is_symlink():
            path.unlink()
            out(f"removed     {path}")
            removed.append(path)
    if not removed:
        out(f"nothing to remove under {home}")
    _touch(home / "icons" / "hicolor")
    return removed


def _touch(folder: Path) -> None:
    try:
        if folder.is_dir():
            os.utime(folder)
    except OSError:
        pass


def main(action: str) -> int:
    """``install`` or ``uninstall``: the command-line flags end up here."""
    try:
        if action == "install":
            install()
        else:
            uninstall()
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0
