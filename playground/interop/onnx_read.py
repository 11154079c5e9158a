"""Read an ONNX file defensively: every size is checked from the protobuf's own fields before a
single array is allocated, external data is refused (it would read other files), and every
problem is one :class:`OnnxImportError` line that names what is wrong."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..engine.registry import MAX_DIM, MAX_ELEMENTS
from .common import InteropError

MAX_FILE_BYTES = 512 * 1024 * 1024
MAX_NODES = 5_000  # a canvas of more gates than this is not readable anyway
MAX_TOTAL_ELEMENTS = 4 * MAX_ELEMENTS

# TensorProto data types this reader decodes: number → (numpy dtype, the typed field holding data)
DTYPES: dict[int, tuple[np.dtype, str]] = {
    1: (np.dtype("<f4"), "float_data"), 11: (np.dtype("<f8"), "double_data"),
    7: (np.dtype("<i8"), "int64_data"), 6: (np.dtype("<i4"), "int32_data"),
}
_TYPE_NAMES = {1: "float32", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 6: "int32",
               7: "int64", 8: "string", 9: "bool", 10: "float16", 11: "float64", 12: "uint32",
               13: "uint64", 16: "bfloat16"}


class OnnxImportError(InteropError):
    """An ONNX file that cannot be imported; the message is one line saying why."""


def type_name(code: int) -> str:
    return _TYPE_NAMES.get(code, f"type {code}")


def read_model(path: str | os.PathLike[str]) -> Any:
    """Parse ``path`` into an ``onnx.ModelProto`` without following external data."""
    from google.protobuf.message import DecodeError  # type: ignore[import-untyped]
    from onnx import ModelProto

    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_FILE_BYTES:
            raise OnnxImportError(f"{p.name}: {size} bytes is more than this app imports "
                                  f"({MAX_FILE_BYTES // 2**20} MiB)")
        data = p.read_bytes()
    except FileNotFoundError:
        raise OnnxImportError(f"{p}: no such file") from None
    except IsADirectoryError:
        raise OnnxImportError(f"{p}: is a folder, not an ONNX file") from None
    except OSError as exc:
        raise OnnxImportError(f"{p}: cannot be read ({exc.strerror or exc})") from None
    except ValueError as exc:  # a NUL in the path
        raise OnnxImportError(f"{path!r}: not a usable file name ({exc})") from None
    proto = ModelProto()
    try:
        proto.ParseFromString(data)
    except (DecodeError, RuntimeError, ValueError) as exc:
        raise OnnxImportError(f"{p.name}: not an ONNX model, or the file is truncated or "
                              f"damaged ({_short(exc)})") from None
    if not proto.HasField("graph") or not proto.graph.output or proto.ir_version <= 0:
        raise OnnxImportError(f"{p.name}: not an ONNX model (no graph with outputs in it)")
    return proto


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:120] if text else type(exc).__name__


def opset_of(proto: Any) -> int:
    import onnx

    versions = [o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")]
    if not versions:
        raise OnnxImportError("the model imports no version of the standard ONNX operator set")
    version = int(versions[0])
    newest = onnx.defs.onnx_opset_version()
    if not 7 <= version <= newest:
        raise OnnxImportError(f"the model uses opset {version}; this app imports opsets 7 to "
                              f"{newest}")
    return version


def check_model_limits(proto: Any) -> None:
    g = proto.graph
    if len(g.node) > MAX_NODES:
        raise OnnxImportError(f"the model has {len(g.node)} nodes; the canvas takes at most "
                              f"{MAX_NODES}")
    if len(g.sparse_initializer):
        raise OnnxImportError("the model has sparse initializers, which this app does not read")
    total = 0
    for t in g.initializer:
        total += tensor_size(t, f"initializer '{t.name}'")
    if total > MAX_TOTAL_ELEMENTS:
        raise OnnxImportError(f"the model's weights hold {total} numbers, more than this app "
                              f"imports ({MAX_TOTAL_ELEMENTS})")


def tensor_size(t: Any, what: str) -> int:
    """The element count of a TensorProto, from its dims, refusing external data and absurd or
    inconsistent sizes before anything is decoded."""
    if t.data_location == 1 or len(t.external_data):
        where = next((e.value for e in t.external_data if e.key == "location"), "another file")
        raise OnnxImportError(f"{what} keeps its data in '{where}' (external data); import a "
                              "self-contained model (onnx.save with save_as_external_data=False)")
    if t.data_type not in DTYPES:
        raise OnnxImportError(f"{what} holds {type_name(t.data_type)} numbers; this app reads "
                              "float32, float64 and integer tensors")
    dims = list(t.dims)
    if len(dims) > 6 or any(d < 0 or d > MAX_DIM for d in dims):
        raise OnnxImportError(f"{what} has an unusable shape {dims} (at most 6 axes of up to "
                              f"{MAX_DIM})")
    count = math.prod(dims)
    if count > MAX_ELEMENTS:
        raise OnnxImportError(f"{what} has {count} numbers (shape {dims}), more than this app "
                              f"imports ({MAX_ELEMENTS})")
    dtype, field = DTYPES[t.data_type]
    have = len(t.raw_data) // dtype.itemsize if t.raw_data else len(getattr(t, field))
    if have != count:
        raise OnnxImportError(f"{what} should hold {count} numbers (shape {dims}) but holds "
                              f"{have}: the file is damaged")
    return count


def to_array(t: Any, what: str) -> np.ndarray:
    """A checked TensorProto as a NumPy array (float64/float32 stay, integers become int64)."""
    tensor_size(t, what)
    dtype, field = DTYPES[t.data_type]
    if t.raw_data:
        arr = np.frombuffer(t.raw_data, dtype=dtype).copy()
    else:
        arr = np.asarray(getattr(t, field), dtype=dtype.newbyteorder("="))
    arr = arr.reshape(tuple(t.dims))
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        raise OnnxImportError(f"{what} holds NaN or infinite numbers")
    return arr.astype(np.int64) if arr.dtype.kind == "i" else arr.astype(arr.dtype.newbyteorder("="))


@dataclass(frozen=True)
class InputSpec:
    name: str
    shape: list[int | None]
    elem: int


def graph_input(vi: Any) -> InputSpec:
    """A graph input's name, shape (symbolic or unknown sizes become the batch, ``None``) and
    element type; refused when it is not a float tensor with a known rank and sane sizes."""
    what = f"input '{vi.name}'"
    if not vi.type.HasField("tensor_type"):
        raise OnnxImportError(f"{what} is not a tensor (sequences and maps are not supported)")
    tt = vi.type.tensor_type
    if tt.elem_type not in (1, 11):
        raise OnnxImportError(f"{what} takes {type_name(tt.elem_type)} numbers; this app's "
                              "inputs are float32 or float64")
    if not tt.HasField("shape"):
        raise OnnxImportError(f"{what} has no shape; the app needs to know its axes")
    shape: list[int | None] = []
    for d in tt.shape.dim:
        if d.HasField("dim_value"):
            if not 1 <= d.dim_value <= MAX_DIM:
                raise OnnxImportError(f"{what} has an unusable size {d.dim_value} (sizes go from "
                                      f"1 to {MAX_DIM})")
            shape.append(int(d.dim_value))
        else:
            shape.append(None)
    if len(shape) > 6:
        raise OnnxImportError(f"{what} has {len(shape)} axes; the app takes at most 6")
    return InputSpec(vi.name, shape, tt.elem_type)


def attributes(node: Any) -> dict[str, Any]:
    """A node's attributes as plain values (ints, floats, lists, tensors as arrays)."""
    from onnx import AttributeProto as A

    out: dict[str, Any] = {}
    for a in node.attribute:
        if a.type == A.INT:
            out[a.name] = int(a.i)
        elif a.type == A.FLOAT:
            out[a.name] = float(a.f)
        elif a.type == A.INTS:
            if len(a.ints) > 64:
                raise OnnxImportError(f"node '{node.name}': attribute '{a.name}' is too long")
            out[a.name] = [int(v) for v in a.ints]
        elif a.type == A.FLOATS:
            if len(a.floats) > MAX_ELEMENTS:
                raise OnnxImportError(f"node '{node.name}': attribute '{a.name}' is too long")
            out[a.name] = [float(v) for v in a.floats]
        elif a.type == A.TENSOR:
            out[a.name] = to_array(a.t, f"the value of node '{node.name}'")
        elif a.type == A.STRING:
            out[a.name] = a.s.decode("utf-8", "replace")
        else:
            out[a.name] = None  # graphs and the like: no op this app imports has them
    return out
