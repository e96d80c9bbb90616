"""``python -m nnplay bench``: the engine against the article's plain loop and scikit-learn, side by side.

Everything is measured in one process, with a warm-up and the median of several repeats, and
reported as ratios to the seed loop of the same run (absolute times on a shared machine mean
little). The equal-loss checks train from the same initial weights and compare final losses.
"""

from __future__ import annotations

import json
import statistics
import time
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn

from . import charts, engine, sweep
from .config import ARTICLE, Config
from .train import Trainer

TOLERANCE = 1e-4
CUDA_TOLERANCE = 1e-3  # GPU kernels sum in another order, and 1000 epochs carry the difference


class ArticleNetwork(nn.Module):
    """The article's 5-8-4-1 network, written as the article writes it."""

    def __init__(self, n_input=5):
        super().__init__()
        self.hidden1 = nn.Linear(n_input, 8)
        self.hidden2 = nn.Linear(8, 4)
        self.relu = nn.ReLU()
        self.output = nn.Linear(4, 1)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x):
        x = self.relu(self.hidden1(x))
        x = self.relu(self.hidden2(x))
        return self.sigmoid(self.output(x))


def seed_loop(X, y, state, epochs, lr=0.1) -> float:
    """The article's loop: BCELoss on sigmoid outputs, full-batch SGD, .item() every epoch."""
    model = ArticleNetwork(X.shape[1])
    model.load_state_dict(state)
    criterion = nn.BCELoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    loss_value = float("nan")
    for _ in range(epochs):
        optimizer.zero_grad()
        output = model(X)
        loss = criterion(output.view(output.shape[0]), y)
        loss_value = loss.item()
        loss.backward()
        optimizer.step()
    return loss_value


def sklearn_full_batch(X, y, state, epochs, lr=0.1) -> float:
    """scikit-learn's MLPClassifier on the same work, started from the same weights."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    X64, y64 = X.double().numpy(), y.numpy().astype(int)
    clf = MLPClassifier(
        hidden_layer_sizes=(8, 4),
        activation="relu",
        solver="sgd",
        learning_rate_init=lr,
        momentum=0.0,
        nesterovs_momentum=False,
        batch_size=len(X64),
        max_iter=1,
        shuffle=False,
        alpha=0.0,
        tol=0.0,
        n_iter_no_change=epochs + 1,
        warm_start=True,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X64, y64)  # only to lay out its arrays; the weights are replaced next
        layers = ("hidden1", "hidden2", "output")
        clf.coefs_ = [state[f"{k}.weight"].double().numpy().T.copy() for k in layers]
        clf.intercepts_ = [state[f"{k}.bias"].double().numpy().copy() for k in layers]
        clf.max_iter = epochs
        clf.loss_curve_ = []
        clf.fit(X64, y64)
    return float(clf.loss_curve_[-1])


def sklearn_adam(X, y, epochs, batch) -> None:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    clf = MLPClassifier(
        hidden_layer_sizes=(8, 4),
        solver="adam",
        learning_rate_init=0.01,
        batch_size=batch,
        max_iter=epochs,
        alpha=0.0,
        tol=0.0,
        n_iter_no_change=epochs + 1,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X.double().numpy(), y.numpy().astype(int))


def torch_adam_loop(X, y, state, epochs, batch) -> None:
    """A plain mini-batch loop: shuffle, split, the five steps per batch."""
    model = ArticleNetwork(X.shape[1])
    model.load_state_dict(state)
    criterion = nn.BCELoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    g = torch.Generator().manual_seed(0)
    for _ in range(epochs):
        for idx in torch.randperm(len(X), generator=g).split(batch):
            optimizer.zero_grad()
            out = model(X[idx])
            loss = criterion(out.view(-1), y[idx])
            loss.backward()
            optimizer.step()


def sweep_configs(config: Config, k: int = 16) -> list[Config]:
    """``k`` seeds of one experiment: each its own data and initial weights, one architecture."""
    return [config.replace(seed=config.seed + i) for i in range(k)]


def sweep_vs_seed_loops(configs: list[Config]) -> tuple[list[float], list[float]]:
    """Final losses of the engine's batched sweep and of one seed loop per config (its data and weights)."""
    batched = [r.history["train_loss"][-1] for r in sweep.train_batched(configs)]
    solo = []
    for c in configs:
        t = Trainer(c)
        state = {name: v.cpu() for name, v in t._initial_state.items()}
        solo.append(seed_loop(t.X_train.cpu(), t.y_train.cpu(), state, c.epochs, lr=c.lr))
    return batched, solo


