"""One frozen Config: the single source of truth for widgets, URL query params, CLI flags and JSON.

Each field carries its rules (choices or a range) in its metadata, so parsing, validation, the
command line and the app's widgets are all generated from this one table. Choices come from the
engine's registries: adding an activation, a loss or an optimizer there makes it appear everywhere.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import data, expr, losses, model, optim

MAX_VALUE_CHARS = 1000  # longer URL/CLI values are refused before parsing


class ConfigError(ValueError):
    """A Config value is out of its rules. ``field`` names the offending field (a URL key / CLI flag)."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.reason = message


def _rule(default, help: str, *, lo=None, hi=None, choices=None, length=None, check=None):
    """A field with its one-line help and its rules: ``lo``/``hi`` for numbers (and tuple items),
    ``choices`` for strings (and tuple items), ``length`` (min, max) for tuples, ``check`` for the rest."""
    meta = dict(help=help, lo=lo, hi=hi, choices=choices, length=length, check=check)
    return field(default=default, metadata=meta)


def _check_activations(value: tuple[str, ...]) -> None:
    for spec in value:
        model.parse_activation(spec)


def _check_optimizer(value: str) -> None:
    spec = optim.OPTIMIZERS[value]
    if spec.make is None:
        raise ValueError(f"{value} is unavailable: {spec.unavailable}")


def _check_features(value: tuple[str, ...]) -> None:
    if len(set(value)) != len(value):
        raise ValueError("each input feature may appear once")


