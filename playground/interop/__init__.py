"""Take a graph further: export to a PyTorch project, ONNX, a plain NumPy script or a notebook;
import ONNX. Qt-free (the window's File ▸ Export / Import and the CLI call this package).

    report = export(model, "onnx", "model.onnx", weights=None, progress=None)
    report.max_difference      # largest difference to the app's forward (None: no check ran)
    model = import_onnx("model.onnx")

``onnx`` and ``nbformat`` are imported only when an export or import needs them.
"""

from .api import FORMAT_LABELS, FORMATS, SUFFIXES, available_formats, export, prepare
from .common import ExportError, ExportReport, InteropError
from .onnx_import import import_onnx
from .onnx_read import OnnxImportError

__all__ = [
    "FORMATS", "FORMAT_LABELS", "SUFFIXES", "ExportError", "ExportReport", "InteropError",
    "OnnxImportError", "available_formats", "export", "import_onnx", "prepare",
]
