"""Files on disk, read and written defensively.

* :func:`open_regular` / :func:`read_limited`: only regular files are read (a FIFO would block
  forever, ``/dev/zero`` never ends), never more than a limit, with one-line errors that name
  the file. The caller chooses the error type (graph, CSV and weights files each have theirs).
* :func:`atomic_write`: a temporary file beside the target, flushed to disk, renamed over it;
  removed again when anything fails. Temporaries left by a save that was killed are removed by
  the next save to the same file (:func:`clean_stale_temporaries`).
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile
import time
from pathlib import Path
from typing import BinaryIO

STALE_AFTER = 600.0  # seconds: a temporary without a (live) process id is stale after this


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def open_regular(path: str | os.PathLike[str], what: str, limit: int,
                 error: type[Exception]) -> BinaryIO:
    """Open ``path`` for reading in binary mode if it is a regular file of at most ``limit``
    bytes; else raise ``error`` with one line naming the file and what is wrong. ``what`` names
    the kind of file in messages (``"graph file"``)."""
    p = Path(path)
    try:
        # O_NONBLOCK: opening a FIFO with no writer would otherwise wait forever
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise error(f"{p}: no such file") from None
    except IsADirectoryError:
        raise error(f"{p} is a folder, not a {what}") from None
    except PermissionError:
        raise error(f"{p}: permission denied") from None
    except (OSError, ValueError) as exc:  # ValueError: a NUL character in the path
        raise error(f"{p}: cannot be read ({getattr(exc, 'strerror', None) or exc})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise error(f"{p} is {_kind(info.st_mode)}, not a {what}; choose an ordinary file")
        if info.st_size > limit:
            raise error(f"{p.name} is too large: {info.st_size:,} bytes; a {what} may have at "
                        f"most {limit:,}")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return open(fd, "rb")  # the caller closes it
    except BaseException:
        os.close(fd)
        raise


def read_limited(path: str | os.PathLike[str], what: str, limit: int,
                 error: type[Exception]) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes (see :func:`open_regular`)."""
    with open_regular(path, what, limit, error) as fh:
        try:
            size = os.fstat(fh.fileno()).st_size
            data = fh.read(size + 1)  # a buffer the size of the file, not of the limit
            if len(data) > size:  # it grew since: read on, up to the limit
                data += fh.read(limit + 1 - len(data))
        except OSError as exc:
            raise error(f"{Path(path)}: cannot be read ({exc.strerror or exc})") from None
    if len(data) > limit:
        raise error(f"{Path(path).name} is too large: over {limit:,} bytes; a {what} may have "
                    f"at most {limit:,}")
    return data


# -- writing ----------------------------------------------------------------------------------
def _temporary_pattern(path: Path) -> re.Pattern[str]:
    return re.compile(rf"^\.{re.escape(path.name)}\.(?:(\d+)-)?[^.]*\.tmp$")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True  # someone else's process, or a number that is no pid: leave it alone
    return True


def clean_stale_temporaries(path: str | os.PathLike[str]) -> list[Path]:
    """Remove temporary files that saves of ``path`` left behind when they were killed; return
    the ones removed. A temporary is stale when the process that wrote it is gone (its id is in
    the name), or, for names without one, when it is older than :data:`STALE_AFTER`."""
    path = Path(path)
    pattern = _temporary_pattern(path)
    removed: list[Path] = []
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        m = pattern.match(entry.name)
        if not m:
            continue
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            pid = int(m.group(1)) if m.group(1) else None
            if pid == os.getpid():
                continue  # a save of this process may be under way in another thread
            stale = (not _alive(pid)) if pid is not None else (
                now - entry.stat(follow_symlinks=False).st_mtime > STALE_AFTER)
            if stale:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            continue
    return removed


def atomic_write(path: str | os.PathLike[str], data: bytes) -> list[Path]:
    """Write to a temporary file beside ``path``, flush it to disk, then rename over ``path``.
    The temporary is removed when anything fails. Returns the stale temporaries of earlier,
    killed saves that were removed first (see :func:`clean_stale_temporaries`)."""
    path = Path(path)
    removed = clean_stale_temporaries(path)
    try:
        mode = path.stat().st_mode & 0o777  # keep an existing file's permissions
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}-", suffix=".tmp",
                               dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return removed