@dataclass(frozen=True)
class Config:
    # --- data ---
    dataset: str = _rule("circle", "data set to learn", choices=(*data.DATASETS, data.CSV))
    n_samples: int = _rule(500, "number of points generated", lo=10, hi=data.MAX_SAMPLES)
    noise: float = _rule(0.05, "noise added to the points (0 = clean)", lo=0.0, hi=1.0)
    test_fraction: float = _rule(0.3, "share of the points held out for testing", lo=0.0, hi=0.9)
    seed: int = _rule(0, "seed for the data, the initial weights, dropout and shuffling", lo=0, hi=2**31 - 1)
    label_noise: float = _rule(0.0, "share of labels flipped to another class", lo=0.0, hi=0.5)
    imbalance: float = _rule(0.5, "share of the minority class (0.5 = balanced)", lo=0.02, hi=0.5)
    n_classes: int = _rule(3, "classes of the 'blobs' data set", lo=2, hi=6)
    features: tuple[str, ...] = _rule(
        ("x1", "x2"),
        "input features of 2-D data sets",
        choices=tuple(data.FEATURES),
        length=(1, len(data.FEATURES)),
        check=_check_features,
    )
    # --- network ---
    hidden: tuple[int, ...] = _rule(
        (8, 4), "neurons per hidden layer (empty = no hidden layer)", lo=1, hi=256, length=(0, 8)
    )
    activation: tuple[str, ...] = _rule(
        ("tanh",),
        "one activation for all hidden layers, or one per layer; 'relu+tanh' mixes two",
        length=(1, 8),
        check=_check_activations,
    )
    mix: str = _rule("sum", "how a mixed activation combines its two branches", choices=tuple(model.MIXES))
    activation_expr: str = _rule("x * sigmoid(x)", "the 'custom' activation, an expression of x")
    dropout: float = _rule(0.0, "dropout after each hidden layer", lo=0.0, hi=0.9)
    init: str = _rule("default", "weight initialisation", choices=model.INITS)
    # --- training ---
    loss: str = _rule("auto", "loss function ('auto' = BCE, cross-entropy or MSE by task)", choices=losses.LOSS_CHOICES)
    loss_expr: str = _rule("mean((y_pred - y)**4)", "the 'custom' loss, an expression of y_pred and y")
    optimizer: str = _rule("adam", "optimizer", choices=tuple(optim.OPTIMIZERS), check=_check_optimizer)
    lr: float = _rule(0.03, "learning rate", lo=1e-6, hi=1000.0)
    momentum: float = _rule(0.0, "momentum (SGD, RMSprop)", lo=0.0, hi=0.999)
    nesterov: bool = _rule(False, "Nesterov momentum (SGD with momentum > 0)")
    batch_size: int = _rule(0, "samples per step (0 = full batch, as in the article)", lo=0, hi=data.MAX_SAMPLES)
    epochs: int = _rule(1000, "epoch budget", lo=1, hi=100_000)
    l1: float = _rule(0.0, "L1 regularisation rate on the weights", lo=0.0, hi=1.0)
    l2: float = _rule(0.0, "L2 regularisation rate on the weights", lo=0.0, hi=1.0)
    schedule: str = _rule("none", "learning-rate schedule", choices=tuple(optim.SCHEDULES))
    step_size: int = _rule(100, "epochs per decay step of the step and exponential schedules", lo=1, hi=100_000)
    gamma: float = _rule(0.5, "decay factor per step_size epochs", lo=1e-4, hi=1.0)
    patience: int = _rule(0, "early stopping: epochs without improvement before stopping (0 = off)", lo=0, hi=100_000)
    # --- machine and recording ---
    device: str = _rule(
        "auto", "where to train: auto (CUDA when present), cpu or cuda", choices=("auto", "cpu", "cuda")
    )
    threads: int = _rule(1, "intra-op CPU threads (1 suits many small sessions)", lo=1, hi=64)
    snapshot_every: int = _rule(
        0, "epochs between snapshots for drift and timeline (0 = about 100 per budget)", lo=0, hi=100_000
    )
    grid: int = _rule(50, "decision-boundary grid resolution per side (finer is slower to draw)", lo=10, hi=300)

    def __post_init__(self):
        for f in FIELDS.values():
            object.__setattr__(self, f.name, check_field(f.name, getattr(self, f.name)))
        self._check_together()

    def _check_together(self):
        if len(self.activation) not in (1, max(1, len(self.hidden))):
            raise ConfigError(
                "activation",
                f"give one activation or one per hidden layer ({len(self.hidden)}), not {len(self.activation)}",
            )
        if self.nesterov and (self.optimizer != "sgd" or self.momentum <= 0):
            raise ConfigError("nesterov", "Nesterov needs optimizer sgd with momentum > 0")
        if self.optimizer == "rprop" and self.schedule != "none":
            raise ConfigError("schedule", "Rprop adapts its own step sizes, so a learning-rate schedule has no effect")
        if any(model.CUSTOM in model.parse_activation(a) for a in self.activation):
            try:
                expr.check_activation(self.activation_expr)
            except expr.ExprError as exc:
                raise ConfigError("activation_expr", str(exc)) from None
        if self.loss == losses.CUSTOM:
            try:
                expr.check_loss(self.loss_expr)
            except expr.ExprError as exc:
                raise ConfigError("loss_expr", str(exc)) from None
        elif self.dataset != data.CSV:
            try:
                losses.resolve(self.loss, data.DATASETS[self.dataset].task)
            except losses.LossError as exc:
                raise ConfigError("loss", str(exc)) from None

    # --- faces -----------------------------------------------------------------------------

    @property
    def task(self) -> str | None:
        """binary / multiclass / regression; None for a CSV (its table decides)."""
        return None if self.dataset == data.CSV else data.DATASETS[self.dataset].task

    def replace(self, **changes) -> Config:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: tuples become lists."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

    def to_json(self, **kw) -> str:
        return json.dumps(self.to_dict(), **kw)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Config:
        """Strict: an unknown key or a bad value raises ConfigError."""
        unknown = set(d) - set(FIELDS)
        if unknown:
            name = sorted(unknown)[0]
            raise ConfigError(name, "unknown setting")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})

    @classmethod
    def from_json(cls, text: str) -> Config:
        try:
            d = json.loads(text)
        except (ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError, so is a 5000-digit int
            raise ConfigError("json", f"not valid JSON: {str(exc)[:200]}") from None
        if not isinstance(d, dict):
            raise ConfigError("json", "expected a JSON object")
        return cls.from_dict(d)

    def to_query(self, *, full: bool = False) -> dict[str, str]:
        """Flat strings for URL query params; only the fields that differ from the defaults unless ``full``."""
        return {
            name: format_value(getattr(self, name))
            for name, f in FIELDS.items()
            if full or getattr(self, name) != f.default
        }

    @classmethod
    def from_query(cls, query: Mapping[str, Any], *, ignore: tuple[str, ...] = ()) -> tuple[Config, list[str]]:
        """Never raises: unknown keys and bad values fall back to the defaults with one warning each.

        ``query`` maps keys to strings (or lists of strings, the last one counting).
        ``ignore`` names keys that belong to someone else (the app's own params).
        """
        given, warnings = {}, []
        for key, value in query.items():
            if key in ignore:
                continue
            shown = repr(key if len(key) <= 40 else key[:40] + "…")
            if key not in FIELDS:
                warnings.append(f"unknown setting {shown} ignored")
                continue
            if isinstance(value, (list, tuple)):
                value = value[-1] if value else ""
            try:
                given[key] = check_field(key, parse_value(key, str(value)))
            except ValueError as exc:
                warnings.append(f"{exc}; using the default {format_value(FIELDS[key].default)!r}")
        return cls._settle(given, warnings)

    @classmethod
    def _settle(cls, given: dict, warnings: list[str]) -> tuple[Config, list[str]]:
        """Build from valid single values; a clash between fields resets the named one to its default."""
        while True:
            try:
                return cls(**given), warnings
            except ConfigError as exc:
                if exc.field not in given:
                    raise
                del given[exc.field]
                warnings.append(f"{exc}; using the default {format_value(FIELDS[exc.field].default)!r}")

    # --- command line --------------------------------------------------------------------------

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        """One ``--FIELD VALUE`` flag per field, spelled and parsed as in the URL."""
        group = parser.add_argument_group("experiment (the same names as the URL query params)")
        for name in FIELDS:
            group.add_argument(
                f"--{name}",
                dest=name,
                default=argparse.SUPPRESS,
                metavar=_metavar(name),
                type=_arg_type(name),
                help=_flag_help(name),
            )

    @classmethod
    def from_args(cls, ns: argparse.Namespace, parser: argparse.ArgumentParser, base: Config | None = None) -> Config:
        """The Config the parsed flags describe (over ``base``); a clash exits 2 naming the flag."""
        given = {k: v for k, v in vars(ns).items() if k in FIELDS}
        try:
            return (base or cls()).replace(**given)
        except ConfigError as exc:
            parser.error(f"argument --{exc.field}: {exc.reason}")

    def to_argv(self) -> list[str]:
        argv = []
        for name, value in self.to_query().items():
            argv += [f"--{name}", value]
        return argv


FIELDS: dict[str, dataclasses.Field] = {f.name: f for f in dataclasses.fields(Config)}
TYPES: dict[str, Any] = typing.get_type_hints(Config)


def _item_type(name: str):
    t = TYPES[name]
    return typing.get_args(t)[0] if typing.get_origin(t) is tuple else None


def parse_value(name: str, text: str):
    """URL/CLI text -> a typed value for field ``name``; ConfigError when it cannot be read."""
    if len(text) > MAX_VALUE_CHARS:
        raise ConfigError(name, f"value longer than {MAX_VALUE_CHARS} characters")
    t = TYPES[name]
    item = _item_type(name)
    try:
        if item is not None:
            text = text.strip()
            return tuple(_parse_scalar(item, part) for part in text.split(",")) if text else ()
        return _parse_scalar(t, text)
    except ValueError as exc:
        raise ConfigError(name, str(exc)) from None


def _parse_scalar(t, text: str):
    text = text.strip()
    if t is bool:
        low = text.lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"expected true or false, not {text[:40]!r}")
    if t is int:
        try:
            return int(text)
        except ValueError:
            pass
        number = _parse_float(text)
        if not number.is_integer():
            raise ValueError(f"expected a whole number, not {text[:40]!r}")
        return int(number)
    if t is float:
        return _parse_float(text)
    return text


