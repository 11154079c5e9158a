"""What a graph file can hold: a value that JSON can write and UTF-8 can encode.

A document that loads must save again, so :func:`saveable_problem` is asked at the load and at
every edit of ``meta``; anything it refuses would otherwise fail only at the next save.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Any

from ..engine.registry import quoted

MAX_META_DEPTH = 32  # nesting of lists and objects in ``meta``; deeper cannot be saved reliably


def saveable_problem(value: Any, where: str, max_depth: int = MAX_META_DEPTH) -> str | None:
    """Why ``value`` could not be written to a graph file as JSON, or None when it can: nested
    deeper than ``max_depth``, a key that is not text, text with a lone surrogate (not UTF-8),
    or a value that is not a JSON type. ``where`` names it in the answer (``meta``). Iterative,
    so a value nested thousands deep is answered, not a RecursionError."""
    stack: list[tuple[Any, str, int]] = [(value, where, 0)]
    while stack:
        v, path, depth = stack.pop()
        if isinstance(v, str):
            if any(unicodedata.category(c) == "Cs" for c in v):
                return f"{path}: the text {quoted(v)} has a lone surrogate (not UTF-8 text)"
        elif v is None or isinstance(v, (bool, int, float)):
            continue
        elif isinstance(v, (list, tuple, Mapping)):
            if depth >= max_depth:
                return f"{path}: nested deeper than {max_depth} levels"
            if isinstance(v, Mapping):
                for k, item in v.items():
                    if not isinstance(k, str):
                        return f"{path}: the key {quoted(k)} is not text"
                    stack.append((k, f"{path}.{k}", depth + 1))
                    stack.append((item, f"{path}.{k}", depth + 1))
            else:
                stack.extend((item, f"{path}[{i}]", depth + 1) for i, item in enumerate(v))
        else:
            return f"{path}: a {type(v).__name__} is not a JSON value"
    return None
