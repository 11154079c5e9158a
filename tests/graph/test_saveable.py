"""A graph that cannot be saved is refused where it comes in (the load, the edit), and a save
that fails anyway says so with a typed error and leaves the file as it was."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from playground.graph import FileFormatError, GraphError, GraphModel, SaveError, dumps, load, save
from playground.graph.saveable import MAX_META_DEPTH

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"


def example() -> dict[str, Any]:
    return json.loads((EXAMPLES / "square_of_sum.json").read_text(encoding="utf-8"))


def nested(depth: int) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = {"x": value}
    return value


def write(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "g.json"
    # json.dumps escapes a lone surrogate as \ud800, as a hostile file would have it
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.mark.parametrize(("edit", "message"), [
    (lambda d: d["meta"].update(title="Graph \ud800"),
     r"g\.json: meta\.title: the text 'Graph \\ud800' has a lone surrogate"),
    (lambda d: d["meta"].update(deep=nested(900)),
     rf"g\.json: meta\.deep\.x\.x.*: nested deeper than {MAX_META_DEPTH} levels"),
    (lambda d: d["nodes"][0].update(name="x\ud800"), r"'x\\ud800' is not a usable node name"),
    (lambda d: d["nodes"][0].update(id="n\udfff"), r"the id 'n\\udfff' must be printable"),
    (lambda d: d["edges"][0].update(id="e\n1"), r"the id 'e\\n1' must be printable"),
])
def test_a_file_that_could_not_be_saved_again_is_refused_at_load(tmp_path: Path, edit: Any,
                                                                  message: str) -> None:
    data = example()
    edit(data)
    with pytest.raises(FileFormatError, match=message) as info:
        load(write(tmp_path, data))
    assert "\n" not in str(info.value)


def test_meta_at_the_depth_limit_loads_and_saves(tmp_path: Path) -> None:
    data = example()
    data["meta"]["deep"] = nested(MAX_META_DEPTH - 2)  # meta itself and "deep" are two levels
    model = load(write(tmp_path, data))
    save(model, tmp_path / "again.json")
    assert load(tmp_path / "again.json").meta == model.meta


@pytest.mark.parametrize(("value", "message"), [
    ("\ud800", r"meta\.title: the text '\\ud800' has a lone surrogate"),
    (nested(100), r"meta\.title(\.x)+: nested deeper than"),
    ({1: "a"}, r"the key '1' is not text"),
    (object(), r"meta\.title: a object is not a JSON value"),
])
def test_set_meta_refuses_what_could_not_be_saved(value: Any, message: str) -> None:
    m = GraphModel()
    seen: list[Any] = []
    m.meta_changed.connect(lambda *a: seen.append(a))
    with pytest.raises(GraphError, match=message):
        m.set_meta("title", value)
    assert m.meta == {} and seen == []
    m.set_meta("title", "fine ∂")
    assert m.meta == {"title": "fine ∂"} and len(seen) == 1


@pytest.mark.parametrize("value", ["\ud800", nested(5000), {(1, 2): "x"}, {"a": {1, 2}}])
def test_a_save_that_cannot_serialise_raises_save_error_and_keeps_the_file(
        tmp_path: Path, value: Any) -> None:
    model = load(EXAMPLES / "square_of_sum.json")
    model.meta["title"] = value  # around set_meta, as code that edits meta directly may do
    path = tmp_path / "g.json"
    path.write_bytes(b"the old file")
    with pytest.raises(SaveError) as info:
        save(model, path)
    assert isinstance(info.value, OSError)  # reported wherever a full disk is reported
    text = str(info.value)
    assert text.startswith("the graph cannot be saved: ") and "\n" not in text
    assert path.read_bytes() == b"the old file"
    assert [p.name for p in tmp_path.iterdir()] == ["g.json"]
    with pytest.raises(SaveError):
        dumps(model)
