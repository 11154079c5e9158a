"""packaging/debian-deps.sh as root, as a user with sudo, and as a user without sudo.

The script runs with a PATH of stand-ins: ``dpkg-query`` says which packages are installed,
``apt-get`` and ``sudo`` write down how they were called instead of installing anything, and
``id`` says who we are (or the real ``id`` runs under ``setpriv`` as user nobody).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "packaging" / "debian-deps.sh"
INSTALLED = "libegl1 libgl1 libx11-6"  # dpkg-query reports every other package as missing


def _stub(path: Path, body: str) -> None:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)


def _bin(tmp_path: Path, uid: int | None, sudo: bool, installed: str = INSTALLED) -> Path:
    """A directory of stand-ins; the calls to apt-get and sudo are appended to ``calls``."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "grep", "cat"):
        found = shutil.which(tool)
        assert found is not None, tool
        (bin_dir / tool).symlink_to(found)
    calls = tmp_path / "calls"
    _stub(bin_dir / "dpkg-query",
          f'for p; do :; done\ncase " {installed} " in *" $p "*) '
          'printf "install ok installed";; *) exit 1;; esac\n')
    _stub(bin_dir / "apt-get", f'echo "apt-get $*" >> {calls}\n')
    if sudo:
        _stub(bin_dir / "sudo", f'echo "sudo $*" >> {calls}\n"$@"\n')
    if uid is not None:
        _stub(bin_dir / "id", f'[ "$1" = "-u" ] && echo {uid}\n')
    else:
        real = shutil.which("id")
        assert real is not None
        (bin_dir / "id").symlink_to(real)
    return bin_dir


def _run(bin_dir: Path, prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    env = {"PATH": str(bin_dir), "LANG": "C.UTF-8"}
    return subprocess.run([*prefix, str(SCRIPT)], env=env, capture_output=True, text=True,
                          timeout=60, check=False, cwd=bin_dir)


def _calls(tmp_path: Path) -> list[str]:
    calls = tmp_path / "calls"
    return calls.read_text().splitlines() if calls.exists() else []


def _missing() -> list[str]:
    text = SCRIPT.read_text()
    body = text[text.index("PKGS=(") + 6: text.index("\n)\n")]
    names = [w for line in body.splitlines() for w in line.split("#")[0].split()]
    return [n for n in names if n not in INSTALLED.split()]


def test_without_root_and_without_sudo_it_prints_the_command_for_root_and_fails(tmp_path):
    r = _run(_bin(tmp_path, uid=1000, sudo=False))
    assert r.returncode == 1, r.stdout + r.stderr
    assert "sudo: command not found" not in r.stderr
    assert "root" in r.stderr and "no sudo" in r.stderr
    assert len(r.stdout.splitlines()) == 1  # exactly the command, to copy or to pass to su -c
    assert r.stdout.strip() == ("apt-get update && apt-get install -y --no-install-recommends "
                                + " ".join(_missing()))
    assert _calls(tmp_path) == []  # nothing was attempted


def test_with_sudo_it_installs_through_sudo(tmp_path):
    r = _run(_bin(tmp_path, uid=1000, sudo=True))
    assert r.returncode == 0, r.stderr
    calls = _calls(tmp_path)
    assert calls[0] == "sudo apt-get update -qq"
    assert calls[1] == "apt-get update -qq"
    assert calls[2] == "sudo apt-get install -y -qq --no-install-recommends " + " ".join(_missing())
    assert r.stdout.strip() == "installed: " + " ".join(_missing())


def test_as_root_it_installs_without_sudo(tmp_path):
    r = _run(_bin(tmp_path, uid=0, sudo=True))
    assert r.returncode == 0, r.stderr
    assert not any(c.startswith("sudo") for c in _calls(tmp_path))
    assert _calls(tmp_path)[-1] == "apt-get install -y -qq --no-install-recommends " + " ".join(
        _missing())


def test_nothing_missing_means_nothing_to_do_for_anyone(tmp_path):
    every = " ".join(_missing() + INSTALLED.split())
    r = _run(_bin(tmp_path, uid=1000, sudo=False, installed=every))
    assert (r.returncode, r.stdout, r.stderr, _calls(tmp_path)) == (0, "", "", [])


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None,
                    reason="needs root and setpriv to become user nobody")
def test_as_the_real_user_nobody_without_sudo():
    setpriv = shutil.which("setpriv")
    assert setpriv is not None
    with tempfile.TemporaryDirectory() as tmp:  # pytest's tmp_path is private to root
        home = Path(tmp)
        home.chmod(0o755)
        r = _run(_bin(home, uid=None, sudo=False),
                 (setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups"))
        assert r.returncode == 1, r.stdout + r.stderr
        assert r.stdout.strip() == ("apt-get update && apt-get install -y "
                                    "--no-install-recommends " + " ".join(_missing()))
        assert _calls(home) == []
