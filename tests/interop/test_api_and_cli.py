"""The API the window calls (export with progress, explicit data and settings, weights files,
clear errors) and the export/import commands of the command line."""

from __future__ import annotations

import io
import itertools
import json
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest
from conftest import ROOT

from playground.cli import main
from playground.graph import load
from playground.interop import (
    FORMATS,
    ExportError,
    available_formats,
    export,
    import_onnx,
    prepare,
)
from playground.interop.numpy_export import load_script
from playground.training import save_params
from playground.training.datasets import load_dataset, split
from playground.training.workbench import read_training
from tests.interop.interop_helpers import example


def run_cli(*args):
    out = io.StringIO()
    code = main(list(args), out=out)
    return code, out.getvalue()


@pytest.mark.parametrize("fmt", FORMATS)
def test_export_reports_progress_files_and_parity(tmp_path, fmt):
    seen = []
    names = {"onnx": "m.onnx", "numpy": "m.py", "notebook": "m.ipynb", "pytorch": "proj"}
    target = tmp_path / names[fmt]
    report = export(example("moons_mlp"), fmt, target, progress=lambda f, m: seen.append((f, m)))
    assert seen[0][0] == 0.0 and seen[-1] == (1.0, "done")
    assert all(a[0] <= b[0] for a, b in itertools.pairwise(seen))
    assert report.format == fmt and all((tmp_path / f).exists() for f in report.files)
    if report.max_difference is not None:
        assert report.ok and report.max_difference <= 1e-10
    assert available_formats()[fmt] == ""


def test_weights_from_a_file_or_arrays_become_the_starting_point(tmp_path):
    model = example("digits_mlp")
    job = prepare(model)
    trained = {k: v + 0.5 for k, v in job.arrays.items()}
    job.program.set_params(trained)
    save_params(job.program, tmp_path / "w.npz")
    for weights in (tmp_path / "w.npz", trained):
        export(model, "numpy", tmp_path / "s.py", weights=weights)
        with np.load(tmp_path / "s.npz") as data:
            assert np.array_equal(data["param:W1"], trained["W1"])


def test_explicit_data_and_settings_override_the_graphs(tmp_path):
    model = example("moons_mlp")
    data = split(load_dataset("moons", n_samples=100, seed=3), val_fraction=0.2, seed=3)
    _, config = read_training(model.meta["training"])
    config = replace(config, batch_size=10, optimizer="sgd", seed=3)
    export(model, "numpy", tmp_path / "s.py", data=data, config=config)
    text = (tmp_path / "s.py").read_text()
    assert "BATCH_SIZE = 10" in text and "SEED = 3" in text and "class Optimizer:\n    \"\"\"SGD" in text
    ns = load_script(text, tmp_path / "s.npz")
    _, losses, _ = ns["train"](1, log=lambda line: None)
    assert len(losses) == 8  # 80 training samples in batches of 10


def test_errors_are_typed_and_one_line(tmp_path):
    with pytest.raises(ExportError, match="unknown export format 'keras'"):
        export(example("moons_mlp"), "keras", tmp_path / "x")
    with pytest.raises(ExportError, match="W1.*shape"):
        export(example("moons_mlp"), "onnx", tmp_path / "x.onnx", weights={"W1": np.zeros(3)})
    with pytest.raises(ExportError, match="not a weights file"):
        (tmp_path / "bad.npz").write_text("no")
        export(example("moons_mlp"), "onnx", tmp_path / "x.onnx", weights=tmp_path / "bad.npz")
    (tmp_path / "file").write_text("")
    with pytest.raises(ExportError, match="is a file"):
        export(example("moons_mlp"), "pytorch", tmp_path / "file", check=False)


@pytest.mark.parametrize("fmt, out", [("onnx", "m.onnx"), ("numpy", "m.py"),
                                      ("notebook", "m.ipynb"), ("pytorch", "proj")])
def test_cli_export_every_format_with_json_report(tmp_path, fmt, out):
    code, text = run_cli("export", "sine_regression", "--to", fmt, str(tmp_path / out), "--json")
    report = json.loads(text)
    assert code == 0 and report["format"] == fmt and report["ok"]
    assert (tmp_path / out).exists()


def test_cli_import_then_eval_the_imported_graph(tmp_path):
    assert run_cli("export", "digits_mlp", "--to", "onnx", str(tmp_path / "d.onnx"))[0] == 0
    code, text = run_cli("import", str(tmp_path / "d.onnx"), str(tmp_path / "d.json"))
    assert code == 0 and "imported 9 nodes (4 parameters)" in text
    graph = load(tmp_path / "d.json")
    direct = import_onnx(tmp_path / "d.onnx")
    assert graph.to_dict()["nodes"] == direct.to_dict()["nodes"]
    code, text = run_cli("eval", str(tmp_path / "d.json"), "--feed", f"X={json.dumps([[0.0] * 64])}",
                         "--json")
    assert code == 0 and len(json.loads(text)["nodes"]["probs"]["value"][0]) == 10


def test_cli_refusals_print_one_line(tmp_path):
    for args in (["export", "digits_mlp", "--to", "onnx", str(tmp_path / "no" / "x.onnx")],
                 ["export", "nope", "--to", "onnx", str(tmp_path / "x.onnx")],
                 ["import", str(tmp_path / "missing.onnx"), str(tmp_path / "g.json")]):
        result = subprocess.run([sys.executable, "-m", "playground", *args], cwd=ROOT,
                                capture_output=True, text=True, timeout=120, check=False)
        assert result.returncode != 0 and result.stderr.startswith("error: ")
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
