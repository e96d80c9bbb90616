"""The Trainer: data, model, optimizer and device for one Config, trained in chunks for live views."""

from __future__ import annotations

import contextlib
import copy
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from . import backprop, divergence, engine, losses, optim
from .config import Config
from .data import BINARY, MULTICLASS, REGRESSION, Dataset, Table, build
from .history import History, Snapshot, Snapshots
from .model import Network

READY, TRAINING, DONE, DIVERGED, STOPPED = "ready", "training", "done", "diverged", "early_stopped"

# Config fields a running Trainer takes on the fly; any other change needs a new Trainer.
LIVE_FIELDS = frozenset({"lr", "momentum", "epochs", "l1", "l2", "patience", "threads", "snapshot_every", "grid"})


def resolve_device(name: str) -> torch.device:
    """'auto' -> CUDA when present, else CPU; asking for CUDA without one is an error that says so."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device: CUDA was asked for but no CUDA GPU is available here; use auto or cpu")
    return torch.device(name)


@dataclass
class Grid:
    """A model's output over a grid of the input plane (or a line, for 1-D data)."""

    xs: np.ndarray
    ys: np.ndarray | None
    values: np.ndarray  # [res, res] (P(class 1) or a prediction), [k, res, res] for multi-class; [res] on a line
    epoch: int


