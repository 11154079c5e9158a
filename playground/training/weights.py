"""Weights files (``.npz``) checked against a program before anything is used.

:func:`fit_weights` answers "which weights in this file fit this program?" without trusting the
file: only a regular file within the memory budget is opened; each member's name must be a
parameter of the program before it is opened at all; its shape and dtype are read from the
``.npy`` header and checked (real floating point, the parameter's shape) before its data is
read; the member's size in the zip directory must match its header before decompression (a zip
bomb never expands); the values must be finite in the program's dtype. The answer is a
:class:`WeightsFit`: the arrays taken, the names skipped and why, and the parameters missing,
one line per failure for the command line and the GUI.
"""

from __future__ import annotations

import math
import os
import zipfile
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from ..engine import EngineError, Program
from ..engine.memory import check_bytes, fmt_bytes, memory_budget
from ..engine.registry import Shape, fmt_shape, quoted
from ..graph.files import open_regular

MAX_MEMBERS = 100_000
_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")


class CheckpointError(EngineError, ValueError):
    """A weights file that cannot be read or does not fit the graph; ``lines`` holds one line
    per failure (the message joins them)."""

    def __init__(self, message: str | list[str]) -> None:
        self.lines = [message] if isinstance(message, str) else list(message)
        super().__init__("\n".join(self.lines))


@dataclass(frozen=True)
class WeightsFit:
    """What a weights file gives a program: ``arrays`` (taken, checked, in the program's dtype),
    ``skipped`` (name in the file → why it was not taken) and ``missing`` (parameters of the
    program the file has no usable array for; they keep their current values)."""

    source: str
    arrays: Mapping[str, np.ndarray]
    skipped: Mapping[str, str]
    missing: tuple[str, ...]

    @property
    def taken(self) -> tuple[str, ...]:
        return tuple(self.arrays)

    @property
    def complete(self) -> bool:
        """Every parameter taken and nothing in the file left over."""
        return not self.skipped and not self.missing

    def lines(self) -> list[str]:
        """One line per failure: each name skipped, then each parameter missing (one already
        named as skipped is not named twice)."""
        out = [f"{self.source}: {quoted(name)} skipped: {why}"
               for name, why in self.skipped.items()]
        out += [f"{self.source}: no weights for parameter {quoted(name)} (it keeps its current "
                "value)" for name in self.missing if name not in self.skipped]
        return out

    def summary(self) -> str:
        """One line for a status bar: ``took 4 of 6 parameters (1 skipped, 2 missing)``."""
        total = len(self.arrays) + len(self.missing)
        text = f"{self.source}: took {len(self.arrays)} of {total} parameters"
        extra = [f"{n} {w}" for n, w in ((len(self.skipped), "skipped"),
                                         (len(self.missing), "missing")) if n]
        return text + (f" ({', '.join(extra)})" if extra else "")

    def apply(self, program: Program) -> None:
        """Put the taken arrays into ``program`` (the one they were checked against)."""
        program.set_params(self.arrays)


def fit_weights(program: Program, source: str | os.PathLike[str] | Mapping[str, Any],
                trainable_only: bool = False) -> WeightsFit:
    """Check a weights file (a path) or arrays in memory (a mapping) against ``program``; see
    the module's doc. Raises :class:`CheckpointError` only when the file as a whole cannot be
    read (not a regular file, over the memory budget, not an ``.npz``); per-array problems are
    in the answer's ``skipped``."""
    idx = program.trainable if trainable_only else program.parameters
    wanted = {program.nodes[i].name: program.nodes[i].shape for i in idx}
    others = {n.name: n.spec.role for n in program.nodes}

    def want(name: str) -> tuple[Shape | None, str | None]:
        if name in wanted:
            return wanted[name], None
        role = others.get(name)
        if role:
            return None, f"{quoted(name)} is {_article(role)} {role} of this graph, not a parameter"
        return None, "not a parameter of this graph"

    if isinstance(source, Mapping):
        label = "weights"
        arrays, skipped = _check_arrays(source, want, program.dtype)
    else:
        label = Path(source).name
        arrays, skipped = read_npz(source, want, program.dtype)
    missing = tuple(n for n in wanted if n not in arrays)
    return WeightsFit(label, arrays, skipped, missing)


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


Want = Callable[[str], tuple[Shape | None, str | None]]


def read_npz(path: str | os.PathLike[str], want: Want | None, dtype: Any
             ) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Arrays of an ``.npz`` that ``want(name)`` accepts (it returns the required shape, or
    None and why not; ``want=None`` takes any shape), checked and cast to ``dtype``; and the
    names refused with the reason. See the module's doc for the order of the checks."""
    p = Path(path)
    with open_regular(p, "weights file", memory_budget(), CheckpointError) as fh:
        head = fh.read(8)
        fh.seek(0)
        if head.startswith(_NPY_MAGIC):
            raise CheckpointError(
                f"{p.name} is a single NumPy array (.npy), not a weights archive (.npz) with "
                "one array per parameter name; save with np.savez(path, W1=..., b1=...)")
        if not head.startswith(_ZIP_MAGICS):
            raise CheckpointError(f"{p.name} is not a weights file (.npz)")
        try:
            with zipfile.ZipFile(fh) as zf:
                return _read_members(zf, p.name, want, np.dtype(dtype))
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError,
                NotImplementedError) as exc:
            raise CheckpointError(f"{p.name} is not a readable weights file (.npz): "
                                  f"{' '.join(str(exc).split())}") from None


