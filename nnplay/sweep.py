"""Sweeps: one knob, several values, trained side by side; and the Compare page's pair of runs.

Where the networks share one shape, K of them train in one batched pass of nnplay.engine, each
with its own data, optimizer and rules: a batched run is its solo Trainer's run (a test checks
they end within float32's reach). What cannot be batched (width changes the weight shapes, batch
sizes split epochs differently, L-BFGS, dropout) trains one Trainer after another, and
``Sweep.path`` / ``Sweep.reason`` say which way it went and why.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import engine
from .config import FIELDS, Config, ConfigError, check_field, format_value, parse_value
from .data import Table
from .train import DIVERGED, Grid, Trainer

MAX_VALUES = 16  # values per sweep: the batched pass and the small multiples stay readable and quick
PROGRESS_SECONDS = 0.25  # between a batched sweep's progress reports


@dataclass(frozen=True)
class Knob:
    label: str
    field: str  # the Config field it sets ("hidden" for width: every hidden layer gets the value)
    log: bool = False  # spread a range geometrically and draw it on a log axis
    integer: bool = False
    example: str = ""


KNOBS: dict[str, Knob] = {
    "lr": Knob("learning rate", "lr", log=True, example="0.001, 0.01, 0.1, 1"),
    "seed": Knob("seed (data and initial weights)", "seed", integer=True, example="0, 1, 2, 3"),
    "width": Knob("width (neurons of each hidden layer)", "hidden", integer=True, example="2, 4, 8, 16"),
    "l2": Knob("L2 rate", "l2", log=True, example="0, 0.0001, 0.001, 0.01"),
    "batch_size": Knob("batch size (0 = full batch)", "batch_size", integer=True, example="0, 16, 64, 256"),
    "noise": Knob("noise", "noise", example="0, 0.1, 0.2, 0.3"),
}

DATA_FIELDS = frozenset(
    {"dataset", "n_samples", "noise", "test_fraction", "seed", "label_noise", "imbalance", "n_classes", "features"}
)
NOT_TRAINING = frozenset({"grid", "snapshot_every", "threads"})  # how runs are drawn or timed, not what they learn
# Why runs cannot share a pass, by the setting that differs (nnplay.engine.stack_key).
_WHY = {
    "hidden": "the widths change the weight shapes",
    "activation": "the activations differ",
    "mix": "the mixed blocks differ",
    "batch_size": "each batch size splits an epoch into different steps",
    "loss": "the losses differ",
    "device": "the runs train on different devices",
}


class SweepError(ValueError):
    """A sweep cannot run as asked; the message starts with the knob's name."""

    def __init__(self, knob: str, message: str):
        super().__init__(f"{knob}: {message}")
        self.knob = knob


@dataclass
class Result:
    """One value's run. ``trainer`` holds its data and its final weights, adopted as its starting
    point (so a sweep keeps one snapshot per value, and the trainer's own epoch counter reads 0):
    ``epochs``, ``history`` and ``final`` are the run's. ``value`` is None from ``train_batched``."""

    value: float | int
    config: Config
    trainer: Trainer
    history: dict[str, list[float]]  # per epoch, plain floats: epoch, train_loss, train_accuracy (r2), test_...
    final: dict[str, float]  # the final weights' train/test loss and accuracy (R²), as Trainer.evaluate()
    epochs: int
    seconds: float  # its own training time; in a batched pass, its share of the pass
    status: str  # done, diverged, early_stopped, or training (stopped at the time limit)
    message: str = ""
    path: str = "sequential"

    def boundary(self, resolution: int | None = None, axes=(0, 1)) -> Grid:
        """The final model's output over the input plane (a line for 1-D data)."""
        return self.trainer.boundary(resolution=resolution, axes=axes)

    @property
    def diverged(self) -> bool:
        return self.status == DIVERGED


@dataclass
class Sweep:
    knob: str
    values: list
    results: list[Result]
    path: str  # "batched" (one pass for all) or "sequential" (one Trainer after another)
    reason: str = ""  # why it could not be batched
    seconds: float = 0.0