def _median_time(fn, repeats) -> tuple[float, object]:
    fn()  # warm-up
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


@dataclass
class Row:
    name: str
    seconds: float
    ratio: float  # speed relative to the seed loop (higher is faster)
    note: str = ""


def _full_batch(n, epochs, repeats, first=False):
    """Seed loop, engine and scikit-learn on the article's work at one size, from the same weights."""
    trainer, X, y, state = _work(n, epochs)
    seed_s, seed_loss = _median_time(lambda: seed_loop(X, y, state, epochs), repeats)
    engine_s, _ = _median_time(lambda: (trainer.reset(), trainer.run()), repeats)
    engine_loss = trainer.records.last()["train_loss"]
    sk_s, sk_loss = _median_time(lambda: sklearn_full_batch(X, y, state, epochs), repeats)
    equal = {
        f"engine_{n}": abs(engine_loss - seed_loss) <= TOLERANCE,
        f"sklearn_{n}": abs(sk_loss - seed_loss) <= TOLERANCE,
    }
    label = f"{n} samples, {epochs} epochs"
    rows = [
        Row(f"seed loop ({label})", seed_s, 1.0, f"final loss {seed_loss:.6f}"),
        Row(f"engine, full history ({label})", engine_s, seed_s / engine_s, f"final loss {engine_loss:.6f}"),
        Row(f"scikit-learn MLPClassifier ({label})", sk_s, seed_s / sk_s, f"final loss {sk_loss:.6f}"),
    ]
    ratios = {f"engine_vs_sklearn_{n}": sk_s / engine_s}
    if first:
        # What users run: 30% held out, its loss and accuracy measured every epoch; the seed loop
        # trains on all the samples and measures nothing.
        split = Trainer(trainer.config.replace(test_fraction=0.3))
        split_s, _ = _median_time(lambda: (split.reset(), split.run()), repeats)
        rows.insert(2, Row(f"engine, 30% test split, test loss every epoch ({label})", split_s, seed_s / split_s))
        ratios.update(
            engine_vs_seed=seed_s / engine_s, engine_split_vs_seed=seed_s / split_s, sklearn_vs_seed=seed_s / sk_s
        )
    if torch.cuda.is_available():
        gpu = Trainer(trainer.config.replace(device="cuda"))
        gpu_s, _ = _median_time(lambda: (gpu.reset(), gpu.run()), repeats)
        rows.append(Row(f"engine on CUDA ({label})", gpu_s, seed_s / gpu_s, gpu.graph_note))
        equal[f"cuda_{n}"] = abs(gpu.records.last()["train_loss"] - seed_loss) <= CUDA_TOLERANCE
        engine.CUDA_GRAPHS = False
        try:
            eager_s, _ = _median_time(lambda: (gpu.reset(), gpu.run()), repeats)
        finally:
            engine.CUDA_GRAPHS = True
        rows.append(Row(f"engine on CUDA, no graphs ({label})", eager_s, seed_s / eager_s))
        ratios[f"cuda_engine_vs_seed_{n}"] = seed_s / gpu_s
        ratios[f"cuda_graphs_vs_eager_{n}"] = eager_s / gpu_s
    return rows, equal, ratios, (X, y, seed_s, epochs)


def _work(n_samples, epochs, device="cpu"):
    config = ARTICLE.replace(n_samples=n_samples, epochs=epochs, device=device)
    trainer = Trainer(config)
    X, y = trainer.X_train.cpu(), trainer.y_train.cpu()
    state = {k: v.cpu() for k, v in trainer._initial_state.items()}
    return trainer, X, y, state


