"""Packaging: the wheel carries its resources and finds them where it is installed; the desktop
files are valid and install/uninstall cleanly for a user; ``--smoke`` and ``--first-paint`` work.

The validators (desktop-file-validate, appstreamcli) come from Debian's desktop-file-utils and
appstream packages (packaging/debian-deps.sh). A missing validator fails these tests: it does not
skip them. The PyInstaller bundle is built and checked by .ci/run, not here (it takes a minute).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

from playground import desktop
from playground.resources import example_names

ROOT = Path(__file__).resolve().parent.parent
APP_ID = desktop.APP_ID
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def _tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is missing: install the Debian package '{package}' "
                    "(packaging/debian-deps.sh lists it)")
    return path


def _validate_desktop(path: Path) -> None:
    r = _run([_tool("desktop-file-validate", "desktop-file-utils"), str(path)], timeout=60)
    assert r.returncode == 0 and "error" not in r.stdout, r.stdout + r.stderr


def _validate_metainfo(path: Path) -> None:
    r = _run([_tool("appstreamcli", "appstream"), "validate", "--no-net", "--strict", str(path)],
             timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr


def _gui_env(**extra: str) -> dict[str, str]:
    """A child environment with no display: Qt runs offscreen."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.update(QT_QPA_PLATFORM="offscreen", LANG="C.UTF-8", **extra)
    return env


