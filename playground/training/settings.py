"""Training settings: one table of fields, one validator, for files, the command line and the GUI.

Every setting read from a graph file's ``meta.training``, a command-line flag or a panel field goes
through :func:`validate_training`. It never raises: it returns the settings (each field's valid
value, or its default) and one :class:`FieldError` per refused value, naming the field, the value
and what is allowed. A caller that must refuse (the command line) raises :class:`SettingsError`;
the GUI shows the errors and carries on with the defaults for those fields.

Adding a setting is one line in :data:`FIELDS`.
"""

from __future__ import annotations

import math
import numbers
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .datasets import DatasetError
from .optim import OPTIMIZERS

MAX_TEXT = 200  # characters in a text setting
MAX_ITEMS = 10_000  # entries in a list setting


@dataclass(frozen=True)
class Field:
    """One setting. ``kind``: ``int``, ``float``, ``bool``, ``choice``, ``text`` or ``texts``
    (a list of texts). Numbers lie in ``minimum``..``maximum`` (``minimum`` itself excluded when
    ``above``). ``optional`` fields may be None, their default when not given."""

    name: str
    kind: str
    default: Any
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    above: bool = False
    optional: bool = False
    title: str = ""  # a plain name for messages, e.g. "learning rate"

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def allowed(self) -> str:
        """What this field accepts, in words (for messages and tooltips)."""
        text = {
            "int": f"a whole number from {_num(self.minimum)} to {_num(self.maximum)}",
            "float": (f"a number above {_num(self.minimum)} and at most {_num(self.maximum)}"
                      if self.above else
                      f"a number from {_num(self.minimum)} to {_num(self.maximum)}"),
            "bool": "true or false",
            "choice": "one of " + ", ".join(self.choices),
            "text": f"a text of 1 to {MAX_TEXT} printable characters",
            "texts": f"a list of up to {MAX_ITEMS} texts",
            "label": "a column name or a whole-number index (negative counts from the end)",
        }[self.kind]
        return text + (" (or left out)" if self.optional else "")

    def check(self, value: Any) -> Any:
        """``value`` converted to this field's kind; raise ValueError (or TypeError) when it is
        not allowed."""
        if value is None and self.optional:
            return None
        out = _CHECKS[self.kind](self, value)
        if isinstance(out, (int, float)) and not isinstance(out, bool):
            low, high = self.minimum, self.maximum
            if (low is not None and (out < low or (self.above and out == low))) or (
                    high is not None and out > high):
                raise ValueError("out of range")
        return out


def _num(x: float | None) -> str:
    if x is None:
        return "any"
    return f"{int(x):,}".replace(",", " ") if float(x).is_integer() and abs(x) < 1e15 else f"{x:g}"


def _int(f: Field, v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, (numbers.Integral, float)):
        raise TypeError("not a number")
    if isinstance(v, float) and not (math.isfinite(v) and v.is_integer()):
        raise ValueError("not whole")
    return int(v)


def _float(f: Field, v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v):
        raise TypeError("not a finite number")
    return float(v)


def _bool(f: Field, v: Any) -> bool:
    if not isinstance(v, bool):
        raise TypeError("not true or false")
    return v


def _choice(f: Field, v: Any) -> str:
    if not isinstance(v, str) or v not in f.choices:
        raise ValueError("not a choice")
    return v


def _text(f: Field, v: Any) -> str:
    if not isinstance(v, str) or not 1 <= len(v) <= MAX_TEXT or not printable(v):
        raise ValueError("not a text")
    return v


def _texts(f: Field, v: Any) -> tuple[str, ...]:
    if isinstance(v, (str, bytes)) or not isinstance(v, (list, tuple)) or len(v) > MAX_ITEMS:
        raise ValueError("not a list")
    return tuple(_text(f, item) for item in v)


def _label(f: Field, v: Any) -> str | int:
    if isinstance(v, bool):
        raise TypeError("not a column")
    if isinstance(v, numbers.Integral):
        return int(v)
    return _text(f, v)


_CHECKS = {"int": _int, "float": _float, "bool": _bool, "choice": _choice, "text": _text,
           "texts": _texts, "label": _label}


def printable(text: str) -> bool:
    """No control characters, no lone surrogates (which cannot be written as UTF-8)."""
    return not any(unicodedata.category(c) in ("Cc", "Cs") for c in text)


# The settings. One line per field; the GUI, the command line and files all read this table.
FIELDS: tuple[Field, ...] = (
    Field("dataset", "text", None, optional=True, title="dataset"),
    Field("csv", "text", None, optional=True, title="CSV file"),
    Field("label", "label", None, optional=True, title="label column"),
    Field("task", "choice", None, choices=("classification", "regression"), optional=True,
          title="task"),
    Field("epochs", "int", 10, 1, 100_000, title="epochs"),
    Field("batch_size", "int", 32, 1, 100_000, title="batch size"),
    Field("full_batch", "bool", False, title="full batch"),
    Field("lr", "float", 0.1, 0.0, 1e6, above=True, title="learning rate"),
    Field("optimizer", "choice", "sgd", choices=tuple(OPTIMIZERS), title="optimizer"),
    Field("momentum", "float", 0.9, 0.0, 1.0, title="momentum"),
    Field("l2", "float", 0.0, 0.0, 100.0, title="L2 weight decay"),
    Field("seed", "int", 0, 0, 2**31 - 1, title="seed"),
    Field("val_fraction", "float", 0.3, 0.0, 0.9, title="validation fraction"),
    Field("test_fraction", "float", 0.0, 0.0, 0.9, title="test fraction"),
    Field("test_csv", "text", None, optional=True, title="test CSV file"),
    Field("features", "texts", (), title="feature inputs"),
    Field("samples", "int", None, 4, 1_000_000, optional=True, title="sample count"),
    Field("noise", "float", None, 0.0, 10.0, optional=True, title="noise"),
    Field("standardize", "bool", True, title="standardisation"),
    Field("classes", "texts", None, optional=True, title="class names"),
)
FIELD: dict[str, Field] = {f.name: f for f in FIELDS}


