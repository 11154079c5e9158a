"""Datasets from CSV files: a header row, a label column (by name or index, negative from the end),
numeric features; NaN labels, non-numeric cells and files that are not regular or too large are
refused with the line and column. Plain Python and NumPy, no Qt."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import numpy as np

from ..engine.memory import memory_budget
from ..graph.files import read_limited
from .datasets import TASKS, Dataset, DatasetError

MAX_CSV_BYTES = 256 * 1024**2


CSV_EXPANSION = 64  # parsed cells take up to ~55× the bytes of the file (one-digit cells)


def csv_limit() -> int:
    """The largest CSV file read: what its parsed cells would need must fit the memory
    budget, and never more than :data:`MAX_CSV_BYTES`."""
    return max(1024, min(MAX_CSV_BYTES, memory_budget() // CSV_EXPANSION))


def _read_text(path: Path) -> str:
    data = read_limited(path, "CSV file", csv_limit(), DatasetError)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise DatasetError(f"{path.name} line {line}: byte 0x{data[e.start]:02x} is not UTF-8 "
                           "text; save the file as UTF-8 CSV") from None


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _missing(text: str) -> bool:
    """A cell that reads as NaN or infinity: a missing or broken value, not a class name."""
    try:
        return not math.isfinite(float(text))
    except ValueError:
        return False


def _why_not_a_number(cell: str) -> str:
    if not cell:
        return "the cell is empty"
    try:
        float(cell)
    except ValueError:
        return f"{cell!r} is not a number"
    return f"{cell!r} is not a finite number"


def load_csv(
    path: str | Path,
    label: str | int | None = None,
    task: str | None = None,
    delimiter: str | None = None,
    min_classes: int = 2,
) -> Dataset:
    """A dataset from a CSV file with a header row. ``label`` is the target column (name or
    0-based index; default the last). ``task`` is guessed when None: non-numeric labels, or
    at most 20 distinct integers, mean classification; other numbers mean regression.
    ``min_classes`` (1 for a test file) is the fewest classes classification accepts."""
    path = Path(path)
    fname = path.name
    if task is not None and task not in TASKS:
        raise DatasetError(f"task must be 'classification', 'regression' or None, not {task!r}")
    text = _read_text(path)
    lines = text.splitlines()
    first = next((ln for ln in lines if ln.strip()), None)
    if first is None:
        raise DatasetError(f"{fname} is empty; a CSV file needs a header row and data rows")
    if delimiter is None:  # the candidate seen most often in the header row
        delimiter = max((",", ";", "\t"), key=first.count)
    elif not (isinstance(delimiter, str) and len(delimiter) == 1 and delimiter not in "\"\r\n"):
        raise DatasetError(f"the delimiter must be one character, such as ',', not {delimiter!r}")

    rows: list[tuple[int, list[str]]] = []  # (line number, cells)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for cells in reader:
            if cells and any(c.strip() for c in cells):
                rows.append((reader.line_num, [c.strip() for c in cells]))
    except csv.Error as e:
        raise DatasetError(f"{fname} line {reader.line_num}: cannot read the row ({e})") from None

    if not rows:
        raise DatasetError(f"{fname} has no header row; the first line must name the columns")
    (hline, header), body = rows[0], rows[1:]
    if len(header) < 2:
        raise DatasetError(f"{fname} line {hline}: found one column {header[0]!r} with delimiter "
                           f"{delimiter!r}; need at least one feature and a label column")
    for i, col in enumerate(header):
        if not col:
            raise DatasetError(f"{fname} line {hline}: column {i + 1} has no name")
        if header.count(col) > 1:
            raise DatasetError(f"{fname} line {hline}: column name {col!r} appears more than once")
    if not body:
        raise DatasetError(f"{fname} has a header row but no data rows")
    for line, cells in body:
        if len(cells) != len(header):
            raise DatasetError(f"{fname} line {line}: {len(cells)} cells, but the header has "
                               f"{len(header)} columns")

    if label is None:
        li = len(header) - 1
    elif isinstance(label, str):
        if label not in header:
            raise DatasetError(f"{fname} has no column {label!r} (columns: {', '.join(header)})")
        li = header.index(label)
    elif isinstance(label, int) and not isinstance(label, bool) and -len(header) <= label < len(
            header):
        li = label % len(header)
    else:
        raise DatasetError(f"label must be a column name or an index from 0 to {len(header) - 1}"
                           f" (or {-len(header)} to -1 from the end), not {label!r}")
    label_name = header[li]
    feature_cols = [i for i in range(len(header)) if i != li]

    try:  # fast path; on failure go cell by cell to name the first bad one
        X = np.array([[cells[i] for i in feature_cols] for _, cells in body], dtype=np.float64)
        ok = bool(np.isfinite(X).all())
    except ValueError:
        ok = False
    if not ok:
        values = []
        for line, cells in body:
            for i in feature_cols:
                value = _number(cells[i])
                if value is None:
                    raise DatasetError(f"{fname} line {line}, column {header[i]!r}: "
                                       f"{_why_not_a_number(cells[i])}")
                values.append(value)
        X = np.array(values, dtype=np.float64).reshape(len(body), len(feature_cols))

    labels = [cells[li] for _, cells in body]
    numbers = [_number(v) for v in labels]
    numeric = all(v is not None for v in numbers)
    for (line, _), v in zip(body, labels, strict=True):
        if not v:
            raise DatasetError(f"{fname} line {line}, column {label_name!r}: the label is empty")
        if _missing(v):
            raise DatasetError(f"{fname} line {line}, column {label_name!r}: the label {v!r} is "
                               "not a finite number; every row needs a class name or a number")
    if task is None:
        integral = numeric and all(float(v).is_integer() for v in numbers)  # type: ignore[arg-type]
        task = ("classification" if not numeric or (integral and len(set(numbers)) <= 20)
                else "regression")
    features = tuple(header[i] for i in feature_cols)
    description = f"{len(body)} rows from {fname}; label column {label_name!r}"

    if task == "regression":
        if not numeric:
            line, v = next((ln, v) for (ln, _), v, n in zip(body, labels, numbers, strict=True)
                           if n is None)
            raise DatasetError(f"{fname} line {line}, column {label_name!r}: {v!r} is not a "
                               "number, and a regression target must be one")
        return Dataset(path.stem, X, np.array(numbers, dtype=np.float64), "regression", (),
                       features, description=description)

    keys = numbers if numeric else labels  # numeric labels sort as numbers: 2 before 10
    names: dict[object, str] = {}
    for k, v in zip(keys, labels, strict=True):
        names.setdefault(k, v)
    order = sorted(names)  # type: ignore[type-var]
    if len(order) < min_classes:
        raise DatasetError(f"{fname}: label column {label_name!r} has only the value "
                           f"{labels[0]!r}; classification needs at least two classes")
    index = {k: i for i, k in enumerate(order)}
    y = np.array([index[k] for k in keys], dtype=np.int64)
    return Dataset(path.stem, X, y, "classification", tuple(names[k] for k in order), features,
                   description=description)


def preview_csv(path: str | Path, rows: int = 12) -> tuple[list[str], list[list[str]]]:
    """The header and the first ``rows`` rows of a CSV file, for a preview: read like
    :func:`load_csv` (a regular file within the size limit, UTF-8 with or without a BOM)."""
    text = _read_text(Path(path))
    lines = text.splitlines()[: rows + 1]
    first = next((ln for ln in lines if ln.strip()), "")
    delimiter = max((",", ";", "\t"), key=first.count)
    parsed = list(csv.reader(lines, delimiter=delimiter))
    return (parsed[0] if parsed else []), parsed[1:]