def _parse_float(text: str) -> float:
    try:
        number = float(text)
    except ValueError:
        raise ValueError(f"expected a number, not {text[:40]!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"expected a finite number, not {text[:40]!r}")
    return number


def format_value(value) -> str:
    if isinstance(value, tuple):
        return ",".join(format_value(v) for v in value)
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def check_field(name: str, value):
    """Validate (and normalise: lists and their text "8,4" to tuples, ints to floats) one field;
    ConfigError if it breaks its rules."""
    meta, t = FIELDS[name].metadata, TYPES[name]
    item = _item_type(name)
    if item is not None:
        if isinstance(value, str):  # "8,4", "relu": what the URL and the command line accept, so Python takes it too
            value = parse_value(name, value)
        if not isinstance(value, (tuple, list)):
            raise ConfigError(name, f"expected a list, not {type(value).__name__}")
        value = tuple(_check_scalar(name, item, v, meta) for v in value)
        lo_len, hi_len = meta["length"]
        if not lo_len <= len(value) <= hi_len:
            raise ConfigError(name, f"expected {lo_len} to {hi_len} items, got {len(value)}")
    else:
        value = _check_scalar(name, t, value, meta)
    if meta["check"] is not None:
        try:
            meta["check"](value)
        except ValueError as exc:
            raise ConfigError(name, str(exc)) from None
    return value


def _check_scalar(name: str, t, value, meta):
    if t is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if t is int and isinstance(value, float) and value.is_integer():
        value = int(value)
    if type(value) is not t:
        raise ConfigError(name, f"expected {t.__name__}, not {type(value).__name__}")
    if t is float and not math.isfinite(value):
        raise ConfigError(name, "must be a finite number")
    lo, hi, choices = meta["lo"], meta["hi"], meta["choices"]
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ConfigError(
            name, f"{format_value(value)[:40]} is outside the allowed range {format_value(lo)} to {format_value(hi)}"
        )
    if choices is not None and value not in choices:
        raise ConfigError(name, f"{value[:40]!r} is not one of: {', '.join(choices)}")
    return value


def _flag_help(name: str) -> str:
    meta = FIELDS[name].metadata
    rule = f"; one of: {', '.join(meta['choices'])}" if meta["choices"] else ""
    if meta["lo"] is not None:
        rule = f"; {format_value(meta['lo'])} to {format_value(meta['hi'])}"
    default = format_value(FIELDS[name].default) or "none"
    return f"{meta['help']}{rule} (default: {default})".replace("%", "%%")


def _metavar(name: str) -> str:
    item = _item_type(name)
    return "A,B,..." if item is not None else TYPES[name].__name__.upper()


def _arg_type(name: str) -> Callable[[str], Any]:
    def convert(text: str):
        try:
            return check_field(name, parse_value(name, text))
        except ConfigError as exc:
            raise argparse.ArgumentTypeError(exc.reason) from None

    convert.__name__ = name
    return convert


# Ready-made experiments. The article's: its data (make_classification, random_state=101, 100
# samples, all used for training), its 5-8-4-1 ReLU network, BCE and full-batch SGD at lr 0.1.
ARTICLE = Config(
    dataset="make_classification",
    n_samples=100,
    test_fraction=0.0,
    seed=0,
    hidden=(8, 4),
    activation=("relu",),
    loss="bce",
    optimizer="sgd",
    lr=0.1,
    batch_size=0,
    epochs=1000,
)
PRESETS: dict[str, Config] = {
    "default": Config(),
    "article": ARTICLE,
    "article_mixed": ARTICLE.replace(activation=("relu+tanh", "relu")),
    "article_regression": ARTICLE.replace(
        dataset="make_regression", n_samples=500, loss="mse", lr=0.01, test_fraction=0.2
    ),
}
PRESET_TITLES = {
    "default": "the Playground's default",
    "article": "the article's experiment",
    "article_mixed": "the article's parallel ReLU + tanh block",
    "article_regression": "the article's regression",
}


def describe(config: Config) -> str:
    """One line a person can check a run against, read off the Config: the data and its split, the
    network's shape (inputs to outputs) and activations, the loss, the optimizer and the budget."""
    n_in, task, n_classes = data.shape(config)  # a preset's data is generated, never a CSV
    loss_key, loss = losses.resolve(config.loss, task, config.loss_expr)
    n_out, _ = loss.outputs(task, n_classes)
    shape = "-".join(str(n) for n in (n_in, *config.hidden, n_out))
    acts = []
    for spec in dict.fromkeys(config.activation) if config.hidden else ():
        names = [model.ACTIVATIONS[a][0] if a in model.ACTIVATIONS else "custom" for a in model.parse_activation(spec)]
        acts.append(" + ".join(names))
    held = f"{config.test_fraction:.0%} held out" if config.test_fraction else "no test set"
    loss_name = f"custom loss {config.loss_expr}" if loss_key == losses.CUSTOM else losses.LOSSES[loss_key].label
    return " · ".join(
        (
            f"{data.DATASETS[config.dataset].label}, {config.n_samples} samples, {held}",
            f"{shape} {', '.join(acts)}".strip(),
            loss_name,
            f"{optim.OPTIMIZERS[config.optimizer].label}, learning rate {config.lr:g}",
            f"{config.epochs} epochs",
        )
    )