def run(quick: bool = False, repeats: int | None = None) -> dict:
    torch.set_num_threads(1)
    repeats = repeats or (1 if quick else 3)
    sizes = [(1000, 1000), (10_000, 200), (100_000, 20)] if not quick else [(200, 100)]
    rows: list[Row] = []
    equal: dict[str, bool] = {}
    result: dict = {"device": "cuda" if torch.cuda.is_available() else "cpu"}
    for n, epochs in sizes:
        size_rows, size_equal, ratios, work = _full_batch(n, epochs, repeats, first=n == sizes[0][0])
        rows += size_rows
        equal.update(size_equal)
        result.update(ratios)
        if n == sizes[0][0]:
            base = work

    X, _, seed_s, epochs = base
    configs = sweep_configs(ARTICLE.replace(n_samples=len(X), epochs=epochs))
    k = len(configs)
    sweep_s, _ = _median_time(lambda: sweep.train_batched(configs), repeats)
    batched, solo = sweep_vs_seed_loops(configs)
    equal["sweep16"] = all(abs(a - b) <= TOLERANCE for a, b in zip(batched, solo))
    result["sweep16_per_model_vs_seed"] = seed_s / (sweep_s / k)
    ratio = result["sweep16_per_model_vs_seed"]
    rows.append(Row(f"sweep: {k} seeds in one batched pass (per model)", sweep_s / k, ratio))
    if torch.cuda.is_available():
        on_gpu = [c.replace(device="cuda") for c in configs]
        gpu_sweep_s, _ = _median_time(lambda: sweep.train_batched(on_gpu), repeats)
        result["cuda_sweep16_per_model_vs_seed"] = seed_s / (gpu_sweep_s / k)
        rows.append(Row(f"sweep on CUDA: {k} seeds (per model)", gpu_sweep_s / k, seed_s / (gpu_sweep_s / k)))

    # The room: a workshop's sessions of the default experiment, one pass for all (nnplay.room).
    room_k, room_epochs = (50, 200) if not quick else (8, 10)
    lone = Trainer(Config(epochs=room_epochs))
    lone_s, _ = _median_time(lambda: (lone.reset(), lone.run()), repeats)
    room = [Trainer(Config(epochs=room_epochs, seed=s)) for s in range(room_k)]
    room_s, _ = _median_time(lambda: ([t.reset() for t in room], engine.train(room, room_epochs)), repeats)
    result[f"room{room_k}_per_session_vs_lone"] = lone_s / (room_s / room_k)
    note = f"ratio: a lone Trainer's time over this; {room_epochs} epochs"
    rows.append(
        Row(
            f"room: {room_k} default sessions in one pass (per session)",
            room_s / room_k,
            lone_s / (room_s / room_k),
            note,
        )
    )

    redraw = _redraw(Trainer(Config(epochs=50)).run(), repeats)
    grid = Config().grid
    whats = {
        "redraw": f"{grid}x{grid} boundary chart",
        "network_redraw": "network diagram with its neuron maps",
        "frame": "Playground frame (all its charts)",
    }
    for (key, what), (ms, kb) in zip(whats.items(), redraw.values()):
        result[f"{key}_ms"], result[f"{key}_kb"] = ms, kb
        rows.append(Row(f"redraw: {what}", ms / 1000, float("nan"), f"{kb:.1f} KB"))

    n_mb, epochs_mb, batch = (10_000, 100, 200) if not quick else (1000, 3, 200)
    mb_trainer, Xm, ym, state_m = _work(n_mb, epochs_mb)
    mb_trainer = Trainer(mb_trainer.config.replace(optimizer="adam", lr=0.01, batch_size=batch))
    engine_mb, _ = _median_time(lambda: (mb_trainer.reset(), mb_trainer.run()), repeats)
    loop_mb, _ = _median_time(lambda: torch_adam_loop(Xm, ym, state_m, epochs_mb, batch), repeats)
    sk_mb, _ = _median_time(lambda: sklearn_adam(Xm, ym, epochs_mb, batch), repeats)
    result["minibatch_engine_vs_sklearn"] = sk_mb / engine_mb
    mb = f"Adam, batch {batch}, {n_mb} samples, {epochs_mb} epochs"
    rows += [
        Row(f"mini-batch: plain torch loop ({mb})", loop_mb, 1.0),
        Row(f"mini-batch: engine ({mb})", engine_mb, loop_mb / engine_mb),
        Row(f"mini-batch: scikit-learn adam ({mb})", sk_mb, loop_mb / sk_mb),
    ]
    if torch.cuda.is_available():
        gpu_mb = Trainer(mb_trainer.config.replace(device="cuda"))
        gpu_mb_s, _ = _median_time(lambda: (gpu_mb.reset(), gpu_mb.run()), repeats)
        rows.append(Row(f"mini-batch: engine on CUDA ({mb})", gpu_mb_s, loop_mb / gpu_mb_s))
    if not torch.cuda.is_available():
        result["cuda_graphs"] = "not measured: no CUDA GPU here"
    result["equal_loss"] = all(equal.values())
    result["equal_loss_checks"] = equal
    result["rows"] = [r.__dict__ for r in rows]
    return result