class Trainer:
    """Owns the data, the model, the optimizer and the device of one Config.

    ``step(n)`` trains up to ``n`` epochs and returns, so a UI can train in ticks and redraw in
    between; ``reset()`` goes back to the very same initial weights. All randomness (initial
    weights, dropout, shuffling) comes from the Trainer's own generators, seeded by the Config,
    so sessions training side by side in threads of one process never disturb each other.
    """

    def __init__(self, config: Config, table: Table | None = None, *, data: Dataset | None = None):
        self.config = config
        self.data = data if data is not None else build(config, table)
        self.task = self.data.task
        self.loss_name, self.loss = losses.resolve(config.loss, self.task, config.loss_expr)
        self.device = resolve_device(config.device)
        n_out, head = self.loss.outputs(self.task, self.data.n_classes)
        self._init_generator = torch.Generator().manual_seed(config.seed)
        self._shuffle_generator = torch.Generator()
        self._dropout_generator = torch.Generator(device=self.device)
        self.model = Network(
            self.data.n_features,
            config.hidden,
            config.activation,
            n_out,
            head,
            dropout=config.dropout,
            mix=config.mix,
            generator=self._dropout_generator,
            custom_activation=config.activation_expr,
        )
        self.model.initialise(config.init, self._init_generator)
        self.model.to(self.device)
        self._params = [p for layer in self.model.linears for p in (layer.weight, layer.bias)]
        self._param_names = list(self.model.state_dict())  # the same order: weight, bias, layer by layer
        # L-BFGS evaluates its closure several times per step: it keeps autograd's own path.
        fast = not optim.OPTIMIZERS[config.optimizer].needs_closure
        self._backprop = backprop.Backprop(self.model) if fast else None
        self._plain_sgd = config.optimizer == "sgd"
        full_batch = config.batch_size == 0 or config.batch_size >= len(self.data.X_train)
        self.batch_size = 0 if full_batch else config.batch_size  # 0: the whole training set in one step
        self._initial_state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        self.X_train = torch.as_tensor(self.data.X_train, device=self.device)
        self.X_test = torch.as_tensor(self.data.X_test, device=self.device)
        self.y_train = self.loss.prepare(self.data.y_train, self.task).to(self.device)
        self.y_test = self.loss.prepare(self.data.y_test, self.task).to(self.device)
        self._sst = (
            float(np.sum((self.data.y_train - self.data.y_train.mean()) ** 2)),
            float(np.sum((self.data.y_test - self.data.y_test.mean()) ** 2)) if len(self.data.y_test) else 0.0,
        )
        metric = "r2" if self.task == REGRESSION else "accuracy"
        n_layers = len(self.model.linears)
        norm_keys = [f"grad_norm_{i}" for i in range(1, n_layers)] + ["grad_norm_out"]
        self._keys = (f"train_{metric}", f"test_{metric}", norm_keys)
        self._nonnegative = [name in ("relu", "sigmoid", "softplus") for name in self.model.activation_names]
        self._joint = None
        if fast and full_batch and self._backprop.hand_written and not config.dropout and len(self.X_test):
            self._joint = torch.cat([self.X_train, self.X_test])
        self._grid_cache: dict = {}
        self._pace: float | None = None  # CPU seconds per epoch of the engine's last group it was in
        self.graph_note = "eager: not trained yet"  # how the engine ran its last chunks (CUDA graphs or not)
        self.generation = -1
        self.reset()

    # --- life cycle ------------------------------------------------------------------------

    def reset(self) -> None:
        """Back to the initial weights, a fresh optimizer and an empty history."""
        self.model.load_state_dict(self._initial_state)
        self.generation += 1  # which run of this Trainer: charts drawn from an earlier one are stale
        self._shuffle_generator.manual_seed(self.config.seed + 1)
        self._dropout_generator.manual_seed(self.config.seed + 2)
        self.optimizer = optim.make_optimizer(self.config.optimizer, self.model.parameters(), self.config)
        self.scheduler = optim.make_schedule(self.optimizer, self.config, budget=lambda: self.config.epochs)
        self.epoch = 0
        self.status, self.message = READY, ""
        self.seconds = 0.0
        self.records = History()
        self._best = (math.inf, 0)
        # The yardstick of a blow-up: the loss before any update, over the whole training set
        # (a mini-batch epoch's average already holds the first updates' damage).
        self.start_loss = self._evaluate(self.X_train, self.y_train)[0]
        self._watch = divergence.Watch([self.start_loss])
        every = self.config.snapshot_every or max(1, self.config.epochs // 100)
        self.snapshots = Snapshots(every=every)
        self._grid_cache.clear()
        self._snapshot()

    def adopt_current_weights(self) -> None:
        """Make the model's current weights the starting point (a loaded model): reset returns here."""
        self._initial_state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        self.reset()

    def apply(self, config: Config) -> bool:
        """Take a new Config while training goes on, if only live fields changed (the learning
        rate, as TensorFlow Playground allows, the budget, regularisation...). Returns False when
        the change needs a new Trainer (data or architecture changed)."""
        changed = {k for k, v in config.to_dict().items() if v != self.config.to_dict()[k]}
        if not changed <= LIVE_FIELDS:
            return False
        self.config = config  # the schedule reads the budget from here
        if changed & {"lr", "epochs"}:
            optim.set_lr(self.optimizer, self.scheduler, config.lr)
        if "momentum" in changed:
            optim.set_momentum(self.optimizer, config.momentum)
        if "snapshot_every" in changed and config.snapshot_every:
            self.snapshots.every = config.snapshot_every
        resumable = self.status == DONE or (self.status == STOPPED and "patience" in changed)
        if resumable and self.remaining > 0:
            self.status, self.message = TRAINING, ""
            self._best = (self._best[0], self.epoch)  # a fresh patience window
        return True

    @property
    def history(self) -> pd.DataFrame:
        """One row per epoch, plain floats: losses, accuracy (R²), lr, gradient norms, dead units."""
        return self.records.frame()

    @property
    def remaining(self) -> int:
        return max(0, self.config.epochs - self.epoch)

    @property
    def finished(self) -> bool:
        return self.status in (DONE, DIVERGED, STOPPED)

    @property
    def diverged(self) -> bool:
        return self.status == DIVERGED

    # --- training ----------------------------------------------------------------------------

    def step(self, n_epochs: int = 1, max_seconds: float | None = None) -> int:
        """Train up to ``n_epochs`` more epochs (never past the budget, and not past ``max_seconds``
        of this thread's CPU time once an epoch has run); returns how many ran. The epochs happen in
        nnplay.engine, where this network is a group of one."""
        if self.finished or n_epochs <= 0:
            return 0
        return engine.train([self], n_epochs, max_seconds=max_seconds)[0]

    def run(self) -> Trainer:
        """Train to the end of the budget (or until it stops early or diverges)."""
        self.step(self.remaining)
        return self

    # What the engine calls around a chunk of epochs and after each one.

    def _begin(self) -> None:
        if torch.get_num_threads() != self.config.threads:
            torch.set_num_threads(self.config.threads)
        self.status = TRAINING

    def _after_epoch(self, record: dict[str, float]) -> bool:
        """Keep an epoch's record and judge it; False when training stops here. A snapshot may be
        due next (``snapshots.due``): the engine takes those of a group in one pass."""
        self.records.append(record)
        if self._watch.blown([record["train_loss"]])[0]:
            self._diverge(divergence.blown_up(self.epoch, self.config.lr, self.start_loss, record["train_loss"]))
            return False
        return not self._early_stop(record)

    def _end(self, seconds: float) -> None:
        self.seconds += seconds
        if not self.diverged and not self._weights_finite():  # the chunk's last update blew up
            self._diverge()
        if self.status == TRAINING and self.remaining == 0:
            self.status = DONE
        last = self.records.last()
        if self.status in (DONE, STOPPED) and last and self._watch.worse([last["train_loss"]])[0]:
            self._diverge(divergence.ended_worse(self.epoch, self.config.lr, self.start_loss, last["train_loss"]))
        if self.finished and not self.diverged:
            self._snapshot()

    def _autograd_epochs(self, n: int, deadline: float | None) -> int:
        """Epochs on autograd's own path (L-BFGS evaluates its closure several times per step)."""
        done = 0
        for _ in range(n):
            record = self._epoch()
            done += 1
            if record is None or not self._after_epoch(record):
                break
            if self.snapshots.due(self.epoch):
                self._snapshot()
            if deadline is not None and time.thread_time() > deadline:
                break
        return done

    def _batches(self):
        if not self.batch_size:
            return [(self.X_train, self.y_train)]
        perm = torch.randperm(len(self.X_train), generator=self._shuffle_generator).to(self.device)
        return [(self.X_train[idx], self.y_train[idx]) for idx in perm.split(self.batch_size)]

    def _penalty(self):
        c = self.config
        if c.l1 == 0 and c.l2 == 0:
            return None
        weights = [layer.weight for layer in self.model.linears]
        total = 0.0
        if c.l1:
            total = total + c.l1 * sum(w.abs().sum() for w in weights)
        if c.l2:
            total = total + c.l2 * sum(w.pow(2).sum() for w in weights)
        return total

    def _forward_loss(self, xb, yb):
        out, hidden = self.model.forward_hidden(xb)
        loss = self.loss.fn(out, yb, self.task)
        penalty = self._penalty()
        objective = loss if penalty is None else loss + penalty
        return out, hidden, loss, objective

    def _closure(self, xb, yb, captured: dict):
        """zero_grad, forward, loss, backward: the step's closure (L-BFGS calls it more than once;
        the first call's outputs are the ones recorded). A non-finite loss is not backpropagated."""

        def closure():
            self.optimizer.zero_grad(set_to_none=True)
            out, hidden, loss, objective = self._forward_loss(xb, yb)
            if not captured:
                captured.update(out=out, hidden=hidden, loss=loss, objective=objective)
            if torch.isfinite(objective):
                objective.backward()
            return objective

        return closure

    def _epoch(self) -> dict[str, float] | None:
        """One epoch on autograd's path, in the article's five steps per batch: zero_grad, forward,
        loss, backward, step. Metrics come from the training forward pass itself (no second pass
        over the training data). Returns the epoch's record, or None when the loss stopped being finite.
        """
        test = None
        if len(self.X_test):
            with torch.no_grad(), self._eval_mode(self.model) as model:
                test = self._test_terms(model(self.X_test))
        needs_closure = optim.OPTIMIZERS[self.config.optimizer].needs_closure
        terms, sizes, mass = [], [], None
        for xb, yb in self._batches():
            captured = {}
            closure = self._closure(xb, yb, captured)
            if needs_closure:
                self.optimizer.step(closure)
            else:
                closure()
            if not torch.isfinite(captured["objective"]):
                return self._diverge()
            # Norms before the step: foreach optimizers may update .grad in place (SGD with Nesterov does).
            norms = torch._foreach_norm([p.grad if p.grad is not None else torch.zeros_like(p) for p in self._params])
            if not needs_closure:
                self.optimizer.step()
            with torch.no_grad():
                out, hidden = captured["out"], captured["hidden"]
                terms += (captured["loss"].detach(), self._score(out.detach(), yb))
                sizes.append(len(yb))
                layer_mass = [h.sum(0) if plus else h.abs().sum(0) for h, plus in zip(hidden, self._nonnegative)]
                mass = layer_mass if mass is None else [a + b for a, b in zip(mass, layer_mass)]
        scalars = [*terms, *norms, *([] if test is None else test)]
        values = torch.cat([torch.stack(scalars).detach(), *(mass or [])]).tolist()
        n_terms, at = len(terms), len(terms) + len(norms)
        test_values = None if test is None else values[at : at + 2]
        units = sum(self.config.hidden)
        hidden_mass = values[len(values) - units :] if units else []
        losses, scores = values[0:n_terms:2], values[1:n_terms:2]
        return self._record(losses, scores, sizes, values[n_terms:at], test_values, hidden_mass)

    def _test_terms(self, out) -> torch.Tensor:
        return torch.stack([self.loss.fn(out, self.y_test, self.task), self._score(out, self.y_test)])

    def _record(self, losses, scores, sizes, norms, test, hidden) -> dict[str, float]:
        """An epoch's record from its figures, plain floats measured before each batch's update:
        each batch's mean loss and score, each weight and bias gradient's norm (the last batch's),
        the test set's loss and score (or None), and each hidden unit's summed output size."""
        loss_sum = sum(v * n for v, n in zip(losses, sizes))
        norms = [math.hypot(w, b) for w, b in zip(norms[0::2], norms[1::2])]
        if test is not None:
            test = (test[0], self._metric(test[1], len(self.X_test), self._sst[1]))
        units = sum(self.config.hidden)
        dead = hidden.count(0.0)
        lr = self.optimizer.param_groups[0]["lr"]
        if self.scheduler is not None:
            self.scheduler.step()
        self.epoch += 1
        n_seen = sum(sizes)
        record = {"epoch": float(self.epoch), "train_loss": loss_sum / n_seen, "lr": float(lr)}
        record[self._keys[0]] = self._metric(sum(scores), n_seen, self._sst[0])
        if test is not None:
            record["test_loss"], record[self._keys[1]] = test
        record.update(zip(self._keys[2], norms))
        record["dead_fraction"] = dead / units if units else 0.0
        return record

    def _metric(self, score: float, n: int, sst: float) -> float:
        if self.task == REGRESSION:
            return 1.0 - score / sst if sst > 0 else float("nan")
        return score / n

    def _score(self, out, y):
        return engine.score(out, y, self.task)

    @contextlib.contextmanager
    def _eval_mode(self, model: Network):
        """Evaluation mode, switched only when it matters: toggling every module of the model
        each epoch cost about a quarter of a small epoch."""
        if not self.config.dropout:
            yield model
            return
        was_training = model.training
        model.eval()
        try:
            yield model
        finally:
            model.train(was_training)

    @torch.no_grad()
    def _evaluate(self, X, y) -> tuple[float, float]:
        with self._eval_mode(self.model) as model:
            out = model(X)
        loss, score = torch.stack([self.loss.fn(out, y, self.task), self._score(out, y)]).tolist()
        sst = self._sst[1] if X is self.X_test else self._sst[0]
        return loss, self._metric(score, len(X), sst)

    def _weights_finite(self) -> bool:
        return bool(torch.isfinite(torch.stack(torch._foreach_norm(list(self.model.parameters())))).all())

    def _diverge(self, message: str | None = None) -> None:
        self.status = DIVERGED
        self.message = message or divergence.not_finite(self.epoch, self.config.lr)
        return None

    def _early_stop(self, record) -> bool:
        if not self.config.patience:
            return False
        watched = record.get("test_loss", record["train_loss"])
        best, best_epoch = self._best
        if best == math.inf or watched < best - 1e-4 * abs(best):  # 0.01% counts as progress, less does not
            self._best = (watched, self.epoch)
        elif self.epoch - best_epoch >= self.config.patience:
            self.status = STOPPED
            self.message = (
                f"Stopped early at epoch {self.epoch}: no improvement of the "
                f"{'test' if 'test_loss' in record else 'train'} loss for {self.config.patience} epochs "
                f"(best {best:.4g} at epoch {best_epoch})."
            )
            return True
        return False

    # --- what the charts read ----------------------------------------------------------------

    @torch.no_grad()
    def predict(self, X: np.ndarray | torch.Tensor, epoch: int | None = None) -> np.ndarray:
        """What a person reads for network inputs ``X``: P(class 1) for binary, class probabilities
        [N, k] for multi-class, values on the original target scale for regression."""
        with self._eval_mode(self._model_at(epoch)) as model:
            out = model.predict(torch.as_tensor(X, dtype=torch.float32, device=self.device))
        return self._readable(out)

    def _readable(self, out: torch.Tensor) -> np.ndarray:
        out = out.float().cpu().numpy()
        if self.task == REGRESSION:
            return self.data.untarget(out[:, 0])
        if self.task == BINARY:
            return out[:, -1]  # sigmoid's single output, or softmax's P(class 1)
        return out

    def _model_at(self, epoch: int | None) -> Network:
        if epoch is None or epoch == self.epoch:
            return self.model
        if not hasattr(self, "_scratch"):
            self._scratch = copy.deepcopy(self.model)
        self._scratch.load_state_dict(self.snapshots.at(epoch).params)
        return self._scratch

    def _snapshot(self, outputs: np.ndarray | None = None, params: Sequence[torch.Tensor] | None = None) -> None:
        """Keep the weights as they are now and the training points' outputs (``outputs``, as
        ``predict`` gives them, and ``params``, a CPU copy of the parameters, when the engine
        worked them out with a group's)."""
        if self.diverged:
            return
        outputs = self.predict(self.X_train) if outputs is None else outputs
        if not np.isfinite(outputs).all():
            self._diverge()
            return
        if self.task == MULTICLASS:
            outputs = outputs[np.arange(len(outputs)), self.data.y_train]
        if params is None:
            params = [p.detach().to("cpu", copy=True) for p in self._params]
        self.snapshots.add(Snapshot(self.epoch, dict(zip(self._param_names, params)), outputs.astype(np.float32)))

    def boundary(self, epoch: int | None = None, resolution: int | None = None, axes=(0, 1)) -> Grid:
        """The model's output over the input plane (raw inputs ``axes``, others at their mean),
        now or at a snapshot epoch. Cached per (epoch, resolution, axes) for the timeline."""
        resolution = resolution or self.config.grid
        at = self.epoch if epoch is None else self.snapshots.at(epoch).epoch
        key = (at, resolution, tuple(axes))
        if key not in self._grid_cache:
            xs, ys, points = self.data.plane(resolution, tuple(axes))
            values = self.predict(self.data.transform(points), epoch=at)
            if ys is not None:
                values = (
                    values.T.reshape(-1, resolution, resolution)
                    if values.ndim == 2
                    else values.reshape(resolution, resolution)
                )
            if len(self._grid_cache) > 16:
                self._grid_cache.clear()
            self._grid_cache[key] = Grid(xs, ys, values, at)
        return self._grid_cache[key]

    @torch.no_grad()
    def neuron_grids(self, resolution: int | None = None, epoch: int | None = None, axes=(0, 1)) -> list[np.ndarray]:
        """Every hidden neuron's activation over the input plane: one array per layer,
        ``[units, res, res]`` (``[units, res]`` for 1-D data)."""
        resolution = resolution or min(self.config.grid, 50)
        _, ys, points = self.data.plane(resolution, tuple(axes))
        with self._eval_mode(self._model_at(epoch)) as model:
            _, hidden = model.forward_hidden(torch.as_tensor(self.data.transform(points), device=self.device))
        shape = (resolution,) if ys is None else (resolution, resolution)
        return [h.T.float().cpu().numpy().reshape(-1, *shape) for h in hidden]

    def evaluate(self) -> dict[str, float]:
        """Loss and accuracy (R² for regression) of the current model on train and test sets."""
        metric = "r2" if self.task == REGRESSION else "accuracy"
        result = {}
        for split, X, y in (("train", self.X_train, self.y_train), ("test", self.X_test, self.y_test)):
            loss, score = self._evaluate(X, y) if len(X) else (float("nan"), float("nan"))
            result[f"{split}_loss"], result[f"{split}_{metric}"] = loss, score
        return result

    def summary(self) -> dict:
        """What the command line prints: config, device, speed, status and final metrics."""
        final = {k: (v if math.isfinite(v) else None) for k, v in self.evaluate().items()}
        return {
            "config": self.config.to_dict(),
            "device": str(self.device),
            "task": self.task,
            "loss": self.loss_name,
            "parameters": self.model.n_parameters(),
            "epochs": self.epoch,
            "seconds": round(self.seconds, 4),
            "epochs_per_second": round(self.epoch / self.seconds, 1) if self.seconds > 0 else None,
            "status": self.status,
            "diverged": self.diverged,
            "message": self.message,
            "final": final,
        }
