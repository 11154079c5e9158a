"""The command line against careless or hostile input: settings, data, weights and graph files
each refused with one clear line that names the thing; the file's dtype honoured."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from playground.cli import main
from playground.graph import GraphModel, save


def run_cli(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(args), out=out)
    return code, out.getvalue()


def cli_error(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str]]:
    """Exit code and stderr lines of a run that should fail."""
    code, _ = run_cli(*args)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, [line for line in err.splitlines() if line.strip()]


def test_eval_of_a_float32_graph_computes_in_float32(tmp_path):
    m = GraphModel(dtype="float32")
    x = m.add_node("input", "x", {"shape": [], "value": 0.1})
    f = m.add_node("mul_const", "f", {"c": 3.0})
    m.connect(x.id, f.id, "x")
    save(m, tmp_path / "f32.json")
    code, text = run_cli("eval", str(tmp_path / "f32.json"), "--json")
    assert code == 0
    value = json.loads(text)["nodes"]["f"]["value"]
    assert value == float(np.float32(0.1) * np.float32(3.0))
    assert value != 0.1 * 3.0  # what a float64 pass gives


def test_eval_refuses_weights_that_do_not_fit_one_line_per_failure(tmp_path, capsys):
    path = tmp_path / "w.npz"
    np.savez(path, W9=np.ones(3), W1=np.full((2, 16), np.nan))
    code, lines = cli_error(capsys, "eval", "moons_mlp", "--feed", "X=[[0, 0]]", "--feed",
                            "y=[1]", "--weights", str(path))
    assert code == 2
    assert lines[0] == "error: w.npz: 'W9' skipped: not a parameter of this graph"
    assert lines[1].startswith("error: w.npz: 'W1' skipped: has NaN or infinite values")
    assert "error: w.npz: no weights for parameter 'b3' (it keeps its current value)" in lines
    assert len(lines) == 2 + 5  # W1 is named once, as skipped


def test_eval_refuses_an_npy_given_as_npz(tmp_path, capsys):
    path = tmp_path / "w.npz"
    with open(path, "wb") as fh:
        np.save(fh, np.ones(3))
    code, lines = cli_error(capsys, "eval", "square_of_sum", "--weights", str(path))
    assert code == 2 and len(lines) == 1
    assert lines[0].startswith("error: w.npz is a single NumPy array (.npy)")
