"""The one entry point the CLI and the window call: :func:`export` and :func:`import_onnx`.

``export(model, fmt, path, weights=None, progress=None)`` writes ``fmt`` (``onnx``, ``numpy``,
``notebook`` or ``pytorch``) and returns an :class:`ExportReport` with the files written and,
where a check can run, the largest difference between the export's numbers and the app's.
Errors are :class:`ExportError` (one line, naming the node and op at fault where there is one).
Qt-free; safe to call from a worker thread (it touches only the model it is given, read-only).
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..graph import GraphModel
from ..graph.serialize import atomic_write
from ..training import TrainConfig
from ..training.datasets import Split
from ..training.workbench import DataSettings
from .common import (
    PARITY_TOLERANCE,
    ExportError,
    ExportReport,
    Setup,
    compile_for_export,
    make_setup,
    read_meta,
    sample_feeds,
    split_for,
    to_arrays,
)

Progress = Callable[[float, str], None]
FORMATS = ("pytorch", "onnx", "numpy", "notebook")
FORMAT_LABELS = {"pytorch": "PyTorch project", "onnx": "ONNX model", "numpy": "NumPy script",
                 "notebook": "Jupyter notebook"}
SUFFIXES = {"pytorch": "", "onnx": ".onnx", "numpy": ".py", "notebook": ".ipynb"}


def available_formats() -> dict[str, str]:
    """Format → '' when it can be written here, else why not (for greying out a menu item)."""
    need = {"onnx": "onnx", "notebook": "nbformat"}
    return {fmt: ("" if fmt not in need or importlib.util.find_spec(need[fmt]) else
                  f"needs the Python package '{need[fmt]}'") for fmt in FORMATS}


@dataclass(frozen=True)
class Job:
    """Everything an exporter needs, prepared once."""

    model: GraphModel
    program: Any
    arrays: dict[str, np.ndarray]  # starting parameter values by node name
    setup: Setup | None  # training split, settings and binding; None when the graph cannot train
    feeds: dict[str, np.ndarray]  # sample inputs for the parity check and the one-pass scripts
    title: str
    description: str


def prepare(model: GraphModel, weights: Mapping[str, Any] | str | os.PathLike[str] | None = None,
            data: Split | None = None, config: TrainConfig | None = None,
            dtype: str | None = None, settings: DataSettings | None = None) -> Job:
    """Compile ``model``, work out its training setup and the starting weights.

    The data: ``settings`` (the workbench's :class:`DataSettings`) or a ready ``data`` split,
    else the graph's ``meta.training`` (read by the workbench's ``read_training``); the split
    is the workbench's ``make_split``. ``config``: else the graph's. ``weights``: arrays by
    name, or an .npz; without them, the initialisation a run in the app would draw from the
    seed."""
    program = compile_for_export(model, dtype)
    if config is None or (data is None and settings is None):
        file_settings, file_config = read_meta(model)
        config = config or file_config
        settings = settings or (file_settings if data is None else None)
    if data is None and settings is not None:
        data = split_for(program, settings)
    setup = make_setup(program, data, config, settings)  # initialises the weights as a run would
    if setup is None:
        program.init_params(config.seed)
    if isinstance(weights, (str, os.PathLike)):
        from ..training import CheckpointError, load_params

        try:
            weights = load_params(weights)
        except CheckpointError as exc:
            raise ExportError(str(exc)) from None
    arrays = to_arrays(program, weights)
    program.set_params(arrays)
    feeds = sample_feeds(program, data=data)
    title = str(model.meta.get("title") or "Backprop Playground graph")
    return Job(model, program, arrays, setup, feeds, title,
               str(model.meta.get("description") or ""))


def export(model: GraphModel, fmt: str, path: str | os.PathLike[str],
           weights: Mapping[str, Any] | str | os.PathLike[str] | None = None,
           progress: Progress | None = None, *, data: Split | None = None,
           config: TrainConfig | None = None, settings: DataSettings | None = None,
           with_loss: bool = False, check: bool = True) -> ExportReport:
    """Write ``model`` as ``fmt`` to ``path`` (a folder for ``pytorch``, a file otherwise).

    ``settings`` (data settings) or ``data`` (a ready split), and ``config``: what the exported
    training code reproduces (default: the graph's ``meta.training``). ``with_loss``: ONNX keeps the loss and its target input.
    ``check``: run the parity check where one can run here.
    """
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format '{fmt}' (known: {', '.join(FORMATS)})")
    why = available_formats()[fmt]
    if why:
        raise ExportError(f"the {FORMAT_LABELS[fmt]} export {why}")
    report = progress or (lambda fraction, message: None)
    report(0.0, "compiling the graph")
    job = prepare(model, weights, data, config, settings=settings)
    report(0.2, f"writing the {FORMAT_LABELS[fmt]}")
    out = Path(path)
    if fmt == "onnx":
        return _export_onnx(job, out, with_loss, check, report)
    if fmt in ("numpy", "notebook"):
        from .numpy_export import export_numpy

        return export_numpy(job, out, fmt, check, report)
    from .torch_export import export_pytorch

    return export_pytorch(job, out, check, report)


def _export_onnx(job: Job, out: Path, with_loss: bool, check: bool,
                 report: Progress) -> ExportReport:
    from .onnx_export import build_model, has_onnxruntime, parity

    proto = build_model(job.program, job.arrays, with_loss, job.title, job.description)
    write_bytes(out, proto.SerializeToString())
    result = ExportReport("onnx", [str(out)], notes=[], tolerance=tolerance(job))
    if check:
        report(0.6, "checking the ONNX model against the app (onnx.reference)")
        result.max_difference = parity(proto, job.program, job.feeds)
        result.checked_with = "onnx.reference.ReferenceEvaluator"
        if has_onnxruntime():
            report(0.8, "checking with onnxruntime")
            ort = parity(proto, job.program, job.feeds, "onnxruntime")
            result.max_difference = max(result.max_difference, ort)
            result.checked_with += " and onnxruntime"
    report(1.0, "done")
    return result


def tolerance(job: Job) -> float:
    return PARITY_TOLERANCE[job.program.dtype.name]


def write_bytes(path: Path, data: bytes) -> None:
    try:
        atomic_write(path, data)
    except OSError as exc:
        raise ExportError(f"{path}: cannot be written ({exc.strerror or exc})") from None


def write_text(path: Path, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def write_npz(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    import io

    buf = io.BytesIO()
    np.savez(buf, **dict(arrays))  # type: ignore[arg-type]
    write_bytes(path, buf.getvalue())
