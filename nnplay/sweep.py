"""Sweeps: one knob, several values, trained side by side; and the Compare page's pair of runs.

Where the networks share one architecture, K of them train in one batched pass: each layer's
weights are one ``[K, in, out]`` tensor and ``torch.baddbmm`` runs all K at once; each model's
loss is taken on its own (``torch.func.vmap``) and the sum is backpropagated, which gives every
model exactly its own gradient because the models share nothing. Per-model data (seeds, noise)
is a per-model slice of X. Per-model learning rates use an optimizer step at the largest rate,
each model's change then scaled by its rate over that one: exact for optimizers whose update is
proportional to the learning rate (``LINEAR_IN_LR``). What cannot be batched (width changes
the weight shapes, batch sizes split epochs differently, L-BFGS, dropout...) trains one Trainer
after another, and ``Sweep.path`` / ``Sweep.reason`` say which way it went and why.

Initial weights and data come from the engine's own ``Trainer`` for each value, so a batched
model starts exactly where a solo ``Trainer`` of its Config starts (a test checks the losses agree).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.func import vmap

from . import divergence, optim
from .config import FIELDS, Config, ConfigError, check_field, format_value, parse_value
from .data import REGRESSION, Table
from .train import DIVERGED, DONE, TRAINING, Grid, Trainer

MAX_VALUES = 16  # values per sweep: the batched pass and the small multiples stay readable and quick


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

# The update of these optimizers is lr times something that does not depend on lr, so one step
# at one rate, rescaled per model, is each model's own step.
LINEAR_IN_LR = frozenset({"sgd", "adam", "adamw", "adamax", "nadam", "radam", "adadelta", "adagrad", "rmsprop"})
# Per-model differences the batched pass handles: the rates as per-model tensors, the data as per-model X.
DATA_FIELDS = frozenset(
    {"dataset", "n_samples", "noise", "test_fraction", "seed", "label_noise", "imbalance", "n_classes", "features"}
)
PER_MODEL = frozenset({"lr", "l1", "l2", "init"}) | DATA_FIELDS  # init: each model's weights are stacked as drawn
NOT_TRAINING = frozenset({"grid", "snapshot_every", "threads"})  # how runs are drawn or timed, not what they learn
_WHY = {
    "hidden": "the widths change the weight shapes",
    "activation": "the activations differ",
    "batch_size": "each batch size splits an epoch into different steps",
    "epochs": "the epoch budgets differ",
    "optimizer": "the optimizers differ",
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
        results = _train_batched(configs, trainers, values, progress, deadline)
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
    return _train_batched(configs, trainers, [None] * len(configs), progress, deadline)


def why_not_batched(configs: Sequence[Config], trainers: Sequence[Trainer] | None = None) -> str | None:
    """None when these runs can share one batched pass; else the reason, in words."""
    if not configs:
        return "nothing to train"
    first = configs[0]
    for name in first.to_dict():
        if name not in PER_MODEL | NOT_TRAINING and any(getattr(c, name) != getattr(first, name) for c in configs):
            return _WHY.get(name, f"{name} differs between the runs")
    name = first.optimizer
    if name == "lbfgs":
        return "L-BFGS searches along all of a network's weights together"
    if name == "adafactor":
        return "Adafactor scales its steps by each weight tensor's overall size"
    if name not in LINEAR_IN_LR and len({c.lr for c in configs}) > 1:
        return f"{optim.OPTIMIZERS[name].label}'s step is not proportional to the learning rate"
    if first.dropout:
        return "dropout draws each network's masks from its own generator"
    if first.patience:
        return "early stopping ends each run at its own epoch"
    if trainers:
        t0 = trainers[0]
        for t in trainers[1:]:
            if (t.task, t.loss_name, t.device) != (t0.task, t0.loss_name, t0.device):
                return "the runs' data sets need different tasks or losses"
            if t.X_train.shape != t0.X_train.shape or t.X_test.shape != t0.X_test.shape:
                return "the runs' data sets differ in size"
            if t.y_train.shape != t0.y_train.shape or t.model.n_output != t0.model.n_output:
                return "the runs' data sets differ in shape"
    return None


def _sequential_result(t: Trainer, value, seconds: float, path: str = "sequential") -> Result:
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
        results.append(_sequential_result(t, v, time.perf_counter() - start))
    return results


# --- the batched pass ----------------------------------------------------------------------------


class _Stack:
    """K same-shaped networks as stacked tensors: weights [K, in, out], biases [K, 1, out]."""

    def __init__(self, trainers: Sequence[Trainer]):
        t0 = trainers[0]
        self.acts = [act for _, act, _ in t0.model.layers]  # elementwise modules: they take [K, N, n] as is
        linears = [t.model.linears for t in trainers]
        with torch.no_grad():
            self.weights = [
                torch.stack([ls[i].weight.t() for ls in linears]).contiguous().requires_grad_()
                for i in range(len(linears[0]))
            ]
            self.biases = [
                torch.stack([ls[i].bias[None, :] for ls in linears]).contiguous().requires_grad_()
                for i in range(len(linears[0]))
            ]

    @property
    def params(self) -> list[torch.Tensor]:
        return [p for wb in zip(self.weights, self.biases) for p in wb]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for w, b, act in zip(self.weights, self.biases, self.acts):
            x = act(torch.baddbmm(b, x, w))
        return torch.baddbmm(self.biases[-1], x, self.weights[-1])

    def write_back(self, trainers: Sequence[Trainer], frozen: dict[int, list[torch.Tensor]]) -> None:
        """Each model's final weights into its Trainer's network (a diverged one: as it was before)."""
        with torch.no_grad():
            for k, t in enumerate(trainers):
                params = frozen.get(k) or [p[k] for p in self.params]
                for i, linear in enumerate(t.model.linears):
                    linear.weight.copy_(params[2 * i].t())
                    linear.bias.copy_(params[2 * i + 1][0])


def _stacked(tensors: list[torch.Tensor]) -> torch.Tensor:
    """[K, ...] from per-model tensors, without copying when they are all the same data."""
    first = tensors[0]
    if all(t is first or torch.equal(t, first) for t in tensors[1:]):
        return first.expand(len(tensors), *first.shape)
    return torch.stack(tensors)


def _per_model_loss(t0: Trainer):
    fn, task = t0.loss.fn, t0.task

    def one(out, y):
        return fn(out, y, task)

    if t0.loss_name == "kl_div":  # torch has no batching rule for kl_div: a loop is as quick
        return lambda out, y: torch.stack([one(o, t) for o, t in zip(out, y)])
    return vmap(one)


def _score(out: torch.Tensor, y: torch.Tensor, task: str) -> torch.Tensor:
    """Per model: correct predictions, or the sum of squared errors for regression (as the Trainer)."""
    if task == REGRESSION:
        return (out[..., 0] - y).pow(2).sum(1)
    if out.shape[-1] == 1:
        return ((out[..., 0] > 0) == (y > 0.5)).sum(1).to(out.dtype)
    return (out.argmax(-1) == y).sum(1).to(out.dtype)


def _train_batched(configs, trainers, values, progress, deadline) -> list[Result]:
    start = time.perf_counter()
    c0, t0, k = configs[0], trainers[0], len(trainers)
    if torch.get_num_threads() != c0.threads:
        torch.set_num_threads(c0.threads)
    net = _Stack(trainers)
    params = net.params
    X, Y = _stacked([t.X_train for t in trainers]), _stacked([t.y_train for t in trainers])
    Xt, Yt = _stacked([t.X_test for t in trainers]), _stacked([t.y_test for t in trainers])
    has_test = Xt.shape[1] > 0
    dev, dtype = t0.device, net.weights[0].dtype
    rates = [c.lr for c in configs]
    base = max(rates)
    scale = None if len(set(rates)) == 1 else torch.tensor(rates, dtype=dtype, device=dev).div(base).view(k, 1, 1)
    l1 = torch.tensor([c.l1 for c in configs], dtype=dtype, device=dev) if any(c.l1 for c in configs) else None
    l2 = torch.tensor([c.l2 for c in configs], dtype=dtype, device=dev) if any(c.l2 for c in configs) else None
    optimizer = optim.make_optimizer(c0.optimizer, params, c0.replace(lr=base))
    loss_of = _per_model_loss(t0)
    n, size = X.shape[1], c0.batch_size
    # The Trainer's shuffling: its own generator per run, seeded by the run's seed.
    shufflers = [torch.Generator().manual_seed(c.seed + 1) for c in configs] if 0 < size < n else []
    same_order = len({c.seed for c in configs}) == 1
    sst = [_sst(t) for t in trainers]
    stop = [None] * k  # the epoch each model stopped at (diverged); None while it trains
    why = [""] * k  # why it stopped: the Trainer's own divergence message
    watch = divergence.Watch([t.start_loss for t in trainers])
    frozen: dict[int, list[torch.Tensor]] = {}
    rows: list[torch.Tensor] = []  # per epoch: [K, 4] train loss sum, train score, test loss, test score
    lrs: list[float] = []
    for epoch in range(c0.epochs):
        if len(frozen) == k or (deadline is not None and time.perf_counter() > deadline):
            break
        lr = base * optim.schedule_factor(c0, epoch, c0.epochs)
        for group in optimizer.param_groups:
            group["lr"] = lr
        with torch.no_grad():
            if has_test:
                out_t = net.forward(Xt)
                test = torch.stack([loss_of(out_t, Yt), _score(out_t, Yt, t0.task)], 1)
            else:
                test = torch.full((k, 2), float("nan"), dtype=dtype, device=dev)
        sums = torch.zeros(k, 2, dtype=dtype, device=dev)
        for xb, yb in _batches(X, Y, size, shufflers, same_order, dev):
            out = net.forward(xb)
            loss = loss_of(out, yb)
            objective = loss if l1 is None and l2 is None else loss + _penalty(net.weights, l1, l2)
            finite = torch.isfinite(objective)
            if not bool(finite.all()):
                for i in torch.nonzero(~finite).flatten().tolist():
                    if i not in frozen:  # stops before the bad update, as a Trainer does
                        frozen[i] = [p[i].detach().clone() for p in params]
                        stop[i], why[i] = epoch, divergence.not_finite(epoch, configs[i].lr)
            optimizer.zero_grad(set_to_none=True)
            torch.where(finite, objective, torch.zeros_like(objective)).sum().backward()
            before = [p.detach().clone() for p in params] if scale is not None else None
            optimizer.step()
            with torch.no_grad():
                if before is not None:  # each model's own rate: its change at the top rate, scaled
                    for p, old in zip(params, before):
                        p.sub_(old).mul_(scale).add_(old)
                for i, saved in frozen.items():
                    for p, s in zip(params, saved):
                        p[i] = s
                sums += torch.stack([loss.detach() * len(xb[0]), _score(out.detach(), yb, t0.task)], 1)
        rows.append(torch.cat([sums, test], 1))
        lrs.append(lr)
        # One small copy per epoch; the finite checks above already wait for every batch.
        losses = (sums[:, 0] / n).tolist()
        for i, blown in enumerate(watch.blown(losses)):
            if blown and i not in frozen:  # stops after this epoch's update, as a Trainer does
                frozen[i] = [p[i].detach().clone() for p in params]
                start_loss = trainers[i].start_loss
                stop[i], why[i] = epoch + 1, divergence.blown_up(epoch + 1, configs[i].lr, start_loss, losses[i])
        if progress and (epoch % max(1, c0.epochs // 50) == 0 or epoch == c0.epochs - 1):
            progress((epoch + 1) / c0.epochs, f"epoch {epoch + 1} of {c0.epochs}, {k} networks in one pass")
    done = len(rows)
    table = torch.stack(rows).cpu().numpy() if rows else np.zeros((0, k, 4))
    net.write_back(trainers, frozen)
    seconds = (time.perf_counter() - start) / k
    ran = [s if s is not None else done for s in stop]
    worse = watch.worse([table[r - 1, i, 0] / n if r else math.nan for i, r in enumerate(ran)])
    results = []
    for i, (t, c) in enumerate(zip(trainers, configs)):
        history = _history(table[: ran[i], i], lrs[: ran[i]], n, Xt.shape[1], sst[i], t.task, has_test)
        start_loss = t.start_loss  # before adopting the final weights makes them its start
        t.adopt_current_weights()
        final = t.evaluate()
        status, message = DONE if ran[i] >= c.epochs else TRAINING, ""
        if stop[i] is not None or not math.isfinite(final["train_loss"]):
            status, message = DIVERGED, why[i] or divergence.not_finite(ran[i], c.lr)
        elif status == DONE and worse[i]:
            last = history["train_loss"][-1]
            status, message = DIVERGED, divergence.ended_worse(ran[i], c.lr, start_loss, last)
        elif status == TRAINING:
            message = f"Stopped at this sweep's time limit after {ran[i]} of {c.epochs} epochs."
        results.append(Result(values[i], c, t, history, final, ran[i], seconds, status, message, "batched"))
    return results


def _batches(X, Y, size, shufflers, same_order, device):
    if not shufflers:
        yield X, Y
        return
    k, n = X.shape[0], X.shape[1]
    if same_order:
        perm = torch.randperm(n, generator=shufflers[0]).to(device)
        for idx in perm.split(size):
            yield X[:, idx], Y[:, idx]
        return
    perms = torch.stack([torch.randperm(n, generator=g) for g in shufflers]).to(device)
    rows = torch.arange(k, device=device)[:, None]
    for idx in perms.split(size, dim=1):
        yield X[rows, idx], Y[rows, idx]


def _penalty(weights, l1, l2) -> torch.Tensor:
    """Per model: l1 * sum |w| + l2 * sum w² over the weights (not the biases), as the Trainer."""
    total = 0
    if l1 is not None:
        total = total + l1 * sum(w.abs().sum((1, 2)) for w in weights)
    if l2 is not None:
        total = total + l2 * sum(w.pow(2).sum((1, 2)) for w in weights)
    return total


def _sst(t: Trainer) -> tuple[float, float]:
    d = t.data
    train = float(np.sum((d.y_train - d.y_train.mean()) ** 2))
    test = float(np.sum((d.y_test - d.y_test.mean()) ** 2)) if len(d.y_test) else 0.0
    return train, test


def _history(rows: np.ndarray, lrs: list[float], n, n_test, sst, task, has_test) -> dict[str, list[float]]:
    """One model's per-epoch records, the keys and meaning of the Trainer's (measured before each update)."""
    metric = "r2" if task == REGRESSION else "accuracy"

    def score(values, count, total):
        if task == REGRESSION:
            return [1.0 - v / total if total > 0 else float("nan") for v in values]
        return [v / count for v in values]

    history = {
        "epoch": [float(e) for e in range(len(rows))],
        "train_loss": [float(v) / n for v in rows[:, 0]],
        f"train_{metric}": score(rows[:, 1].tolist(), n, sst[0]),
    }
    if has_test:
        history["test_loss"] = [float(v) for v in rows[:, 2]]
        history[f"test_{metric}"] = score(rows[:, 3].tolist(), n_test, sst[1])
    history["lr"] = [float(v) for v in lrs]
    return history


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