# --- values ------------------------------------------------------------------------------------


def parse_values(knob: str, text: str, *, max_values: int = MAX_VALUES) -> list:
    """``"0.01, 0.03, 0.1"`` or a range ``"0.001:1:7"`` (from:to:count; geometric for log knobs
    when both ends are positive) -> checked values. SweepError names the knob and the value."""
    spec = _knob(knob)
    text = text.strip()
    if not text:
        raise SweepError(knob, f"give one or more values, e.g. {spec.example}")
    if ":" in text:
        values = _parse_range(knob, spec, text, max_values)
    else:
        parts = [p.strip() for p in text.replace(";", ",").split(",")]
        if len(parts) > max_values:
            raise SweepError(knob, f"at most {max_values} values at once, got {len(parts)}")
        values = [_parse_one(knob, p) for p in parts if p]
    return check_values(knob, values, max_values=max_values)


def check_values(knob: str, values: Sequence, *, max_values: int = MAX_VALUES) -> list:
    """Each value under its Config field's rules, at most ``max_values``, none twice."""
    spec = _knob(knob)
    if not values:
        raise SweepError(knob, f"give one or more values, e.g. {spec.example}")
    if len(values) > max_values:
        raise SweepError(knob, f"at most {max_values} values at once, got {len(values)}")
    checked = []
    for v in values:
        try:
            item = check_field(spec.field, (v,) if spec.field == "hidden" else v)
        except ConfigError as exc:
            raise SweepError(knob, exc.reason) from None
        item = item[0] if spec.field == "hidden" else item
        if item in checked:
            raise SweepError(knob, f"{format_value(item)} is given twice")
        checked.append(item)
    return checked


def _knob(knob: str) -> Knob:
    if knob not in KNOBS:
        raise SweepError(knob, f"not a knob to sweep; choose from {', '.join(KNOBS)}")
    return KNOBS[knob]


def _parse_one(knob: str, text: str):
    spec = KNOBS[knob]
    try:
        value = parse_value(spec.field, text)
    except ConfigError as exc:
        raise SweepError(knob, exc.reason) from None
    if spec.field == "hidden":
        if len(value) != 1:
            raise SweepError(knob, f"one width per value (the neurons of every hidden layer), not {text[:40]!r}")
        value = value[0]
    return value


