"""Weights files checked against the program before anything is used: names, presence, dtypes,
finite values, shapes from the header, sizes before decompression; one line per failure."""

from __future__ import annotations

import io
import re
import tracemalloc
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from playground.engine import memory
from playground.graph import compile_graph, load
from playground.training import (
    CheckpointError,
    WeightsFit,
    fit_weights,
    load_params,
    restore_params,
    save_params,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"


@pytest.fixture
def program() -> Any:
    p = compile_graph(load(EXAMPLES / "moons_mlp.json"))  # W1 (2,16) b1 W2 (16,16) b2 W3 b3
    p.init_params(0)
    return p


def shapes(program: Any) -> dict[str, tuple[int, ...]]:
    return {k: v.shape for k, v in program.param_arrays(trainable_only=False).items()}


def npz(path: Path, **arrays: Any) -> Path:
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)
    return path


def full(program: Any, tmp_path: Path, **changes: Any) -> Path:
    arrays: dict[str, Any] = {k: np.full(s, 0.5) for k, s in shapes(program).items()}
    arrays.update(changes)
    return npz(tmp_path / "w.npz", **{k: v for k, v in arrays.items() if v is not None})


def test_a_file_that_fits_is_taken_whole(program: Any, tmp_path: Path) -> None:
    saved = tmp_path / "w.npz"
    save_params(program, saved)
    before = {k: v.copy() for k, v in program.param_arrays(False).items()}
    program.init_params(1)
    fit = fit_weights(program, saved)
    assert fit.complete and fit.lines() == [] and set(fit.taken) == set(before)
    assert fit.summary() == "w.npz: took 6 of 6 parameters"
    fit.apply(program)
    for k, v in program.param_arrays(False).items():
        np.testing.assert_array_equal(v, before[k])
    assert restore_params(program, saved) == list(fit.taken)


def test_no_key_matching_the_graph_takes_nothing_and_says_so(program: Any,
                                                            tmp_path: Path) -> None:
    path = npz(tmp_path / "other.npz", weights=np.ones(3), X=np.ones(2))
    fit = fit_weights(program, path)
    assert fit.taken == () and set(fit.missing) == set(shapes(program))
    assert fit.skipped == {"weights": "not a parameter of this graph",
                           "X": "'X' is an input of this graph, not a parameter"}
    assert fit.summary() == "other.npz: took 0 of 6 parameters (2 skipped, 6 missing)"
    lines = fit.lines()
    assert len(lines) == 8 and all("\n" not in line for line in lines)
    assert lines[0] == "other.npz: 'weights' skipped: not a parameter of this graph"
    assert "other.npz: no weights for parameter 'W1' (it keeps its current value)" in lines
    before = {k: v.copy() for k, v in program.param_arrays(False).items()}
    with pytest.raises(CheckpointError) as info:
        restore_params(program, path)
    assert info.value.lines == lines
    for k, v in program.param_arrays(False).items():  # nothing was changed
        np.testing.assert_array_equal(v, before[k])


def test_some_parameters_missing(program: Any, tmp_path: Path) -> None:
    fit = fit_weights(program, full(program, tmp_path, b2=None, W3=None))
    assert set(fit.missing) == {"W3", "b2"}
    assert not fit.skipped and len(fit.taken) == 4 and not fit.complete


@pytest.mark.parametrize(("value", "why"), [
    (np.array([[np.nan] * 16] * 2), r"has NaN or infinite values \(the first at index \(0, 0\)\)"),
    (np.full((2, 16), np.inf), "has NaN or infinite values"),
    (np.ones((2, 16)) * (1 + 1j), r"complex values; weights are real numbers"),
    (np.ones((2, 16), dtype=[("a", "f8"), ("b", "i4")]), "a structured array"),
    (np.ones((2, 16), dtype=np.int64), "values of type int64; weights are floating-point"),
    (np.ones((2, 16), dtype=bool), "values of type bool"),
    (np.ones((3, 16)), r"shape \(3, 16\) does not fit the parameter's \(2, 16\)"),
    (np.ones(32), r"shape \(32,\) does not fit"),
    (np.float64(1.0), r"shape \(\) does not fit"),
])
def test_bad_arrays_are_skipped_with_the_reason(program: Any, tmp_path: Path, value: Any,
                                               why: str) -> None:
    fit = fit_weights(program, full(program, tmp_path, W1=value))
    assert set(fit.skipped) == {"W1"} and fit.missing == ("W1",)
    assert re.search(why, fit.skipped["W1"]), fit.skipped["W1"]
    assert len(fit.taken) == 5
    with pytest.raises(CheckpointError, match="W1"):
        restore_params(program, tmp_path / "w.npz")


def test_arrays_already_in_memory_are_checked_the_same_way(program: Any) -> None:
    arrays = {k: np.ones(s) for k, s in shapes(program).items()}
    arrays["W1"] = np.ones((2, 16)) * np.nan
    arrays["nope"] = np.ones(1)
    fit = fit_weights(program, arrays)
    assert set(fit.skipped) == {"W1", "nope"} and fit.missing == ("W1",)
    assert fit.arrays["W2"].dtype == program.dtype