def _read_members(zf: zipfile.ZipFile, fname: str, want: Want | None, dtype: np.dtype[Any]
                  ) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    infos = zf.infolist()
    if len(infos) > MAX_MEMBERS:
        raise CheckpointError(f"{fname} has {len(infos):,} members; a weights file may have at "
                              f"most {MAX_MEMBERS:,}")
    arrays: dict[str, np.ndarray] = {}
    skipped: dict[str, str] = {}
    total = 0
    for info in infos:
        if not info.filename.endswith(".npy"):
            skipped[info.filename] = "not an array (.npy) member"
            continue
        name = info.filename[:-4]
        if name in arrays or name in skipped:
            skipped[name] = "appears more than once in the file"
            arrays.pop(name, None)
            continue
        shape, why = want(name) if want else (None, None)
        if why:
            skipped[name] = why
            continue
        try:
            check_bytes(info.file_size, f"{fname}: {quoted(name)}",
                        "it is too large for this machine")
            arr = _read_member(zf, info, shape, dtype)
            total += arr.nbytes
            check_bytes(total, f"{fname}: the arrays up to {quoted(name)}")
        except _Skip as exc:
            skipped[name] = str(exc)
            continue
        except EngineError as exc:  # over the memory budget
            raise CheckpointError(str(exc)) from None
        arrays[name] = arr
    return arrays, skipped


class _Skip(Exception):
    """One member is not usable; the message says why."""


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, shape: Shape | None,
                 dtype: np.dtype[Any]) -> np.ndarray:
    with zf.open(info) as f:
        fp: BinaryIO = f  # type: ignore[assignment]
        try:
            version = np.lib.format.read_magic(fp)
            if version == (1, 0):
                got, fortran, stored = np.lib.format.read_array_header_1_0(fp)
            elif version == (2, 0):
                got, fortran, stored = np.lib.format.read_array_header_2_0(fp)
            else:
                raise _Skip(f"an .npy version {version} header, which is not read here")
        except (zipfile.BadZipFile, zlib.error) as exc:
            raise _Skip(f"damaged data ({' '.join(str(exc).split())[:80]})") from None
        except (ValueError, OSError, EOFError, SyntaxError) as exc:
            raise _Skip(f"not a NumPy array ({' '.join(str(exc).split())[:80]})") from None
        _check_kind(stored)
        if shape is not None and tuple(got) != tuple(shape):
            raise _Skip(f"shape {fmt_shape(tuple(got))} does not fit the parameter's "
                        f"{fmt_shape(shape)}")
        count = math.prod(got)
        nbytes = count * stored.itemsize
        if info.file_size != f.tell() + nbytes:  # the zip directory and the header disagree
            raise _Skip(f"{info.file_size:,} bytes in the archive, but its header describes "
                        f"{f.tell() + nbytes:,} (a damaged or crafted file)")
        try:
            data = f.read(nbytes)
        except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as exc:
            raise _Skip(f"damaged data ({' '.join(str(exc).split())[:80]})") from None
    if len(data) != nbytes:
        raise _Skip("the data ends early (a damaged file)")
    arr = np.frombuffer(data, dtype=stored, count=count).reshape(got, order="F" if fortran else "C")
    if not np.all(np.isfinite(arr)):
        where = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
        raise _Skip(f"has NaN or infinite values (the first at index {where or '()'})")
    with np.errstate(over="ignore"):
        out = np.array(arr, dtype=dtype, order="C")
    if not np.all(np.isfinite(out)):
        raise _Skip(f"has values too large for {dtype.name}")
    return out


def _check_kind(stored: np.dtype[Any]) -> None:
    if stored.fields is not None or stored.kind == "V":
        raise _Skip(f"a structured array ({fmt_bytes(stored.itemsize)} records), not numbers")
    if stored.kind == "c":
        raise _Skip("complex values; weights are real numbers (the imaginary part would be lost)")
    if stored.kind != "f":
        raise _Skip(f"values of type {stored.name}; weights are floating-point numbers")


def _check_arrays(arrays: Mapping[str, Any], want: Want, dtype: Any
                  ) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """The checks of :func:`read_npz` for arrays already in memory (from an earlier load)."""
    taken: dict[str, np.ndarray] = {}
    skipped: dict[str, str] = {}
    for name, value in arrays.items():
        shape, why = want(str(name))
        try:
            if why:
                raise _Skip(why)
            arr = np.asarray(value)
            _check_kind(arr.dtype)
            if shape is not None and arr.shape != tuple(shape):
                raise _Skip(f"shape {fmt_shape(arr.shape)} does not fit the parameter's "
                            f"{fmt_shape(shape)}")
            if not np.all(np.isfinite(arr)):
                raise _Skip("has NaN or infinite values")
            with np.errstate(over="ignore"):
                out = np.array(arr, dtype=dtype, order="C")
            if not np.all(np.isfinite(out)):
                raise _Skip(f"has values too large for {np.dtype(dtype).name}")
        except _Skip as exc:
            skipped[str(name)] = str(exc)
            continue
        taken[str(name)] = out
    return taken, skipped
