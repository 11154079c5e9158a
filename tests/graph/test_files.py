"""Reading only regular files with a limit, and saves that leave no temporary behind."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from playground.graph import FileFormatError, load, save
from playground.graph.files import (
    STALE_AFTER,
    atomic_write,
    clean_stale_temporaries,
    read_limited,
)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "resources" / "examples"


@pytest.mark.timeout(20)
def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "graph.json"
    os.mkfifo(fifo)
    with pytest.raises(FileFormatError, match=r"graph\.json is a pipe \(FIFO\), not a graph file"):
        load(fifo)


@pytest.mark.timeout(20)
def test_a_fifo_with_a_writer_is_refused_too(tmp_path: Path) -> None:
    fifo = tmp_path / "g.json"
    os.mkfifo(fifo)
    held = os.open(fifo, os.O_RDWR)  # a writer with data waiting (O_RDWR does not block)
    try:
        os.write(held, b"{}" * 10)
        with pytest.raises(FileFormatError, match="pipe"):
            load(fifo)
    finally:
        os.close(held)


@pytest.mark.timeout(20)
@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_a_device_is_refused_before_reading() -> None:
    with pytest.raises(FileFormatError, match=r"^/dev/zero is a device, not a graph file"):
        load("/dev/zero")


def test_read_limited_names_the_file_and_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(b"x" * 101)
    assert read_limited(path, "thing", 101, ValueError) == b"x" * 101
    with pytest.raises(ValueError, match=r"^data\.bin is too large: 101 bytes; a thing may "
                                         r"have at most 100$"):
        read_limited(path, "thing", 100, ValueError)
    with pytest.raises(ValueError, match=r"no such file"):
        read_limited(tmp_path / "nope", "thing", 100, ValueError)
    with pytest.raises(ValueError, match=r"is a folder, not a thing"):
        read_limited(tmp_path, "thing", 100, ValueError)


def test_a_graph_file_may_start_with_a_byte_order_mark(tmp_path: Path) -> None:
    text = (EXAMPLES / "square_of_sum.json").read_text(encoding="utf-8")
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert load(path).to_dict() == load(EXAMPLES / "square_of_sum.json").to_dict()


def test_an_op_name_with_a_line_break_gives_a_one_line_error(tmp_path: Path) -> None:
    text = (EXAMPLES / "square_of_sum.json").read_text(encoding="utf-8")
    path = tmp_path / "op.json"
    path.write_text(text.replace('"op": "add"', '"op": "add\\nrm -rf"'), encoding="utf-8")
    with pytest.raises(FileFormatError) as info:
        load(path)
    assert "\n" not in str(info.value) and "add\\nrm -rf" in str(info.value)


# -- saving -----------------------------------------------------------------------------------
def temporaries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_a_temporary_of_a_killed_save_is_removed_by_the_next_save(tmp_path: Path) -> None:
    target = tmp_path / "graph.json"
    # a real kill -9 in the middle of a save: after the data is written, before the rename
    child = textwrap.dedent(f"""
        import os, signal, sys
        sys.path.insert(0, {str(ROOT)!r})
        from playground.graph import load, save
        os.fsync = lambda fd: os.kill(os.getpid(), signal.SIGKILL)
        save(load({str(EXAMPLES / "square_of_sum.json")!r}), {str(target)!r})
    """)
    result = subprocess.run([sys.executable, "-c", child], capture_output=True, timeout=60,
                            check=False)
    assert result.returncode == -9
    left = temporaries(tmp_path)
    assert len(left) == 1 and not target.exists()
    removed = atomic_write(target, b"{}")
    assert [p.name for p in removed] == left
    assert temporaries(tmp_path) == [] and target.read_bytes() == b"{}"


def test_only_stale_temporaries_are_removed(tmp_path: Path) -> None:
    target = tmp_path / "g.json"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    names = {
        "dead": f".g.json.{dead}-abc123.tmp",  # its process is gone
        "live": f".g.json.{os.getppid()}-abc123.tmp",  # a save under way in another process
        "old": ".g.json.k2j4h5l6.tmp",  # an older app's name, long ago
        "new": ".g.json.q8w7e6r5.tmp",  # an older app's name, just now
        "other": ".other.json.1-abc.tmp",  # another file's
    }
    for name in names.values():
        (tmp_path / name).write_bytes(b"partial")
    old = time.time() - STALE_AFTER - 60
    os.utime(tmp_path / names["old"], (old, old))
    removed = sorted(p.name for p in clean_stale_temporaries(target))
    assert removed == sorted([names["dead"], names["old"]])
    assert temporaries(tmp_path) == sorted([names["live"], names["new"], names["other"]])


def test_a_failed_save_removes_its_temporary(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="No space left"):
        save(load(EXAMPLES / "square_of_sum.json"), tmp_path / "g.json")
    assert list(tmp_path.iterdir()) == []