def _redraw(trainer: Trainer, repeats: int) -> dict[str, tuple[float, float]]:
    """Python time and bytes of a redraw as the Playground sends it (each chart's Figure: the spec of
    its look, cached, and its data as Arrow): the boundary alone (the grid forward pass included),
    the network diagram alone (the neuron maps' forward pass included), and a whole frame (the
    metrics, the boundary, the loss and accuracy curves, the network, the drift)."""
    d = trainer.data
    points = pd.DataFrame(
        {
            "x": d.raw_train[:, 0],
            "y": d.raw_train[:, 1],
            "label": np.asarray(d.class_names)[d.y_train],
            "split": "train",
        }
    )

    def size(figure: charts.Figure) -> int:
        spec = figure.wire()
        datasets = spec.pop("datasets")
        return len(json.dumps(spec)) + sum(len(b) for b in datasets.values())

    def boundary() -> int:
        trainer._grid_cache.clear()
        grid = trainer.boundary()  # at the Config's resolution, as the Playground draws it
        return size(charts.boundary_chart(grid, points, task=d.task, class_names=d.class_names))

    def network() -> int:
        return size(charts.trainer_network_chart(trainer))

    def frame() -> int:
        trainer.evaluate()
        curves = charts.loss_chart(trainer.history)
        drift = charts.drift_chart(trainer.snapshots.drift(), d.y_train, d.class_names)
        return boundary() + size(curves) + network() + size(drift)

    out = {}
    for name, build in (("boundary", boundary), ("network", network), ("frame", frame)):
        seconds, nbytes = _median_time(build, max(3, repeats))
        out[name] = (seconds * 1000, nbytes / 1024)
    return out


def report(result: dict) -> str:
    lines = [f"{'row':70} {'seconds':>9} {'× seed':>8}  note"]
    for r in result["rows"]:
        ratio = "" if r["ratio"] != r["ratio"] else f"{r['ratio']:.2f}"
        lines.append(f"{r['name']:70} {r['seconds']:9.4f} {ratio:>8}  {r['note']}")
    lines.append("")
    for key in (
        "engine_vs_seed",
        "engine_split_vs_seed",
        "sklearn_vs_seed",
        *(key for key in result if key.startswith(("engine_vs_sklearn_", "cuda_engine_vs_seed_", "cuda_graphs_vs"))),
        "sweep16_per_model_vs_seed",
        "minibatch_engine_vs_sklearn",
        "redraw_ms",
        "redraw_kb",
        "network_redraw_ms",
        "network_redraw_kb",
        "frame_ms",
        "frame_kb",
        "cuda_sweep16_per_model_vs_seed",
    ):
        if key in result:
            lines.append(f"{key:30} {result[key]:.2f}")
    if "cuda_graphs" in result:
        lines.append(f"{'cuda_graphs':30} {result['cuda_graphs']}")
    lines.append(f"{'equal_loss':30} {result['equal_loss']}  {result['equal_loss_checks']}")
    lines.append(f"{'device':30} {result['device']}")
    return "\n".join(lines)