def _run(args: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    kwargs.setdefault("timeout", 180)
    return subprocess.run(args, capture_output=True, text=True, check=False, **kwargs)  # type: ignore[call-overload]


# -- the wheel ---------------------------------------------------------------------------------
def _can_build_without_isolation() -> bool:
    """The running setuptools meets the build requirement: no download needed."""
    try:
        major, minor = (int(x) for x in metadata.version("setuptools").split(".")[:2])
    except (metadata.PackageNotFoundError, ValueError):
        return False
    return (major, minor) >= (77, 0)  # pyproject: setuptools>=77


def _copy_source(dst: Path) -> Path:
    """The files a source distribution holds: builds away from the checkout's build/ folder."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "_resources")
    for name in ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md"):
        shutil.copy2(ROOT / name, dst / name)
    shutil.copytree(ROOT / "playground", dst / "playground", ignore=ignore)
    shutil.copytree(ROOT / "resources", dst / "resources", ignore=ignore)
    return dst


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = _copy_source(tmp_path_factory.mktemp("src"))
    out = tmp_path_factory.mktemp("wheel")
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(src)]
    if _can_build_without_isolation():
        cmd.insert(4, "--no-build-isolation")
    r = _run(cmd, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    (whl,) = out.glob("backprop_playground-*.whl")
    return whl


def test_wheel_contains_the_resources(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    res = "playground/_resources"
    for example in example_names():
        assert f"{res}/examples/{example}.json" in names
    assert f"{res}/desktop/{APP_ID}.desktop" in names
    assert f"{res}/desktop/{APP_ID}.metainfo.xml" in names
    assert f"{res}/icons/backprop-playground.svg" in names
    for n in ICON_SIZES:
        assert f"{res}/icons/hicolor/{n}x{n}/apps/backprop-playground.png" in names
    assert not [n for n in names if "screenshots" in n or n.startswith("resources/")]
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "[gui_scripts]" in text and "backprop-playground = playground.__main__:main" in text


def test_installed_wheel_finds_resources_in_the_installed_package(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    r = _run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site),
              str(wheel)])
    assert r.returncode == 0, r.stdout + r.stderr
    elsewhere = tmp_path / "elsewhere"  # not the checkout: nothing relative to it can be found
    elsewhere.mkdir()
    code = ("import json, playground; from playground.resources import resource_root, example_names;"
            "print(json.dumps({'file': playground.__file__, 'root': str(resource_root()),"
            " 'examples': example_names()}))")
    env = {**os.environ, "PYTHONPATH": str(site)}
    r = _run([sys.executable, "-c", code], cwd=elsewhere, env=env)
    assert r.returncode == 0, r.stderr
    found = json.loads(r.stdout)
    assert Path(found["file"]).resolve().is_relative_to(site.resolve())
    assert Path(found["root"]) == (site / "playground" / "_resources").resolve()
    assert found["examples"] == sorted(p.stem for p in (ROOT / "resources" / "examples").glob("*.json"))
    # the command line of the installed copy opens a bundled example by name
    r = _run([sys.executable, "-m", "playground", "eval", "square_of_sum", "--json"],
             cwd=elsewhere, env=env)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["nodes"]["x"]["grad"] == pytest.approx(6.0)


# -- desktop integration -------------------------------------------------------------------------
def test_bundled_desktop_files_are_valid() -> None:
    _validate_desktop(ROOT / "resources" / "desktop" / f"{APP_ID}.desktop")
    _validate_metainfo(ROOT / "resources" / "desktop" / f"{APP_ID}.metainfo.xml")


def test_icons_are_rendered_at_every_size() -> None:
    spec = importlib.util.spec_from_file_location("render_icons", ROOT / "packaging" / "render_icons.py")
    assert spec and spec.loader
    render_icons = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(render_icons)
    assert tuple(render_icons.SIZES) == ICON_SIZES
    assert render_icons.check() == []


def test_install_desktop_writes_valid_files_and_uninstall_removes_them(tmp_path: Path) -> None:
    share = tmp_path / "share"
    env = {**os.environ, "XDG_DATA_HOME": str(share)}
    r = _run([sys.executable, "-m", "playground", "--install-desktop"], env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    entry = share / "applications" / f"{APP_ID}.desktop"
    metainfo = share / "metainfo" / f"{APP_ID}.metainfo.xml"
    icons = [share / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg"]
    icons += [share / "icons" / "hicolor" / f"{n}x{n}" / "apps" / f"{APP_ID}.png" for n in ICON_SIZES]
    written = [entry, metainfo, *icons]
    for path in written:
        assert path.is_file(), path
        assert str(path) in r.stdout  # it says what it wrote
    _validate_desktop(entry)
    _validate_metainfo(metainfo)
    fields = dict(line.split("=", 1) for line in entry.read_text().splitlines() if "=" in line)
    program = fields["Exec"].split()[0].strip('"')
    assert Path(program).is_absolute() and os.access(program, os.X_OK), fields["Exec"]
    assert fields["Exec"].endswith(" %f") and fields["Icon"] == APP_ID
    assert fields["TryExec"] == program

    again = _run([sys.executable, "-m", "playground", "--install-desktop"], env=env)
    assert again.returncode == 0, again.stderr
    assert "wrote" not in again.stdout and again.stdout.count("up to date") == len(written)

    gone = _run([sys.executable, "-m", "playground", "--uninstall-desktop"], env=env)
    assert gone.returncode == 0, gone.stderr
    assert not [p for p in written if p.exists()]
    assert gone.stdout.count("removed") == len(written)
    twice = _run([sys.executable, "-m", "playground", "--uninstall-desktop"], env=env)
    assert twice.returncode == 0 and "nothing to remove" in twice.stdout


def test_desktop_integration_loads_no_qt(tmp_path: Path) -> None:
    code = ("import sys; from playground.ui.app import main; rc = main(['--install-desktop']);"
            "qt = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6', 'pyqtgraph'));"
            "print('qt modules:', qt); sys.exit(rc)")
    r = _run([sys.executable, "-c", code], env={**os.environ, "XDG_DATA_HOME": str(tmp_path)})
    assert r.returncode == 0, r.stderr
    assert "qt modules: []" in r.stdout, r.stdout


def test_exec_value_quotes_by_the_desktop_entry_rules() -> None:
    assert desktop.exec_value(["/usr/bin/backprop-playground"]) == "/usr/bin/backprop-playground %f"
    assert desktop.exec_value(["/opt/my apps/bp"]) == '"/opt/my apps/bp" %f'
    # `$` is escaped inside the quotes, then every backslash doubled (the string-value rule)
    assert desktop.exec_value(["/a$b/bp"], "") == '"/a\\\\$b/bp"'
    assert desktop.exec_value(["/a\\b"], "") == '"/a\\\\\\\\b"'
    assert desktop.exec_value(["/100%/bp"], "") == "/100%%/bp"
    assert desktop.exec_value(["/usr/bin/python3", "-m", "playground"]) == \
        "/usr/bin/python3 -m playground %f"


def test_data_home_follows_xdg() -> None:
    assert desktop.data_home({"XDG_DATA_HOME": "/x/share", "HOME": "/h"}) == Path("/x/share")
    # a relative XDG_DATA_HOME is invalid by the spec and ignored
    assert desktop.data_home({"XDG_DATA_HOME": "rel", "HOME": "/h"}) == Path("/h/.local/share")
    assert desktop.data_home({"HOME": "/h"}) == Path("/h/.local/share")


def test_launcher_prefers_the_script_beside_this_python(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "python").touch()
    monkeypatch.setattr(sys, "executable", str(bin_dir / "python"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert desktop.launcher_command() == [str(bin_dir / "python"), "-m", "playground"]
    launcher = bin_dir / "backprop-playground"
    launcher.write_text("#!/bin/sh\n")
    launcher.chmod(0o755)
    assert desktop.launcher_command() == [str(launcher)]
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert desktop.launcher_command() == [str(bin_dir / "python")]


# -- the app starts ----------------------------------------------------------------------------
def test_version() -> None:
    from playground import __version__

    for args in (["-m", "playground", "--version"],
                 ["-c", "import sys; from playground.ui.app import main; sys.exit(main(['--version']))"]):
        r = _run([sys.executable, *args])
        assert r.returncode == 0 and r.stdout.strip() == f"Backprop Playground {__version__}", r


def test_smoke_opens_trains_and_exits_0(tmp_path: Path) -> None:
    r = _run([sys.executable, "-m", "playground", "--smoke"], env=_gui_env(), cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.search(r"^smoke: ok \(\d+ nodes, \d+ wires; trained \d+ steps", r.stdout, re.MULTILINE), r.stdout


def test_smoke_fails_on_a_graph_it_cannot_open(tmp_path: Path) -> None:
    r = _run([sys.executable, "-m", "playground", "--smoke", str(tmp_path / "missing.json")],
             env=_gui_env(), cwd=tmp_path)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "FAILED" in r.stdout


def test_smoke_fails_without_fonts(tmp_path: Path) -> None:
    """With no font Qt draws boxes and says nothing; the smoke check must say it."""
    conf = tmp_path / "fonts.conf"
    conf.write_text(f'<?xml version="1.0"?>\n<fontconfig><cachedir>{tmp_path}</cachedir></fontconfig>\n')
    r = _run([sys.executable, "-m", "playground", "--smoke"],
             env=_gui_env(FONTCONFIG_FILE=str(conf)), cwd=tmp_path)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "smoke: FAILED" in r.stdout and "font" in r.stdout


def test_first_paint_reports_seconds(tmp_path: Path) -> None:
    r = _run([sys.executable, "-m", "playground", "--first-paint"], env=_gui_env(), cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    m = re.search(r"^first-paint: (\d+\.\d+) s after process start", r.stdout, re.MULTILINE)
    assert m and 0 < float(m.group(1)) < 60, r.stdout


def test_packaging_scripts_parse() -> None:
    for script in ("build.sh", "install.sh"):
        path = ROOT / "packaging" / script
        assert os.access(path, os.X_OK), f"{path} is not executable"
        shell = "bash" if script == "build.sh" else "sh"
        r = _run([shell, "-n", str(path)])
        assert r.returncode == 0, r.stderr