def test_object_arrays_are_refused_without_unpickling(program: Any, tmp_path: Path) -> None:
    path = tmp_path / "w.npz"
    with open(path, "wb") as fh:
        np.savez(fh, W1=np.array([{"a": 1}, None], dtype=object))  # a pickle inside
    fit = fit_weights(program, path)
    assert fit.skipped == {"W1": "values of type object; weights are floating-point numbers"}


def test_float64_values_too_large_for_a_float32_graph(tmp_path: Path) -> None:
    p32 = compile_graph(load(EXAMPLES / "moons_mlp.json"), dtype="float32")
    arrays = {k: np.ones(v.shape) for k, v in p32.param_arrays(False).items()}
    arrays["b1"] = np.full(arrays["b1"].shape, 1e300)
    fit = fit_weights(p32, npz(tmp_path / "w.npz", **arrays))
    assert fit.skipped == {"b1": "has values too large for float32"}
    assert all(a.dtype == np.float32 for a in fit.arrays.values())


@pytest.mark.parametrize(("content", "message"), [
    (None, r"^w\.npz is a single NumPy array \(\.npy\), not a weights archive \(\.npz\)"),
    (b"hello, not weights", r"^w\.npz is not a weights file \(\.npz\)$"),
    (b"PK\x03\x04" + b"\x00" * 40, r"^w\.npz is not a readable weights file \(\.npz\): "),
])
def test_files_that_are_not_weights_archives(program: Any, tmp_path: Path,
                                             content: bytes | None, message: str) -> None:
    path = tmp_path / "w.npz"
    if content is None:
        with open(path, "wb") as fh:
            np.save(fh, np.ones((2, 16)))
    else:
        path.write_bytes(content)
    for call in (lambda: fit_weights(program, path), lambda: load_params(path)):
        with pytest.raises(CheckpointError, match=message) as info:
            call()
        assert "\n" not in str(info.value)


def crafted_header_file(path: Path, shape: tuple[int, ...], name: str = "W1") -> Path:
    """A tiny .npz whose member header claims ``shape`` but holds 16 bytes of data."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False,
                                                  "shape": shape})
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(f"{name}.npy", header.getvalue() + b"\x00" * 16)
    return path


def test_a_header_claiming_a_huge_array_is_refused_before_allocating(program: Any,
                                                                     tmp_path: Path) -> None:
    path = crafted_header_file(tmp_path / "w.npz", (50000, 50000))
    assert path.stat().st_size < 400
    tracemalloc.start()
    try:
        fit = fit_weights(program, path)
        with pytest.raises(CheckpointError, match=r"^w\.npz: 'W1' skipped: 144 bytes in the "
                                                  r"archive, but its header describes"):
            load_params(path)  # no program: the header and the zip directory disagree
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2_000_000
    assert fit.skipped["W1"] == "shape (50000, 50000) does not fit the parameter's (2, 16)"


@pytest.fixture(scope="module")
def zip_bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real bomb: ~260 kB on disk, 256 MB of zeros once inflated, with an honest header."""
    path = tmp_path_factory.mktemp("bomb") / "bomb.npz"
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False,
                                                  "shape": (8192, 4096)})
    zeros = bytes(1 << 20)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf, \
            zf.open("W1.npy", "w", force_zip64=True) as member:
        member.write(header.getvalue())
        for _ in range(256):
            member.write(zeros)
    return path


def test_a_zip_bomb_is_refused_before_it_expands(program: Any, zip_bomb: Path) -> None:
    assert zip_bomb.stat().st_size < 1_000_000
    tracemalloc.start()
    try:
        fit = fit_weights(program, zip_bomb)  # its shape is not W1's: never inflated
        with memory.budget("64M"), pytest.raises(
                CheckpointError, match=r"^bomb\.npz: 'W1' needs 256 MB, over the memory budget "
                                       r"of 64 MB \(set by the application\); it is too large"):
            load_params(zip_bomb)  # no program: the size in the directory is over the budget
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2_000_000  # inflating it would have held 256 MB at once
    assert fit.skipped["W1"].startswith("shape (8192, 4096) does not fit")


@pytest.mark.timeout(20)
def test_a_fifo_given_as_weights_is_refused(program: Any, tmp_path: Path) -> None:
    import os

    fifo = tmp_path / "w.npz"
    os.mkfifo(fifo)
    with pytest.raises(CheckpointError, match=r"is a pipe \(FIFO\), not a weights file"):
        fit_weights(program, fifo)


def test_weights_fit_is_a_plain_value() -> None:
    fit = WeightsFit("w.npz", {"a": np.ones(1)}, {"z": "why"}, ("b",))
    assert fit.taken == ("a",) and not fit.complete
    assert fit.lines() == ["w.npz: 'z' skipped: why",
                           "w.npz: no weights for parameter 'b' (it keeps its current value)"]


def test_a_member_with_a_wrong_checksum_is_skipped(program: Any, tmp_path: Path) -> None:
    path = full(program, tmp_path)
    data = bytearray(path.read_bytes())
    at = data.index(b"W2.npy")  # the local header's name; the data follows it
    at = data.index(b"\x00\x00\xe0?", at)  # inside W2's array of 0.5s (00 .. 00 e0 3f)
    data[at] ^= 0x01
    path.write_bytes(bytes(data))
    fit = fit_weights(program, path)
    assert set(fit.skipped) == {"W2"} and fit.skipped["W2"].startswith("damaged data")
    assert len(fit.taken) == 5