@dataclass(frozen=True)
class FieldError:
    """One refused setting: ``field`` (the table's name), ``where`` it was read (e.g.
    ``graph.json: meta.training.``, or ``--`` for a flag), the ``value`` and what is ``allowed``."""

    field: str
    value: Any
    allowed: str
    where: str = ""

    @property
    def label(self) -> str:
        if self.where == "--":
            return FIELD[self.field].flag if self.field in FIELD else f"--{self.field}"
        return f"{self.where}{self.field}"

    def __str__(self) -> str:
        f = FIELD.get(self.field)
        title = f" ({f.title})" if f and f.title and f.title != self.field else ""
        return f"{self.label}{title} must be {self.allowed}; got {show(self.value)}"


class SettingsError(DatasetError):
    """Settings that were refused: the message has one line each (``errors`` holds the
    :class:`FieldError` ones, ``lines`` every line). A plain text is one line."""

    def __init__(self, errors: str | Iterable[FieldError | str]) -> None:
        items = [errors] if isinstance(errors, str) else list(errors)
        self.errors = [e for e in items if isinstance(e, FieldError)]
        self.lines = [str(e) for e in items]
        super().__init__("\n".join(self.lines))


def show(value: Any, limit: int = 40) -> str:
    """A value as a short one-line text for a message."""
    if isinstance(value, float) and math.isfinite(value):
        text = f"{value:g}"
    else:
        try:
            text = repr(value)
        except Exception:  # noqa: BLE001 - a hostile __repr__ must not hide the real message
            text = f"<{type(value).__name__}>"
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class TrainingSettings(Mapping[str, Any]):
    """A valid value for every field of :data:`FIELDS`; read ``s.epochs`` or ``s["epochs"]``.
    ``given`` names the fields whose value came from the source (not a default)."""

    def __init__(self, values: Mapping[str, Any] | None = None, given: Iterable[str] = ()) -> None:
        self._values = {f.name: f.default for f in FIELDS}
        self._values.update(values or {})
        self.given = frozenset(given)

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["_values"][name]
        except KeyError:
            raise AttributeError(name) from None

    def __repr__(self) -> str:
        return f"TrainingSettings({self._values!r})"

    def merged(self, other: TrainingSettings) -> TrainingSettings:
        """These settings with the fields ``other`` was given replaced by its values."""
        values = dict(self._values)
        values.update({k: other[k] for k in other.given})
        return TrainingSettings(values, self.given | other.given)

    def to_meta(self) -> dict[str, Any]:
        """The given fields, as JSON values for ``meta.training``."""
        return {k: list(v) if isinstance(v, tuple) else v
                for k, v in self._values.items() if k in self.given and v is not None}

    def config(self, **extra: Any) -> Any:
        """A :class:`~playground.training.loop.TrainConfig` from these settings."""
        from .loop import TrainConfig

        return TrainConfig(epochs=self.epochs, batch_size=self.batch_size, lr=self.lr,
                           optimizer=self.optimizer, momentum=self.momentum, l2=self.l2,
                           seed=self.seed, **extra)


def validate_training(mapping: Any, where: str = "meta.training.", flags: bool = False
                      ) -> tuple[TrainingSettings, list[FieldError]]:
    """Check every known field in ``mapping``: the settings (each given value that is allowed,
    else the field's default) and one :class:`FieldError` per value refused. Never raises.

    ``where`` prefixes field names in messages (``"graph.json: meta.training."``); with ``flags``
    the fields are named as command-line flags (``--batch-size``). Keys that are not fields are
    ignored (a newer version may write more); ``None`` (nothing given) is no error."""
    if mapping is None:
        return TrainingSettings(), []
    if not isinstance(mapping, Mapping):
        where_ = where.rstrip(".") or "settings"
        return TrainingSettings(), [FieldError("", mapping, "an object of named settings",
                                               where_)]
    values: dict[str, Any] = {}
    errors: list[FieldError] = []
    for f in FIELDS:
        if f.name not in mapping:
            continue
        raw = mapping[f.name]
        try:
            values[f.name] = f.check(raw)
        except (ValueError, TypeError, OverflowError):
            errors.append(FieldError(f.name, raw, f.allowed(), "--" if flags else where))
    return TrainingSettings(values, values), errors


def check_settings(mapping: Mapping[str, Any], where: str = "") -> TrainingSettings:
    """:func:`validate_training` for callers that must refuse: raise :class:`SettingsError`."""
    settings, errors = validate_training(mapping, where)
    if errors:
        raise SettingsError(errors)
    return settings


def config_errors(config: Any) -> list[FieldError]:
    """The fields of a TrainConfig (or any object with setting attributes) that are refused."""
    given = {f.name: getattr(config, f.name) for f in FIELDS if hasattr(config, f.name)}
    return validate_training(given, where="")[1]