def _parse_range(knob: str, spec: Knob, text: str, max_values: int) -> list:
    parts = [p.strip() for p in text.split(":")]
    if len(parts) != 3:
        raise SweepError(knob, f"a range is from:to:count, e.g. 1:4:4, not {text[:40]!r}")
    try:
        lo, hi = float(parts[0]), float(parts[1])
        count = int(parts[2])
    except ValueError:
        raise SweepError(knob, f"a range is from:to:count with numbers, not {text[:40]!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise SweepError(knob, "a range needs finite ends")
    if not 1 <= count <= max_values:
        raise SweepError(knob, f"a range's count must be 1 to {max_values}, not {count}")
    geometric = spec.log and lo > 0 and hi > 0
    points = np.geomspace(lo, hi, count) if geometric else np.linspace(lo, hi, count)
    if spec.integer:
        return list(dict.fromkeys(round(float(p)) for p in points))  # rounding can merge neighbours
    return [float(f"{p:.6g}") for p in points]  # readable values for the URL and the labels


def configs_for(config: Config, knob: str, values: Sequence) -> list[Config]:
    """The Config of each value: ``config`` with the knob set (width sets every hidden layer)."""
    spec = _knob(knob)
    if knob == "width" and not config.hidden:
        raise SweepError(knob, "this network has no hidden layer to widen; add one in the sidebar")
    out = []
    for v in values:
        change = {spec.field: (v,) * len(config.hidden)} if knob == "width" else {spec.field: v}
        try:
            out.append(config.replace(**change))
        except ConfigError as exc:
            raise SweepError(knob, f"{format_value(v)} does not fit the other settings: {exc}") from None
    return out


# --- the sweep -----------------------------------------------------------------------------------


def sweep(
    config: Config,
    knob: str,
    values: Sequence,
    table: Table | None = None,
    *,
    batched: bool = True,
    progress: Callable[[float, str], None] | None = None,
    max_seconds: float | None = None,
) -> Sweep:
    """Train ``config`` once per value of ``knob``: in one batched pass when the runs allow it
    (and ``batched``), else one after another. ``max_seconds`` bounds the whole sweep; a run it
    cuts short keeps its status ``training`` and says so."""
    values = check_values(knob, values)
    configs = configs_for(config, knob, values)
    start = time.perf_counter()
    trainers = [Trainer(c, table) for c in configs]
    deadline = None if max_seconds is None else time.perf_counter() + max_seconds  # training time, not set-up
    reason = why_not_batched(configs, trainers) if batched else "batching was turned off"
    if reason is None:
        results = _train_together(trainers, values, progress, deadline)
        path = "batched"
    else:
        results = _train_sequential(trainers, values, progress, deadline, knob)
        path = "sequential"
    return Sweep(knob, list(values), results, path, reason or "", time.perf_counter() - start)


def train_batched(
    configs: Sequence[Config],
    tables: Table | Sequence[Table | None] | None = None,
    *,
    progress: Callable[[float, str], None] | None = None,
    max_seconds: float | None = None,
) -> list[Result]:
    """K Configs of one architecture trained in one pass (what ``python -m nnplay bench`` can time);
    ``tables``: one for all, or one per Config. Raises SweepError saying why when they cannot share a pass."""
    configs = list(configs)
    tables = list(tables) if isinstance(tables, (list, tuple)) else [tables] * len(configs)
    trainers = [Trainer(c, t) for c, t in zip(configs, tables)]
    reason = why_not_batched(configs, trainers)
    if reason is not None:
        raise SweepError("batched", reason)
    deadline = None if max_seconds is None else time.perf_counter() + max_seconds
    return _train_together(trainers, [None] * len(configs), progress, deadline)


def why_not_batched(configs: Sequence[Config], trainers: Sequence[Trainer] | None = None) -> str | None:
    """None when these runs can share one batched pass; else the reason, in words."""
    if not configs:
        return "nothing to train"
    first = configs[0]
    for name, why in _WHY.items():
        if any(getattr(c, name) != getattr(first, name) for c in configs):
            return why
    if first.optimizer == "lbfgs":
        return "L-BFGS searches along all of a network's weights together"
    if first.dropout:
        return "dropout draws each network's masks from its own generator"
    if any(c.activation_expr != first.activation_expr or c.loss_expr != first.loss_expr for c in configs):
        return "the custom expressions differ"
    if trainers:
        t0 = trainers[0]
        for t in trainers[1:]:
            if (t.task, t.loss_name) != (t0.task, t0.loss_name):
                return "the runs' data sets need different tasks or losses"
            if t.X_train.shape != t0.X_train.shape or t.X_test.shape != t0.X_test.shape:
                return "the runs' data sets differ in size"
            if engine.stack_key(t) != engine.stack_key(t0):
                return "the runs' data sets differ in shape"
    return None


def _result(t: Trainer, value, seconds: float, path: str) -> Result:
    keys = ("epoch", "train_loss", "train_accuracy", "train_r2", "test_loss", "test_accuracy", "test_r2", "lr")
    history = {k: t.records.column(k) for k in keys if t.records.last() and k in t.records.last()}
    message = t.message
    if not t.finished:
        message = f"Stopped at this sweep's time limit after {t.epoch} of {t.config.epochs} epochs."
    result = Result(value, t.config, t, history, t.evaluate(), t.epoch, seconds, t.status, message, path)
    t.adopt_current_weights()  # as after a batched pass; and the snapshots' memory goes
    return result


def _train_sequential(trainers, values, progress, deadline, knob) -> list[Result]:
    results = []
    k = len(trainers)
    for i, (t, v) in enumerate(zip(trainers, values)):
        start = time.perf_counter()
        chunk = max(1, t.config.epochs // 20)
        # An equal share of what is left, so a slow first value cannot leave the others untrained.
        own = None if deadline is None else start + (deadline - start) / (k - i)
        while not t.finished:
            left = None if own is None else own - time.perf_counter()
            if left is not None and left <= 0:
                break
            t.step(chunk, max_seconds=left)
            if progress:
                progress((i + t.epoch / t.config.epochs) / k, f"{knob} = {format_value(v)} ({i + 1} of {k})")
        results.append(_result(t, v, time.perf_counter() - start, "sequential"))
    return results


def _train_together(trainers, values, progress, deadline) -> list[Result]:
    """Every run in one batched pass (nnplay.engine), a chunk of epochs at a time between progress
    reports: about PROGRESS_SECONDS each, as the chunk before went (each call stacks the networks
    anew and takes their figures in: at a fiftieth of the budget, a tenth of a sweep's time)."""
    start = time.perf_counter()
    k, budget = len(trainers), max(t.config.epochs for t in trainers)
    chunk = max(1, budget // 50)
    while not all(t.finished for t in trainers):
        left = None if deadline is None else deadline - time.perf_counter()
        if left is not None and left <= 0:
            break
        since = time.perf_counter()
        trained = max(engine.train(trainers, chunk, max_seconds=left))
        took = time.perf_counter() - since
        if trained == chunk:
            chunk = max(1, min(budget, int(chunk * PROGRESS_SECONDS / max(took, 1e-3))))
        if progress:
            epoch = max(t.epoch for t in trainers)
            progress(epoch / budget, f"epoch {epoch} of {budget}, {k} networks in one pass")
    seconds = (time.perf_counter() - start) / k
    return [_result(t, v, seconds, "batched") for t, v in zip(trainers, values)]


# --- Compare: two runs from the same start -------------------------------------------------------


def pair(a: Config, b: Config, table: Table | None = None) -> tuple[Trainer, Trainer, str]:
    """Trainers for A and B from the same data and, where the shapes allow, the same initial
    weights (B takes A's), and a sentence saying what B shares with A."""
    ta, tb = Trainer(a, table), Trainer(b, table)
    changed = [k for k, v in b.to_dict().items() if v != a.to_dict()[k] and k not in NOT_TRAINING]
    shapes_a = {k: v.shape for k, v in ta.model.state_dict().items()}
    shapes_b = {k: v.shape for k, v in tb.model.state_dict().items()}
    own_start = {"seed", "init"} & set(changed)
    same_data = not (DATA_FIELDS & set(changed))
    if shapes_a == shapes_b and not own_start:
        tb.model.load_state_dict(ta.model.state_dict())
        tb.adopt_current_weights()
        weights = "the same initial weights"
    elif own_start:
        weights = f"its own initial weights (its {' and '.join(sorted(own_start))} differ{'s' * (len(own_start) == 1)})"
    else:
        weights = "its own initial weights: its architecture differs, so A's weights do not fit"
    data = "the same data" if same_data else "different data"
    return ta, tb, f"B trains on {data} from {weights}."


def read_changes(query: Mapping[str, Any], prefix: str = "b_") -> tuple[dict[str, Any], list[str]]:
    """B's changes from URL params (``b_lr=0.1``), each under its Config field's rules; a bad one
    is left out with a warning naming its key. Keys that are not ``prefix`` + a field are not B's."""
    changes, warnings = {}, []
    for key, text in query.items():
        name = key.removeprefix(prefix)
        if not key.startswith(prefix) or name not in FIELDS:
            continue
        text = (text[-1] if text else "") if isinstance(text, (list, tuple)) else str(text)
        try:
            changes[name] = check_field(name, parse_value(name, text))
        except ConfigError as exc:
            warnings.append(f"{prefix}{exc}; B keeps A's value")
    return changes, warnings
