"""Tests of playground.training.datasets: built-in sets, CSV loading, splits, minibatches."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from playground.training.datasets import (
    BUILTIN,
    TWO_D,
    Dataset,
    DatasetError,
    load_csv,
    load_dataset,
    minibatches,
    split,
)

REPO = Path(__file__).resolve().parents[2]
SYNTHETIC = sorted(set(BUILTIN) - {"digits", "iris"})


# ---------------------------------------------------------------- built-in datasets

@pytest.mark.parametrize("name", sorted(BUILTIN))
def test_builtin_shapes_dtypes_and_labels(name):
    ds = load_dataset(name)
    assert isinstance(ds, Dataset) and ds.name == name
    assert ds.X.dtype == np.float64 and ds.X.ndim == 2
    assert np.isfinite(ds.X).all()
    assert len(ds.feature_names) == ds.n_features
    assert ds.is_2d == (name in TWO_D)
    assert ds.description
    if ds.task == "classification":
        assert ds.y.dtype == np.int64 and ds.y.shape == (ds.n_samples,)
        # every class 0..k-1 occurs, and nothing else
        assert set(np.unique(ds.y)) == set(range(ds.n_classes)) and ds.n_classes >= 2
    else:
        assert ds.y.dtype == np.float64 and ds.y.shape == (ds.n_samples, 1)
        assert ds.classes == () and ds.n_classes == 0


def test_digits_and_iris_are_the_real_sets():
    digits = load_dataset("digits")
    assert digits.X.shape == (1797, 64) and digits.image_shape == (8, 8)
    assert digits.X.min() == 0.0 and digits.X.max() == 1.0  # pixels 0..16 scaled by 1/16
    assert digits.classes == tuple(str(i) for i in range(10))
    iris = load_dataset("iris")
    assert iris.X.shape == (150, 4) and iris.image_shape is None
    assert iris.classes == ("setosa", "versicolor", "virginica")
    assert np.bincount(iris.y).tolist() == [50, 50, 50]


def test_sample_count_and_defaults():
    assert load_dataset("moons").n_samples == 400
    assert load_dataset("sine").n_samples == 200
    for name in SYNTHETIC:
        assert load_dataset(name, n_samples=37).n_samples == 37
    assert load_dataset("iris", n_samples=10).n_samples == 150  # ignored for the real sets


def test_sine_follows_sin_and_noise_controls_the_spread():
    clean = load_dataset("sine", noise=0.0)
    np.testing.assert_allclose(clean.y[:, 0], np.sin(clean.X[:, 0]))
    noisy = load_dataset("sine", noise=0.5)
    residual = noisy.y[:, 0] - np.sin(noisy.X[:, 0])
    assert 0.35 < residual.std() < 0.65


def test_xor_labels_follow_the_sign_of_the_product_when_clean():
    ds = load_dataset("xor", noise=0.1)
    product_positive = ds.X[:, 0] * ds.X[:, 1] > 0
    assert np.array_equal(product_positive.astype(np.int64), ds.y)


@pytest.mark.parametrize("name", SYNTHETIC)
def test_synthetic_sets_are_deterministic_in_the_seed(name):
    a, b = load_dataset(name, seed=3), load_dataset(name, seed=3)
    assert np.array_equal(a.X, b.X) and np.array_equal(a.y, b.y)
    c = load_dataset(name, seed=4)
    assert not np.array_equal(a.X, c.X)


def test_dataset_arrays_are_read_only():
    ds = load_dataset("moons")
    with pytest.raises(ValueError):
        ds.X[0, 0] = 1.0


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"name": "foo"}, "unknown dataset 'foo'"),
        ({"name": "moons", "n_samples": 3}, "n_samples"),
        ({"name": "moons", "n_samples": 1_000_001}, "n_samples"),
        ({"name": "moons", "noise": -0.1}, "noise"),
    ],
)
def test_bad_builtin_arguments(kwargs, fragment):
    with pytest.raises(DatasetError, match=fragment) as info:
        load_dataset(**kwargs)
    if kwargs["name"] == "foo":
        assert all(name in str(info.value) for name in BUILTIN)


def test_importing_the_module_does_not_import_sklearn():
    code = (
        "import sys, playground.training.datasets\n"
        "loaded = [m for m in sys.modules if m == 'sklearn' or m.startswith('sklearn.')]\n"
        "print(len(loaded))\n"
    )
    path = os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "PYTHONPATH": path}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         cwd=REPO, check=True)
    assert out.stdout.strip() == "0", out.stdout
    # and the check itself can see sklearn once a loader has run
    code2 = code.replace("\nloaded", "\nplayground.training.datasets.load_dataset('iris')\nloaded")
    out2 = subprocess.run([sys.executable, "-c", code2], capture_output=True, text=True, env=env,
                          cwd=REPO, check=True)
    assert int(out2.stdout.strip()) > 0


# ---------------------------------------------------------------- splits

def test_split_sizes_indices_and_labels():
    ds = load_dataset("moons", n_samples=200)
    s = split(ds, val_fraction=0.25, seed=1)
    assert len(s.val_index) == 50 and len(s.train_index) == 150
    both = np.concatenate([s.train_index, s.val_index])
    assert np.array_equal(np.sort(both), np.arange(200))  # disjoint and covering
    assert np.array_equal(s.y_train, ds.y[s.train_index])
    assert np.array_equal(s.y_val, ds.y[s.val_index])
    assert s.X_train.dtype == np.float64 and s.X_val.shape == (50, 2)
    assert s.dataset is ds


def test_split_is_deterministic_in_the_seed():
    ds = load_dataset("iris")
    a, b, c = split(ds, seed=5), split(ds, seed=5), split(ds, seed=6)
    assert np.array_equal(a.val_index, b.val_index)
    assert not np.array_equal(np.sort(a.val_index), np.sort(c.val_index))


@pytest.mark.parametrize("name, fraction", [("iris", 0.3), ("digits", 0.2), ("blobs", 0.33)])
def test_stratified_split_keeps_class_proportions(name, fraction):
    ds = load_dataset(name)
    s = split(ds, val_fraction=fraction, seed=2)
    expected = np.bincount(ds.y) * fraction
    assert np.all(np.abs(np.bincount(s.y_val, minlength=ds.n_classes) - expected) <= 1)


def test_unstratified_split_does_not_balance_iris():
    # Over a few seeds a plain shuffle will put an uneven number of some species in val.
    ds = load_dataset("iris")
    uneven = [np.abs(np.bincount(split(ds, seed=k, stratify=False).y_val, minlength=3) - 15).max()
              for k in range(5)]
    assert max(uneven) > 1


def test_standardisation_uses_train_statistics_only():
    ds = load_dataset("gaussian", n_samples=300)
    s = split(ds, val_fraction=0.3, seed=0)
    np.testing.assert_allclose(s.mean, ds.X[s.train_index].mean(axis=0))
    np.testing.assert_allclose(s.X_train.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(s.X_train.std(axis=0), 1.0, atol=1e-12)
    assert np.all(s.X_val.mean(axis=0) != 0.0)
    np.testing.assert_allclose(s.X_val, (ds.X[s.val_index] - s.mean) / s.std)
    np.testing.assert_allclose(s.transform(ds.X[:5]), (ds.X[:5] - s.mean) / s.std)


def test_constant_features_get_std_one():
    ds = load_dataset("digits")
    s = split(ds, seed=0)
    constant = ds.X[s.train_index].std(axis=0) == 0
    assert constant.any()  # digits has always-blank pixels
    assert np.all(s.std[constant] == 1.0) and np.all(s.std[~constant] != 1.0)
    assert np.isfinite(s.X_train).all() and np.isfinite(s.X_val).all()


def test_no_standardisation_keeps_raw_values():
    ds = load_dataset("iris")
    s = split(ds, standardize=False)
    assert s.mean is None and s.std is None
    assert np.array_equal(s.X_train, ds.X[s.train_index])


@pytest.mark.parametrize("name", ["iris", "sine"])
def test_val_fraction_zero_gives_empty_validation(name):
    ds = load_dataset(name)
    s = split(ds, val_fraction=0.0)
    assert s.X_val.shape == (0, ds.n_features)
    assert s.y_val.shape == (0, *ds.y.shape[1:])
    assert len(s.train_index) == ds.n_samples


def test_regression_split_keeps_column_targets():
    s = split(load_dataset("sine"), val_fraction=0.5)
    assert s.y_train.shape == (100, 1) and s.y_val.shape == (100, 1)


@pytest.mark.parametrize("fraction", [-0.1, 0.95, float("nan")])
def test_bad_val_fraction(fraction):
    with pytest.raises(DatasetError, match="val_fraction"):
        split(load_dataset("iris"), val_fraction=fraction)


# ---------------------------------------------------------------- minibatches

@pytest.mark.parametrize("n, batch", [(10, 3), (10, 5), (7, 1), (10, 0), (10, 10), (10, 50)])
def test_minibatches_cover_every_index_once(n, batch):
    batches = list(minibatches(n, batch, np.random.default_rng(0)))
    allidx = np.concatenate(batches)
    assert np.array_equal(np.sort(allidx), np.arange(n))
    effective = n if batch <= 0 or batch >= n else batch
    assert len(batches) == -(-n // effective)
    assert all(len(b) == effective for b in batches[:-1])


def test_minibatches_shuffle_and_order():
    shuffled = np.concatenate(list(minibatches(50, 8, np.random.default_rng(1))))
    assert not np.array_equal(shuffled, np.arange(50))
    ordered = np.concatenate(list(minibatches(50, 8, np.random.default_rng(1), shuffle=False)))
    assert np.array_equal(ordered, np.arange(50))


# ---------------------------------------------------------------- CSV files

def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


IRIS_LIKE = (
    "sepal_length,sepal_width,species\n"
    "5.1,3.5,setosa\n"
    "7.0,3.2,versicolor\n"
    "6.3,3.3,virginica\n"
    "4.9,3.0,setosa\n"
)


def test_csv_with_string_labels(tmp_path):
    ds = load_csv(write(tmp_path, "flowers.csv", IRIS_LIKE))
    assert ds.name == "flowers" and ds.task == "classification"
    assert ds.feature_names == ("sepal_length", "sepal_width")
    assert ds.classes == ("setosa", "versicolor", "virginica")
    assert ds.y.tolist() == [0, 1, 2, 0]
    np.testing.assert_array_equal(ds.X, [[5.1, 3.5], [7.0, 3.2], [6.3, 3.3], [4.9, 3.0]])


def test_csv_integer_labels_sort_numerically(tmp_path):
    text = "a,b,digit\n1,2,10\n3,4,2\n5,6,9\n7,8,2\n"
    ds = load_csv(write(tmp_path, "d.csv", text))
    assert ds.task == "classification" and ds.classes == ("2", "9", "10")
    assert ds.y.tolist() == [2, 0, 1, 0]


def test_csv_numeric_target_is_regression(tmp_path):
    rows = "\n".join(f"{i},{i * 0.5:.2f},{i * 1.25 + 0.1:.3f}" for i in range(30))
    ds = load_csv(write(tmp_path, "r.csv", "x1,x2,target\n" + rows + "\n"))
    assert ds.task == "regression" and ds.classes == ()
    assert ds.y.shape == (30, 1) and ds.y.dtype == np.float64
    np.testing.assert_allclose(ds.y[:, 0], [round(i * 1.25 + 0.1, 3) for i in range(30)])


def test_csv_many_distinct_integers_are_regression_and_task_can_be_forced(tmp_path):
    rows = "\n".join(f"{i},{i * 3}" for i in range(25))
    path = write(tmp_path, "ints.csv", "x,y\n" + rows + "\n")
    assert load_csv(path).task == "regression"
    forced = load_csv(path, task="classification")
    assert forced.task == "classification" and forced.n_classes == 25
    few = write(tmp_path, "few.csv", "x,y\n1,0\n2,1\n3,0\n")
    assert load_csv(few).task == "classification"
    assert load_csv(few, task="regression").task == "regression"


def test_csv_label_by_name_and_by_index(tmp_path):
    text = "species,sepal_length,sepal_width\nsetosa,5.1,3.5\nvirginica,6.3,3.3\n"
    path = write(tmp_path, "first.csv", text)
    by_name = load_csv(path, label="species")
    by_index = load_csv(path, label=0)
    for ds in (by_name, by_index):
        assert ds.feature_names == ("sepal_length", "sepal_width")
        assert ds.classes == ("setosa", "virginica")
        np.testing.assert_array_equal(ds.X, [[5.1, 3.5], [6.3, 3.3]])
    with pytest.raises(DatasetError, match=r"line 2, column 'species': 'setosa'"):
        load_csv(path)  # the default label is the last column, so species becomes a feature


def test_csv_label_in_the_middle_needs_numeric_features(tmp_path):
    path = write(tmp_path, "m.csv", "a,b,c\n1,2.5,3\n4,5.5,6\n")
    ds = load_csv(path, label="b")
    assert ds.feature_names == ("a", "c") and ds.task == "regression"
    np.testing.assert_array_equal(ds.X, [[1, 3], [4, 6]])
    np.testing.assert_array_equal(ds.y[:, 0], [2.5, 5.5])


def test_csv_semicolon_and_tab_delimiters_are_detected(tmp_path):
    semi = load_csv(write(tmp_path, "s.csv", IRIS_LIKE.replace(",", ";")))
    tab = load_csv(write(tmp_path, "t.tsv", IRIS_LIKE.replace(",", "\t")))
    comma = load_csv(write(tmp_path, "c.csv", IRIS_LIKE))
    for ds in (semi, tab):
        np.testing.assert_array_equal(ds.X, comma.X)
        assert ds.classes == comma.classes and ds.feature_names == comma.feature_names
    explicit = load_csv(write(tmp_path, "e.csv", IRIS_LIKE.replace(",", "|")), delimiter="|")
    np.testing.assert_array_equal(explicit.X, comma.X)


def test_csv_utf8_bom_and_blank_lines_are_fine(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + IRIS_LIKE.replace("\n4.9", "\n\n4.9").encode())
    ds = load_csv(path)
    assert ds.feature_names[0] == "sepal_length" and ds.n_samples == 4


@pytest.mark.parametrize("bad", ["abc", "", "nan"])
def test_csv_bad_cell_names_line_and_column(tmp_path, bad):
    lines = IRIS_LIKE.splitlines()
    lines[3] = f"6.3,{bad},virginica"  # line 4 of the file (the header is line 1)
    path = write(tmp_path, "flowers.csv", "\n".join(lines) + "\n")
    with pytest.raises(DatasetError) as info:
        load_csv(path)
    message = str(info.value)
    expected = {"abc": "'abc' is not a number", "": "the cell is empty",
                "nan": "'nan' is not a finite number"}[bad]
    assert message == f"flowers.csv line 4, column 'sepal_width': {expected}"


def test_csv_bad_cell_line_counts_blank_lines(tmp_path):
    text = "a,b,y\n1,2,x\n\n3,oops,z\n"
    with pytest.raises(DatasetError, match=r"line 4, column 'b': 'oops'"):
        load_csv(write(tmp_path, "g.csv", text))


def test_csv_ragged_row(tmp_path):
    text = "a,b,y\n1,2,x\n3,4\n5,6,z\n"
    with pytest.raises(DatasetError, match=r"r\.csv line 3: 2 cells, but the header has 3"):
        load_csv(write(tmp_path, "r.csv", text))


def test_csv_regression_label_must_be_numeric(tmp_path):
    message = r"f\.csv line 2, column 'species': 'setosa' is not a number"
    with pytest.raises(DatasetError, match=message):
        load_csv(write(tmp_path, "f.csv", IRIS_LIKE), task="regression")


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("", "is empty"),
        ("\n  \n", "is empty"),
        ("a,b,y\n", "no data rows"),
        ("only\n1\n", "at least one feature"),
        ("a,a,y\n1,2,x\n3,4,z\n", "appears more than once"),
        ("a,b,y\n1,2,x\n3,4,x\n", "at least two classes"),
        ("a,b,y\n1,2,x\n3,4,\n", "the label is empty"),
    ],
)
def test_csv_malformed_files(tmp_path, text, fragment):
    with pytest.raises(DatasetError, match=fragment):
        load_csv(write(tmp_path, "bad.csv", text))


def test_csv_unknown_label_and_task(tmp_path):
    path = write(tmp_path, "f.csv", IRIS_LIKE)
    with pytest.raises(DatasetError, match="no column 'colour'"):
        load_csv(path, label="colour")
    with pytest.raises(DatasetError, match="index from 0 to 2"):
        load_csv(path, label=3)
    with pytest.raises(DatasetError, match="task"):
        load_csv(path, task="clustering")


def test_csv_missing_file_and_folder(tmp_path):
    with pytest.raises(DatasetError, match="no such file"):
        load_csv(tmp_path / "nope.csv")
    with pytest.raises(DatasetError, match="folder"):
        load_csv(tmp_path)


def test_csv_not_utf8(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("a,b,y\n1,2,caf\u00e9\n3,4,x\n".encode("latin-1"))
    with pytest.raises(DatasetError, match=r"latin1\.csv line 2: byte 0xe9 is not UTF-8"):
        load_csv(path)


def test_csv_dataset_splits_like_a_builtin(tmp_path):
    rows = "\n".join(f"{i},{(i * 7) % 11},{'ab'[i % 2]}" for i in range(40))
    ds = load_csv(write(tmp_path, "p.csv", "u,v,cls\n" + rows + "\n"))
    s = split(ds, val_fraction=0.25, seed=0)
    assert np.bincount(s.y_val).tolist() == [5, 5]
    assert s.X_train.shape == (30, 2)
