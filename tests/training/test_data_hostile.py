"""Data against careless or hostile input: labels, class counts, huge cells, files that are not
files. Each refusal names the file, line, column, node or numbers involved."""

from __future__ import annotations

import io
import json
import os
import warnings
from pathlib import Path

import numpy as np
import pytest

from playground.cli import main
from playground.engine import memory
from playground.graph import compile_graph, load
from playground.training import TrainingError, bind
from playground.training.datasets import DatasetError, load_csv, load_dataset, preview_csv, split

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"


def csv(tmp_path: Path, text: str, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("cell", ["nan", "NaN", "inf", "-Infinity"])
def test_a_nan_label_is_refused_not_made_a_class(tmp_path: Path, cell: str) -> None:
    path = csv(tmp_path, f"a,b,label\n1,2,0\n3,4,1\n5,6,{cell}\n7,8,1\n")
    with pytest.raises(DatasetError, match=rf"^data\.csv line 4, column 'label': the label "
                                           rf"'{cell}' is not a finite number"):
        load_csv(path)


def test_huge_cells_that_overflow_standardisation_name_the_column(tmp_path: Path) -> None:
    path = csv(tmp_path, "a,big,label\n" + "".join(f"{i},{(-1) ** i}e308,{i % 2}\n"
                                                    for i in range(20)))
    ds = load_csv(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning may leak
        with pytest.raises(DatasetError, match=r"^data: feature 'big' cannot be standardised: "
                                               r"its values \(up to 1e\+308 in size\) overflow"):
            split(ds, val_fraction=0.25)
        unscaled = split(ds, val_fraction=0.25, standardize=False)
    assert np.isfinite(unscaled.X_train).all()


@pytest.mark.timeout(20)
def test_only_regular_csv_files_are_read(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    for call in (load_csv, preview_csv):
        with pytest.raises(DatasetError, match=r"pipe\.csv is a pipe \(FIFO\), not a CSV file"):
            call(fifo)
    if Path("/dev/zero").exists():
        with pytest.raises(DatasetError, match=r"^/dev/zero is a device, not a CSV file"):
            load_csv("/dev/zero")


def test_a_csv_over_the_size_limit_is_refused_before_reading(tmp_path: Path) -> None:
    path = csv(tmp_path, "a,label\n" + "1,0\n2,1\n" * 1000)
    too_large = r"^data\.csv is too large: 8,008 bytes; a CSV file may have at most 1,024"
    with memory.budget("64K"), pytest.raises(DatasetError, match=too_large):
        load_csv(path)  # a CSV may use 1/64 of the budget: 1 kB here
    assert load_csv(path).n_samples == 2000


def test_preview_reads_the_first_rows(tmp_path: Path) -> None:
    path = csv(tmp_path, "\ufeffa;b;label\n" + "1;2;x\n" * 30)
    header, rows = preview_csv(path, rows=5)
    assert header == ["a", "b", "label"] and rows == [["1", "2", "x"]] * 5


def program_of(example: str):
    return compile_graph(load(EXAMPLES / f"{example}.json"))


@pytest.mark.parametrize(("example", "dataset", "message"), [
    ("moons_mlp", "blobs", (r"'blobs' has 3 classes but 'z3' gives 2 scores per sample; the "
                            r"graph's output must be 3 wide")),
    ("digits_mlp", "iris", r"'iris' has 3 classes but 'z2' gives 10 scores per sample"),
    ("moons_mlp", "sine", (r"'loss' \(softmax cross-entropy\) needs class labels, but 'sine' "
                           r"is a regression dataset")),
])
def test_class_counts_are_checked_against_the_output_width(example: str, dataset: str,
                                                           message: str) -> None:
    ds = load_dataset(dataset) if dataset in ("iris",) else load_dataset(dataset, n_samples=60)
    features = {"digits_mlp": 64, "moons_mlp": 2}[example]
    if ds.n_features != features:  # give the data the feature count the graph takes
        X = np.resize(ds.X, (ds.n_samples, features))
        ds = type(ds)(ds.name, X, ds.y, ds.task, ds.classes, tuple(f"f{i}" for i in range(
            features)))
    with pytest.raises(TrainingError, match=message):
        bind(program_of(example), split(ds, val_fraction=0.2))


def test_21_distinct_integer_labels_do_not_train_a_cross_entropy_graph(tmp_path: Path) -> None:
    # read as regression (more than 20 distinct integers): a classifier must not train on it
    path = csv(tmp_path, "a,b,label\n" + "".join(f"{i},{i % 7},{i % 21}\n" for i in range(84)))
    ds = load_csv(path)
    assert ds.task == "regression"
    with pytest.raises(TrainingError, match="needs class labels, but 'data' is a regression"):
        bind(program_of("moons_mlp"), split(ds))


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    out = io.StringIO()
    code = main(list(args), out=out)
    return code, out.getvalue(), capsys.readouterr().err


def test_cli_negative_label_index_and_the_class_mapping(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    names = np.where(X[:, 0] > 0, "right", "left")
    path = csv(tmp_path, "side,a,b\n" + "".join(f"{s},{p:.4f},{q:.4f}\n"
                                                for s, (p, q) in zip(names, X, strict=True)))
    code, out, err = run(capsys, "train", "moons_mlp", "--csv", str(path), "--label", "0",
                         "--epochs", "1")
    assert code == 0, err
    assert "classes: 0 = 'left', 1 = 'right'" in out
    code, out, err = run(capsys, "train", "moons_mlp", "--csv", str(path), "--label", "-3",
                         "--epochs", "1", "--json")
    assert code == 0, err
    assert json.loads(out.splitlines()[0])["classes"] == ["left", "right"]
    code, out, err = run(capsys, "train", "moons_mlp", "--csv", str(path), "--label", "-4",
                         "--epochs", "1")
    assert code == 2 and "an index from 0 to 2 (or -3 to -1 from the end)" in err
