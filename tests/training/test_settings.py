"""The one validation layer for training settings: a table of fields, a validator that names
the field, the value and the allowed range, and its use by the training loop and the CLI."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import pytest

from playground.cli import main
from playground.training import TrainConfig, Trainer, TrainingError
from playground.training import settings as S
from playground.training.datasets import load_dataset, split
from playground.training.settings import (
    FIELD,
    FIELDS,
    Field,
    SettingsError,
    TrainingSettings,
    check_settings,
    validate_training,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"


def test_every_default_passes_its_own_field() -> None:
    for f in FIELDS:
        assert f.check(f.default) == f.default, f.name
        assert f.allowed(), f.name
    assert len(FIELD) == len(FIELDS)  # names are unique


def test_the_examples_settings_are_valid() -> None:
    for path in sorted(EXAMPLES.glob("*.json")):
        meta = json.loads(path.read_text(encoding="utf-8")).get("meta", {})
        settings, errors = validate_training(meta.get("training"))
        assert errors == [], path.name
        assert set(settings.given) == set(meta.get("training", {})), path.name


BAD = [  # (field, value, words of the allowed range)
    ("seed", {}, "a whole number from 0 to 2 147 483 647"),
    ("seed", None, "a whole number from 0"),
    ("seed", math.inf, "a whole number"),
    ("seed", -1, "a whole number from 0"),
    ("seed", 1.5, "a whole number"),
    ("epochs", 1e308, "a whole number from 1 to 100 000"),
    ("epochs", 0, "from 1 to 100 000"),
    ("epochs", "10", "a whole number"),
    ("epochs", True, "a whole number"),
    ("batch_size", -3, "from 1 to 100 000"),
    ("batch_size", [32], "a whole number"),
    ("lr", 0, "a number above 0 and at most 1 000 000"),
    ("lr", -1, "above 0"),
    ("lr", math.nan, "above 0"),
    ("lr", "fast", "above 0"),
    ("l2", -0.1, "a number from 0 to 100"),
    ("l2", math.inf, "a number from 0 to 100"),
    ("optimizer", "rmsprop", "one of sgd, momentum, adam"),
    ("optimizer", 3, "one of sgd, momentum, adam"),
    ("val_fraction", 1.0, "a number from 0 to 0.9"),
    ("standardize", "yes", "true or false"),
    ("samples", 2, "a whole number from 4 to 1 000 000 (or left out)"),
    ("dataset", "", "a text of 1 to 200 printable characters"),
    ("dataset", "moons\n", "printable"),
    ("dataset", "\ud800", "printable"),
    ("classes", "ab", "a list of up to"),
]


@pytest.mark.parametrize(("field", "value", "allowed"), BAD, ids=[f"{f}={v!r}" for f, v, _ in BAD])
def test_a_bad_value_is_named_and_falls_back_to_the_default(field: str, value: object,
                                                            allowed: str) -> None:
    good = {"epochs": 7} if field != "epochs" else {"lr": 0.5}
    settings, errors = validate_training({field: value, **good}, where="g.json: meta.training.")
    assert len(errors) == 1
    e = errors[0]
    assert (e.field, e.allowed) == (field, FIELD[field].allowed()) and e.value is value
    message = str(e)
    assert "\n" not in message and message.startswith(f"g.json: meta.training.{field}")
    assert allowed in message and "got " in message
    assert settings[field] == FIELD[field].default  # the default for that field only
    for k, v in good.items():
        assert settings[k] == v
    assert field not in settings.given


def test_values_are_converted_to_the_fields_kind() -> None:
    settings, errors = validate_training({"epochs": 40.0, "lr": 1, "classes": ["a", "b"]})
    assert errors == []
    assert settings.epochs == 40 and type(settings.epochs) is int
    assert settings.lr == 1.0 and type(settings.lr) is float
    assert settings.classes == ("a", "b") and settings.to_meta()["classes"] == ["a", "b"]


def test_not_a_mapping_is_one_error_and_all_defaults() -> None:
    settings, errors = validate_training([1, 2], where="g.json: meta.training.")
    assert [str(e) for e in errors] == [
        "g.json: meta.training must be an object of named settings; got [1, 2]"]
    assert dict(settings) == dict(TrainingSettings())
    assert validate_training(None) == (TrainingSettings(), [])


def test_unknown_keys_are_ignored_and_flags_are_named_as_flags() -> None:
    settings, errors = validate_training({"future_setting": 1, "batch_size": 0}, flags=True)
    assert [str(e) for e in errors] == [
        "--batch-size (batch size) must be a whole number from 1 to 100 000; got 0"]
    assert "future_setting" not in settings


def test_merged_takes_the_given_fields_of_the_other() -> None:
    a, _ = validate_training({"epochs": 5, "lr": 0.2})
    b, _ = validate_training({"lr": 0.3})
    m = a.merged(b)
    assert (m.epochs, m.lr, m.batch_size) == (5, 0.3, FIELD["batch_size"].default)
    assert m.given == {"epochs", "lr"}
    assert m.config().lr == 0.3 and isinstance(m.config(), TrainConfig)


def test_check_settings_raises_one_line_per_refused_value() -> None:
    with pytest.raises(SettingsError) as info:
        check_settings({"epochs": -1, "lr": 0, "seed": 3})
    assert len(info.value.errors) == 2 and len(str(info.value).splitlines()) == 2


def test_adding_a_field_is_one_table_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    extra = Field("dropout", "float", 0.0, 0.0, 0.5, title="dropout rate")
    monkeypatch.setattr(S, "FIELDS", (*S.FIELDS, extra))
    monkeypatch.setitem(S.FIELD, extra.name, extra)
    settings, errors = validate_training({"dropout": 0.7})
    assert [e.field for e in errors] == ["dropout"] and settings.dropout == 0.0
    assert "dropout rate" in str(errors[0])
    assert validate_training({"dropout": 0.25})[0].dropout == 0.25


def test_the_training_loop_uses_the_same_table() -> None:
    from playground.graph import compile_graph, load

    program = compile_graph(load(EXAMPLES / "moons_mlp.json"))
    data = split(load_dataset("moons", n_samples=40), val_fraction=0.25)
    with pytest.raises(TrainingError, match=r"seed \(seed\)|seed must be a whole number"):
        Trainer(program, data, TrainConfig(seed=-1))
    with pytest.raises(TrainingError, match=r"epochs must be a whole number from 1 to 100 000"):
        Trainer(program, data, TrainConfig(epochs=10**9))
    trainer = Trainer(program, data, TrainConfig(epochs=1))
    with pytest.raises(TrainingError, match=r"learning rate must be a number above 0"):
        trainer.lr = math.inf
    trainer.lr = 0.5
    assert trainer.lr == 0.5


# -- the command line -------------------------------------------------------------------------
def graph_with(tmp_path: Path, training: object) -> str:
    data = json.loads((EXAMPLES / "moons_mlp.json").read_text(encoding="utf-8"))
    data["meta"]["training"] = training
    path = tmp_path / "g.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, list[str]]:
    out = io.StringIO()
    code = main(list(args), out=out)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, out.getvalue(), err.splitlines()


@pytest.mark.parametrize("training", [
    {"dataset": "moons", "seed": {}}, {"dataset": "moons", "seed": None},
    {"dataset": "moons", "epochs": 1e308}, {"dataset": "moons", "seed": -1},
    {"dataset": "moons", "lr": "Infinity"}, {"dataset": "moons", "batch_size": 0.5},
    {"dataset": "moons", "optimizer": ["adam"]}, {"dataset": "moons", "l2": -1},
])
def test_cli_refuses_bad_file_settings_with_one_line_naming_the_field(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], training: dict[str, object]) -> None:
    field = next(k for k in training if k != "dataset")
    path = graph_with(tmp_path, training)
    code, _, err = run(capsys, "train", path, *(("--epochs", "1") if field != "epochs" else ()))
    assert code == 2 and len(err) == 1, err
    assert err[0].startswith(f"error: g.json: meta.training.{field}"), err
    assert err[0].endswith(f"; give {FIELD[field].flag} to override it")
    # eval reads only the data settings (the seed among them) and refuses only those
    code, _, err = run(capsys, "eval", path, "--feed", "X=[[0, 0]]", "--feed", "y=[1]")
    if field == "seed":
        assert code == 2 and len(err) == 1 and err[0].startswith(
            "error: g.json: meta.training.seed must be a whole number"), err
    else:
        assert code == 0 and err == [], err


def test_cli_flag_overrides_a_bad_file_value(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    path = graph_with(tmp_path, {"dataset": "moons", "epochs": 1e308, "samples": 40})
    code, out, err = run(capsys, "train", path, "--epochs", "1", "--json")
    assert code == 0, err
    assert [json.loads(line)["epoch"] for line in out.splitlines()] == [1]


def test_cli_refuses_bad_flags_one_line_each(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "train", "moons_mlp", "--epochs", "0", "--lr", "nan",
                       "--seed", "-5")
    assert code == 2 and len(err) == 3
    assert err[0].startswith("error: --epochs must be a whole number from 1")
    assert err[1].startswith("error: --lr (learning rate) must be a number above 0")
    assert err[2].startswith("error: --seed must be a whole number from 0")


def test_cli_hint_names_a_flag_only_when_there_is_one(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    path = graph_with(tmp_path, {"dataset": "moons", "momentum": 7})
    code, _, err = run(capsys, "train", path, "--epochs", "1")
    assert code == 2 and len(err) == 1
    assert err[0] == ("error: g.json: meta.training.momentum must be a number from 0 to 1; got 7;"
                      " correct it in the file")
